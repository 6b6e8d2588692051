"""A new user's mistakes get one line naming the setting and a non-zero exit, never a traceback
(issue 7 finding 10): `csms serve` and the commands that open the database, run as processes.

The cases of one test run at once (each process spends most of its time importing csms).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from csms.cli import main
from csms.config import SettingsError, driver_database_url
from csms.container import StartupError
from tests.integration.harness import free_port, running_csms, settings_for

EXIT_CONFIGURATION = 2
EXIT_RUNTIME = 1


async def _csms(*argv: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """Run ``python -m csms argv``; return its exit status and its stderr lines."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "csms",
        *argv,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, err.decode(errors="replace").splitlines()


def _one_answer(status: int, lines: list[str], *, expected_status: int, names: str) -> str:
    """The error line: exactly one, naming ``names``, with at most one log line before it."""
    text = "\n".join(lines)
    assert "Traceback" not in text, text
    assert status == expected_status, text
    errors = [line for line in lines if line.startswith("csms: error: ")]
    assert len(errors) == 1, text
    assert len(lines) <= 2, text
    assert names in errors[0], text
    return errors[0]


@contextmanager
def _port_in_use() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


async def test_csms_serve_mistakes_are_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    """As processes: the OCPP port in use, a postgres:// URL of a server that is down, a SQLite
    file whose directory cannot be created, and a command that opens the database."""
    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    (tmp_path / "a-file").write_text("not a directory")
    closed = _closed_port()
    serve = ("serve", "--host", "127.0.0.1", "--port", "0", "--no-api")
    with _port_in_use() as busy:
        ocpp_busy, postgres_down, no_sqlite_dir, station_add = await asyncio.gather(
            _csms(*serve, "--port", str(busy), "--database-url", sqlite, "--log-level", "WARNING"),
            _csms(*serve, env={"CSMS_DATABASE_URL": f"postgres://csms:pw-1@127.0.0.1:{closed}/c"}),
            _csms(*serve, "--database-url",
                  f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'csms.db'}"),
            _csms("station", "add", "CS-1", "--database-url", f"postgresql://127.0.0.1:{closed}/c"),
        )  # fmt: skip
    line = _one_answer(*ocpp_busy, expected_status=EXIT_RUNTIME, names="CSMS_PORT (--port)")
    assert f"127.0.0.1:{busy} is already in use" in line
    # postgres:// is taken as postgresql+asyncpg:// (said at INFO), then the server is tried: the
    # line names where it was looked for, never the password.
    line = _one_answer(*postgres_down, expected_status=EXIT_RUNTIME, names="CSMS_DATABASE_URL")
    assert "postgres:// taken as postgresql+asyncpg://" in postgres_down[1][0]
    assert f"PostgreSQL at 127.0.0.1:{closed}/c: connection refused" in line
    assert "pw-1" not in "\n".join(postgres_down[1])
    line = _one_answer(*no_sqlite_dir, expected_status=EXIT_RUNTIME, names="CSMS_DATABASE_URL")
    assert f"{tmp_path / 'a-file'} is not a directory" in line
    line = _one_answer(*station_add, expected_status=EXIT_RUNTIME, names="CSMS_DATABASE_URL")
    assert f"127.0.0.1:{closed}/c: connection refused" in line
    assert "postgresql:// taken as postgresql+asyncpg://" in station_add[1][0]


def test_database_commands_answer_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    closed = _closed_port()
    assert main(
        ["db", "upgrade", "--database-url", f"postgresql+asyncpg://127.0.0.1:{closed}/c"]
    ) == (EXIT_RUNTIME)
    with pytest.raises(SystemExit) as exited:  # a bad setting exits like a bad flag
        main(["token", "list", "--database-url", "oracle://x/y"])
    assert exited.value.code == EXIT_CONFIGURATION
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("csms: error: CSMS_DATABASE_URL (--database-url): cannot open")
    assert "no driver for oracle://" in lines[1]


async def test_the_api_port_in_use_and_unreadable_tls_files_are_named(tmp_path: Path) -> None:
    with _port_in_use() as busy:
        settings = settings_for(tmp_path, host="127.0.0.1")
        settings = dataclasses.replace(
            settings, api=dataclasses.replace(settings.api, host="127.0.0.1", port=busy)
        )
        with pytest.raises(StartupError, match=r"^CSMS_API_PORT \(--api-port\): 127\.0\.0\.1:"):
            async with running_csms(settings):
                pass
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    for cert, expected in (
        (tmp_path / "missing.pem", r"^CSMS_TLS_CERT \(--tls-cert\): .*missing\.pem: no such file"),
        (garbage, r"^CSMS_TLS_CERT/CSMS_TLS_KEY .*garbage\.pem is not a PEM certificate chain"),
    ):
        tls = settings_for(tmp_path, security_profile=2, tls_cert=str(cert), tls_key=str(garbage))
        with pytest.raises(StartupError, match=expected):
            async with running_csms(tls):
                pass


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+asyncpg://u:p@h/db"),
        ("postgresql://u@h:5433/db", "postgresql+asyncpg://u@h:5433/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///./var/csms.db", "sqlite+aiosqlite:///./var/csms.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_users_paste_are_taken(url: str, expected: str) -> None:
    assert driver_database_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://x/y", "postgresql+psycopg2://u:pw@h/db", "csms.db", ""])
def test_database_urls_without_a_driver_are_refused_without_the_password(url: str) -> None:
    with pytest.raises(SettingsError, match=r"CSMS_DATABASE_URL \(--database-url\)") as refused:
        driver_database_url(url)
    assert "pw" not in str(refused.value)
