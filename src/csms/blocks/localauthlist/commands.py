"""Operator commands of the local list block: GetLocalListVersion and SendLocalList.

See :mod:`csms.domain.localauth` for the rules (versions, splitting, sync state). Every message's
outcome is committed before the next message is sent, so the history and the sync state are right
whatever happens to the connection. A command that gets no answer (timeout, CALLERROR, dropped
connection) records that and raises the gateway's domain error, like every command.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from csms.blocks.localauthlist import payloads
from csms.domain.errors import (
    CallFailed,
    DomainError,
    InvalidPayload,
    StationNotConnected,
)
from csms.domain.localauth import (
    LocalListEntry,
    LocalListRepository,
    LocalListSource,
    LocalListSync,
    LocalListSyncState,
    LocalListUpdate,
    UpdateStatus,
    UpdateType,
    apply_differential,
    split,
)
from csms.domain.ports import StationGateway
from csms.rpc import OcppVersion

__all__ = [
    "COMMANDS",
    "FALLBACK_MAX_ITEMS",
    "LocalListCommands",
    "LocalListVersionResult",
    "SendLocalListResult",
]

logger = logging.getLogger(__name__)

# The (version, action) pairs these commands send, for the support matrix.
COMMANDS = frozenset(
    (version, action)
    for version in OcppVersion
    for action in ("GetLocalListVersion", "SendLocalList")
)

# Entries per message when the station does not report its limit (not cached: asked again next
# time). Small enough for any station's parser; the station answers Failed if even this is too many.
FALLBACK_MAX_ITEMS = 20

# The longest message id (2.0.1 Part 4 §4.1.3: 36 characters), to size a CALL frame.
_MESSAGE_ID = "x" * 36


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class LocalListVersionResult:
    """The answer to GetLocalListVersion and the sync state it leads to."""

    version: int  # -1: the station does not support local lists (1.6 §5.10)
    sync: LocalListSync


@dataclass(frozen=True, slots=True)
class SendLocalListResult:
    """The outcome of an update: every message sent, in order, and the resulting sync state."""

    status: UpdateStatus  # Accepted when every message was; else the first other answer
    version: int  # the version of the list csms now wants the station to hold
    messages: tuple[LocalListUpdate, ...]
    sync: LocalListSync

    @property
    def accepted(self) -> bool:
        """True if the station holds the whole list now."""
        return self.status is UpdateStatus.ACCEPTED


class LocalListCommands:
    """Typed commands of the local list block over the :class:`StationGateway` port."""

    def __init__(
        self,
        gateway: StationGateway,
        lists: LocalListRepository,
        *,
        clock: Callable[[], datetime] = _utc_now,
        call_timeout: float | None = None,
        fallback_max_items: int = FALLBACK_MAX_ITEMS,
    ) -> None:
        self._gateway = gateway
        self._lists = lists
        self._clock = clock
        self._timeout = call_timeout
        self._fallback_max_items = fallback_max_items
        # One update per station at a time, so versions and pieces never interleave.
        self._locks: dict[str, asyncio.Lock] = {}

    def _version(self, station_id: str) -> OcppVersion:
        version = self._gateway.ocpp_version(station_id)
        if version is None:
            raise StationNotConnected(f"station {station_id!r} is not connected")
        return OcppVersion(version)

    async def sync_state(self, station_id: str) -> LocalListSync:
        """The station's sync state (a station csms never managed: version 0, pending)."""
        state = await self._lists.sync_state(station_id)
        if state is not None:
            return state
        return LocalListSync(station_id, LocalListSyncState.PENDING, 0, None, 0)

    async def get_local_list_version(self, station_id: str) -> LocalListVersionResult:
        """Ask the station for its list version and update the sync state (1.6 §5.10; 2.x D01)."""
        version = self._version(station_id)
        answer = await self._gateway.call(
            station_id, "GetLocalListVersion", {}, timeout=self._timeout
        )
        return await self.record_version_answer(station_id, version, answer)

    async def record_version_answer(
        self, station_id: str, version: OcppVersion, answer: dict[str, object]
    ) -> LocalListVersionResult:
        """Keep the list version a station reported (also to a GetLocalListVersion sent through
        the generic call) and the sync state it leads to."""
        reported = payloads.version_from_response(answer, version)
        current = await self.sync_state(station_id)
        if reported == -1:
            state = LocalListSyncState.NOT_SUPPORTED
        elif reported == current.version:
            state = LocalListSyncState.IN_SYNC
        elif current.state is LocalListSyncState.FAILED:
            state = LocalListSyncState.FAILED
        else:
            state = LocalListSyncState.PENDING
        await self._lists.record_station_version(station_id, reported, state, self._clock())
        logger.info("[%s] local list version %d (ours %d)", station_id, reported, current.version)
        return LocalListVersionResult(reported, await self.sync_state(station_id))

    async def limits(self, station_id: str, *, refresh: bool = False) -> tuple[int, int | None]:
        """The station's (max entries, max bytes) per SendLocalList, read once and cached.

        1.6 reads ``SendLocalListMaxLength`` (§9.2.3) with GetConfiguration; 2.x reads
        ``LocalAuthListCtrlr.ItemsPerMessage`` and ``BytesPerMessage`` with GetVariables. A station
        that reports no limit gets :data:`FALLBACK_MAX_ITEMS` entries per message (not cached).
        """
        if not refresh:
            current = await self._lists.sync_state(station_id)
            if current is not None and current.max_items is not None:
                return current.max_items, current.max_bytes
        version = self._version(station_id)
        action, request = payloads.limits_request(version)
        try:
            answer = await self._gateway.call(station_id, action, request, timeout=self._timeout)
        except CallFailed as exc:  # e.g. NotSupported: treat as "not reported"
            logger.warning("[%s] could not read local list limits: %s", station_id, exc)
            return self._fallback_max_items, None
        max_items, max_bytes = payloads.limits_from_response(answer, version)
        if max_items is None:
            logger.warning(
                "[%s] station reports no local list limit; sending %d entries per message",
                station_id,
                self._fallback_max_items,
            )
            return self._fallback_max_items, max_bytes
        await self._lists.set_limits(station_id, max_items, max_bytes, self._clock())
        return max_items, max_bytes

    async def send_full_list_from(
        self, station_id: str, source: LocalListSource
    ) -> SendLocalListResult:
        """Send the full list ``source`` gives for the station (e.g. built from the token store)."""
        return await self.send_local_list(station_id, await source.local_list(station_id))

    async def send_local_list(
        self,
        station_id: str,
        entries: Sequence[LocalListEntry],
        update_type: UpdateType = UpdateType.FULL,
        *,
        fallback_to_full: bool = True,
    ) -> SendLocalListResult:
        """Send a Full list or Differential changes, split to the station's limits.

        Args:
            station_id: the station.
            entries: Full: the whole list (no removals). Differential: the changes; an entry
                with ``status`` None removes the identifier.
            update_type: Full or Differential.
            fallback_to_full: after a Differential update answered Failed or VersionMismatch,
                send the whole list as a Full update (1.6 §5.15 SHOULD).

        Raises:
            InvalidPayload: duplicate identifiers (1.6 §6.41), a removal in a Full list, or an
                identifier too long for the station's version. Nothing is sent or stored.
            StationNotConnected, CallTimeout, CallFailed, CallOutcomeUnknown, StationBusy: from
                the gateway; the message without an answer is recorded and the state is failed.
        """
        version = self._version(station_id)
        ids = [entry.id_token for entry in entries]
        if len(set(ids)) != len(ids):
            raise InvalidPayload("every identifier in a local list must be unique (1.6 §6.41)")
        if update_type is UpdateType.FULL and any(entry.removes for entry in entries):
            raise InvalidPayload("a Full local list cannot remove identifiers")
        items = [payloads.entry_payload(entry, version) for entry in entries]  # may raise
        lock = self._locks.setdefault(station_id, asyncio.Lock())
        async with lock:
            return await self._update(
                station_id,
                version=version,
                entries=entries,
                items=items,
                update_type=update_type,
                fallback_to_full=fallback_to_full,
            )

    async def _update(
        self,
        station_id: str,
        *,
        version: OcppVersion,
        entries: Sequence[LocalListEntry],
        items: list[dict[str, object]],
        update_type: UpdateType,
        fallback_to_full: bool,
    ) -> SendLocalListResult:
        current = await self.sync_state(station_id)
        if update_type is UpdateType.FULL:
            target = sorted(entries, key=lambda e: e.id_token)
        else:
            target = apply_differential(await self._lists.entries(station_id), entries)
        result = await self._send(
            station_id,
            version=version,
            current=current,
            target=target,
            items=items,
            update_type=update_type,
        )
        if (
            update_type is UpdateType.DIFFERENTIAL
            and fallback_to_full
            and result.status in (UpdateStatus.FAILED, UpdateStatus.VERSION_MISMATCH)
        ):
            logger.info(
                "[%s] differential update %s: sending the full list", station_id, result.status
            )
            full_items = [payloads.entry_payload(entry, version) for entry in target]
            retry = await self._send(
                station_id,
                version=version,
                current=result.sync,
                target=target,
                items=full_items,
                update_type=UpdateType.FULL,
            )
            return SendLocalListResult(
                retry.status, retry.version, result.messages + retry.messages, retry.sync
            )
        return result

    async def _send(
        self,
        station_id: str,
        *,
        version: OcppVersion,
        current: LocalListSync,
        target: Sequence[LocalListEntry],
        items: list[dict[str, object]],
        update_type: UpdateType,
    ) -> SendLocalListResult:
        max_items, max_bytes = await self.limits(station_id)
        # The whole CALL frame without entries; the version may grow to 10 digits.
        empty = payloads.send_local_list_payload(2**31, update_type, [], version)
        empty["localAuthorizationList"] = []
        overhead = len(orjson.dumps([2, _MESSAGE_ID, "SendLocalList", empty]))
        pieces = split(
            items,
            max_items=max_items,
            max_bytes=max_bytes,
            size=lambda item: len(orjson.dumps(item)),
            overhead=overhead,
        )
        base = max(current.version, current.station_version or 0)
        final = base + len(pieces)
        await self._lists.set_target(station_id, target, final, self._clock())
        sent: list[LocalListUpdate] = []
        status = UpdateStatus.ACCEPTED
        for i, piece in enumerate(pieces):
            kind = update_type if i == 0 else UpdateType.DIFFERENTIAL
            list_version = base + i + 1
            request = payloads.send_local_list_payload(list_version, kind, piece, version)
            try:
                answer = await self._gateway.call(
                    station_id, "SendLocalList", request, timeout=self._timeout
                )
                status = UpdateStatus(answer["status"])
            except DomainError as exc:  # no answer: timeout, CALLERROR, disconnect, invalid
                await self._record(
                    station_id,
                    list_version=list_version,
                    kind=kind,
                    count=len(piece),
                    status=None,
                    error=exc,
                )
                raise
            last = i == len(pieces) - 1
            update = await self._record(
                station_id,
                list_version=list_version,
                kind=kind,
                count=len(piece),
                status=status,
                error=None,
                last=last,
            )
            sent.append(update)
            if status is not UpdateStatus.ACCEPTED:
                break
        logger.info(
            "[%s] SendLocalList %s v%d in %d message(s): %s",
            station_id,
            update_type.value,
            final,
            len(sent),
            status.value,
        )
        return SendLocalListResult(status, final, tuple(sent), await self.sync_state(station_id))

    async def _record(
        self,
        station_id: str,
        *,
        list_version: int,
        kind: UpdateType,
        count: int,
        status: UpdateStatus | None,
        error: DomainError | None,
        last: bool = True,
    ) -> LocalListUpdate:
        update = LocalListUpdate(
            station_id=station_id,
            version=list_version,
            update_type=kind,
            entries=count,
            status=status,
            at=self._clock(),
            error=f"{type(error).__name__}: {error}" if error is not None else None,
        )
        state = LocalListSyncState.FAILED if status is None else _state_after(status, last)
        await self._lists.record_update(update, state)
        return update


def _state_after(status: UpdateStatus, last: bool) -> LocalListSyncState:
    if status is UpdateStatus.ACCEPTED:
        return LocalListSyncState.IN_SYNC if last else LocalListSyncState.PENDING
    if status is UpdateStatus.NOT_SUPPORTED:
        return LocalListSyncState.NOT_SUPPORTED
    return LocalListSyncState.FAILED
