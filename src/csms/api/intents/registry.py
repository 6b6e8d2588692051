"""What an intent is, and how one runs against one station.

An :class:`Intent` names its request body (a pydantic model or a typed command dataclass, so each
intent has its own schema in OpenAPI), its result type, the OCPP versions that have it and what it
runs. :func:`execute` checks the station and its version first: a station that is not connected
is refused (OCPP has no command queue, 2.0.1 Part 4 §6.3) and an intent its version does not have
is a :class:`NotSupportedByVersion` (the API's 422 ``not-supported-by-version``) before anything
is sent.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter

from csms.blocks.file_service import FileService
from csms.blocks.localauthlist.commands import LocalListCommands
from csms.blocks.outbound import negotiated_version, send, sent_actions
from csms.domain.charging_ports import IdTokenRepository, ReservationRepository
from csms.domain.command_jobs import DesiredSettings
from csms.domain.configuration import ConfigurationRepository
from csms.domain.devicemodel import DeviceModelRepository
from csms.domain.errors import NotSupportedByVersion, UnknownStation
from csms.domain.localauth import LocalListRepository
from csms.domain.notifications import NotificationLog
from csms.domain.ports import StationGateway, StationRepository
from csms.domain.security import SecurityRepository
from csms.domain.smartcharging import ChargingProfileRepository
from csms.rpc import OcppVersion

__all__ = ["Intent", "IntentServices", "Run", "execute", "typed"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class IntentServices:
    """What intents work with; an intent whose ``needs`` are missing is not offered."""

    gateway: StationGateway
    stations: StationRepository
    clock: Callable[[], datetime] = _utc_now
    configuration: ConfigurationRepository | None = None
    device_model: DeviceModelRepository | None = None
    desired: DesiredSettings | None = None
    reservations: ReservationRepository | None = None
    tokens: IdTokenRepository | None = None
    charging_profiles: ChargingProfileRepository | None = None
    notifications: NotificationLog | None = None
    security: SecurityRepository | None = None
    files: FileService | None = None
    local_lists: LocalListRepository | None = None
    # One per process: it serialises the local-list updates of each station.
    _local_list_commands: LocalListCommands | None = field(default=None, repr=False)

    def has(self, needs: Iterable[str]) -> bool:
        return all(getattr(self, name) is not None for name in needs)

    def need(self, name: str) -> Any:
        value = getattr(self, name)
        if value is None:  # pragma: no cover - the route is not registered then
            raise RuntimeError(f"intent needs {name}")
        return value

    def local_list_commands(self) -> LocalListCommands:
        if self._local_list_commands is None:
            self._local_list_commands = LocalListCommands(
                self.gateway, self.need("local_lists"), clock=self.clock
            )
        return self._local_list_commands


# (services, station id, its negotiated version, the request body, timeout in seconds) → result.
Run = Callable[[IntentServices, str, OcppVersion, Any, float], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Intent:
    """One typed, version-neutral command.

    ``sends`` is every (version, action) it may put on the wire and ``covers`` the typed command
    classes it uses (a test checks that every class and action of the blocks is reachable).
    """

    name: str
    summary: str
    body: Any
    result: Any
    versions: frozenset[OcppVersion]
    sends: frozenset[tuple[OcppVersion, str]]
    run: Run
    covers: tuple[type, ...] = ()
    needs: tuple[str, ...] = ()
    description: str = ""

    def dump(self, result: Any) -> Any:
        """The result as JSON-able data (what the API answers and a job stores)."""
        return _adapter(self.result).dump_python(result, mode="json")

    def dump_body(self, body: Any) -> Any:
        return _adapter(self.body).dump_python(body, mode="json")

    def load_body(self, data: Any) -> Any:
        return _adapter(self.body).validate_python(data)


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(kind: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def typed(
    name: str,
    command: type,
    summary: str,
    *,
    run: Run | None = None,
    needs: tuple[str, ...] = (),
) -> Intent:
    """An intent whose body *is* the typed command (its fields are the request schema) and whose
    result is the command's typed result; ``run`` replaces the plain send (e.g. to store)."""
    sends = sent_actions(command)

    async def plain(
        services: IntentServices, station_id: str, version: OcppVersion, body: Any, timeout: float
    ) -> Any:
        return await send(services.gateway, station_id, body, timeout=timeout)

    return Intent(
        name=name,
        summary=summary,
        body=command,
        result=typing.get_type_hints(getattr(command, "result"))["return"],  # noqa: B009
        versions=frozenset(version for version, _ in sends),
        sends=sends,
        run=run or plain,
        covers=(command,),
        needs=needs,
        description=(command.__doc__ or "").strip(),
    )


def _versions(versions: Iterable[OcppVersion]) -> str:
    return ", ".join(sorted(str(v) for v in versions))


async def execute(
    intent: Intent,
    services: IntentServices,
    station_id: str,
    body: Any,
    *,
    timeout: float,
) -> Any:
    """Run ``intent`` on one station and return its typed result.

    Raises:
        UnknownStation, StationNotConnected, NotSupportedByVersion (before anything is sent), and
        whatever the command raises (CommandNotAllowed, InvalidPayload, CallTimeout, CallFailed,
        CallOutcomeUnknown, StationBusy, StorageError...).
    """
    if await services.stations.get(station_id) is None:
        raise UnknownStation(station_id)
    version = negotiated_version(services.gateway, station_id)
    if version not in intent.versions:
        raise NotSupportedByVersion(
            f"{intent.name} does not exist in OCPP {version} (only in {_versions(intent.versions)})"
        )
    return await intent.run(services, station_id, version, body, timeout)
