"""Run a real csms (storage, OCPP endpoint, HTTP API) on loopback ports for integration tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from csms.config import (
    ApiSettings,
    DatabaseSettings,
    FilesSettings,
    LogSettings,
    ServerSettings,
    Settings,
)
from csms.container import Csms, utc_now
from csms.domain.credentials import hash_password
from csms.domain.model import RegistrationStatus, Station
from tests.templates import copy_sqlite_template

PASSWORD = b"correct-horse-battery-staple"
# The operator's API token of every test instance (CSMS_API_TOKEN); RunningCsms.api() sends it.
API_TOKEN = "harness-api-token-0123456789abcdef"


def basic_auth(identity: str, password: bytes) -> dict[str, str]:
    """The Authorization header a station sends (username = identity)."""
    token = base64.b64encode(identity.encode() + b":" + password).decode()
    return {"Authorization": f"Basic {token}"}


@dataclasses.dataclass
class RunningCsms:
    """A started csms and helpers to reach it."""

    csms: Csms

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.csms.ocpp_port}/ocpp/"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.csms.api_port}"

    async def add_station(
        self,
        station_id: str,
        *,
        password: bytes | None = PASSWORD,
        status: RegistrationStatus = RegistrationStatus.ACCEPTED,
        lenient: bool = False,
    ) -> None:
        assert self.csms.store is not None
        await self.csms.store.stations.add(
            Station(
                id=station_id,
                registration_status=status,
                password_hash=hash_password(password) if password is not None else None,
                lenient=lenient,
                created_at=utc_now(),
            )
        )

    @asynccontextmanager
    async def connect(
        self,
        station_id: str,
        *,
        subprotocols: list[str] | None = None,
        password: bytes | None = PASSWORD,
        **kwargs: Any,
    ) -> AsyncIterator[ClientConnection]:
        headers = basic_auth(station_id, password) if password is not None else {}
        async with connect(
            self.ocpp_url + station_id,
            subprotocols=subprotocols or ["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=headers,
            **kwargs,
        ) as ws:
            yield ws

    def api(self, *, authenticated: bool = True) -> httpx.AsyncClient:
        """An HTTP client on the API, sending the instance's API token unless told not to."""
        token = self.csms.settings.api.token
        headers = {"Authorization": f"Bearer {token}"} if authenticated and token else {}
        return httpx.AsyncClient(base_url=self.api_url, timeout=30, headers=headers)


def settings_for(tmp_path: Path, **server: Any) -> Settings:
    """Settings for a test instance: ephemeral ports, a fresh SQLite file (a copy of one migrated
    to head, see tests/templates.py; kept if the file exists, so a restart keeps its rows)."""
    copy_sqlite_template(tmp_path / "csms.db")
    defaults: dict[str, Any] = {"port": 0, "ping_interval": 5.0, "ping_timeout": 5.0}
    defaults.update(server)
    database = dataclasses.replace(
        DatabaseSettings(), url=f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    )
    return Settings(
        server=dataclasses.replace(ServerSettings(), **defaults),
        database=database,
        api=dataclasses.replace(ApiSettings(), port=0, token=API_TOKEN),
        log=LogSettings(),
        files=dataclasses.replace(FilesSettings(), data_dir=str(tmp_path / "data")),
    )


@asynccontextmanager
async def running_csms(settings: Settings) -> AsyncIterator[RunningCsms]:
    """Start csms with ``settings`` and stop it afterwards."""
    csms = Csms(settings)
    await csms.start()
    try:
        yield RunningCsms(csms)
    finally:
        await csms.close()


async def call(ws: ClientConnection, message_id: str, action: str, payload: dict[str, Any]) -> Any:
    """Send a CALL frame and return the decoded reply frame."""
    await ws.send(orjson.dumps([2, message_id, action, payload]).decode())
    return orjson.loads(await ws.recv())


BOOT_16 = {"chargePointVendor": "csms-tests", "chargePointModel": "wire"}
BOOT_2X = {
    "chargingStation": {"vendorName": "csms-tests", "model": "wire"},
    "reason": "PowerUp",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:]


@contextlib.asynccontextmanager
async def csms_serve(
    url: str, port: int, log: Path, *extra: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """Run a real `csms serve` process (no API, no passwords, unknown stations accepted, and the
    ``extra`` flags) on ``url`` until the block ends; the block may kill it first."""
    argv = [
        "serve", "--host", "127.0.0.1", "--port", str(port), "--no-api",
        "--database-url", url, "--security-profile", "0", "--unknown-stations", "accept", *extra,
    ]  # fmt: skip
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "csms", *argv, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    try:
        for _ in range(300):
            if proc.returncode is not None:
                raise AssertionError(f"csms serve exited: {_log_tail(log)}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"csms serve did not listen: {_log_tail(log)}")
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), timeout=30)
