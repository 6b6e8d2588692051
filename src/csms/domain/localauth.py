"""Local Authorization Lists: versioned per station, sent in pieces the station can take.

1.6 §3.5.2, §5.10, §5.15, §6.41; 2.0.1/2.1 D01–D03. csms keeps, per station, the list it wants the
station to hold (its *target*, with a version number) and what it knows of the station's list (the
last version the station accepted or reported). An update is sent as one or more SendLocalList
messages of at most the station's limit (1.6 ``SendLocalListMaxLength``; 2.x
``LocalAuthListCtrlr.ItemsPerMessage`` and ``BytesPerMessage``):

* A Full update becomes one ``Full`` message with the first piece, then ``Differential`` messages
  adding the rest, so the station ends with exactly the full list.
* Every message carries a new, higher version number (1.6 §6.41: the version "after the update has
  been applied"), so a station that checks that versions increase never answers VersionMismatch to
  the second piece. The version of the last piece is the list's version.
* The first answer other than Accepted stops the update; it is recorded and the sync state becomes
  ``failed`` (``not_supported`` for NotSupported). After a Differential update fails with Failed or
  VersionMismatch the Central System SHOULD send the full list (1.6 §5.15), which the commands do.

Where the entries come from is the caller's choice: an operator gives them today, and a
:class:`LocalListSource` (for example, one built on the id-token store) can give them later.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

# IdTagInfo status in a local list entry: the one enum of the id-token store (1.6 §7.2).
from csms.domain.tokens import AuthorizationStatus

__all__ = [
    "AuthorizationStatus",
    "LocalListEntry",
    "LocalListRepository",
    "LocalListSource",
    "LocalListSync",
    "LocalListSyncState",
    "LocalListUpdate",
    "UpdateStatus",
    "UpdateType",
    "apply_differential",
    "split",
]

T = TypeVar("T")


class UpdateType(enum.StrEnum):
    """1.6 UpdateType; 2.x UpdateEnumType."""

    FULL = "Full"
    DIFFERENTIAL = "Differential"


class UpdateStatus(enum.StrEnum):
    """The station's answer to SendLocalList (1.6 UpdateStatus; 2.x has no NotSupported)."""

    ACCEPTED = "Accepted"
    FAILED = "Failed"
    NOT_SUPPORTED = "NotSupported"
    VERSION_MISMATCH = "VersionMismatch"


class LocalListSyncState(enum.StrEnum):
    """Whether the station holds the list csms wants it to hold."""

    IN_SYNC = "in_sync"  # the station accepted (or reported) our version
    PENDING = "pending"  # our list changed and was not (completely) sent yet
    FAILED = "failed"  # the station refused the last update (Failed / VersionMismatch)
    NOT_SUPPORTED = "not_supported"  # NotSupported, or GetLocalListVersion answered -1


@dataclass(frozen=True, slots=True)
class LocalListEntry:
    """One identifier in a local list (1.6 AuthorizationData; 2.x AuthorizationData).

    ``status`` None means "no idTagInfo": in a Differential update the entry is removed from the
    station's list (1.6 §7.3); a target list never holds such an entry. ``token_type`` is the 2.x
    IdTokenEnumType; 1.6 has no type, and 2.x payloads use ISO14443 (an RFID card) when it is None.
    """

    id_token: str
    status: AuthorizationStatus | None = AuthorizationStatus.ACCEPTED
    expiry_date: datetime | None = None
    parent_id_token: str | None = None
    token_type: str | None = None

    @property
    def removes(self) -> bool:
        """True for a Differential entry that deletes the identifier."""
        return self.status is None


@dataclass(frozen=True, slots=True)
class LocalListSync:
    """What csms knows of one station's local list (the queryable sync state)."""

    station_id: str
    state: LocalListSyncState
    version: int  # the version of our target list (0: never sent)
    station_version: int | None  # last version the station accepted or reported; None: unknown
    entries: int  # how many identifiers the target list holds
    last_status: UpdateStatus | None = None
    max_items: int | None = None  # the station's limit per message, once read from it
    max_bytes: int | None = None  # 2.x BytesPerMessage
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LocalListUpdate:
    """One SendLocalList message sent and the station's answer (the update history)."""

    station_id: str
    version: int
    update_type: UpdateType
    entries: int
    status: UpdateStatus | None  # None: no answer (timeout, CALLERROR, disconnect)
    at: datetime
    error: str | None = None


class LocalListSource(Protocol):
    """Where the entries of a station's full list come from (seam for the id-token store)."""

    async def local_list(self, station_id: str) -> Sequence[LocalListEntry]:
        """Return every entry the station's local list should hold."""
        ...


class LocalListRepository(Protocol):
    """Target lists, their sync state and the history of updates (committed on return)."""

    async def sync_state(self, station_id: str) -> LocalListSync | None:
        """Return the station's sync state, or None if csms never managed its list."""
        ...

    async def entries(self, station_id: str) -> Sequence[LocalListEntry]:
        """Return the target list, ordered by identifier."""
        ...

    async def set_target(
        self, station_id: str, entries: Sequence[LocalListEntry], version: int, now: datetime
    ) -> None:
        """Replace the target list with ``entries`` at ``version``; the state becomes pending."""
        ...

    async def record_update(self, update: LocalListUpdate, state: LocalListSyncState) -> None:
        """Store one message's outcome and the sync state it leads to.

        An Accepted answer also makes ``update.version`` the station's version.
        """
        ...

    async def record_station_version(
        self, station_id: str, version: int, state: LocalListSyncState, now: datetime
    ) -> None:
        """Store the version the station reported (GetLocalListVersion) and the resulting state."""
        ...

    async def set_limits(
        self, station_id: str, max_items: int | None, max_bytes: int | None, now: datetime
    ) -> None:
        """Cache the station's per-message limits."""
        ...

    async def updates(self, station_id: str, *, limit: int = 100) -> Sequence[LocalListUpdate]:
        """Return the station's most recent updates, newest first."""
        ...


def apply_differential(
    target: Iterable[LocalListEntry], changes: Iterable[LocalListEntry]
) -> list[LocalListEntry]:
    """Apply a Differential update to a full list: add, replace or (no status) remove entries."""
    merged = {entry.id_token: entry for entry in target}
    for change in changes:
        if change.removes:
            merged.pop(change.id_token, None)
        else:
            merged[change.id_token] = change
    return [merged[key] for key in sorted(merged)]


def split(
    items: Sequence[T],
    *,
    max_items: int | None,
    max_bytes: int | None = None,
    size: Callable[[T], int] | None = None,
    overhead: int = 0,
) -> list[list[T]]:
    """Cut ``items`` into consecutive pieces of at most ``max_items`` items and ``max_bytes``.

    ``size`` gives an item's encoded size and ``overhead`` the bytes of a message without items
    (2.x BytesPerMessage counts the whole message). An item too big on its own still gets a piece
    of its own: the station then answers Failed, which is recorded. No items → one empty piece
    (a Full update with no list clears the station's list, 1.6 §6.41).

    Raises:
        ValueError: ``max_items`` is below 1.
    """
    if max_items is not None and max_items < 1:
        raise ValueError("max_items must be at least 1")
    pieces: list[list[T]] = [[]]
    used = overhead
    for item in items:
        cost = size(item) + 1 if size is not None else 0  # +1: the separating comma
        piece = pieces[-1]
        full = max_items is not None and len(piece) >= max_items
        too_big = max_bytes is not None and size is not None and used + cost > max_bytes
        if piece and (full or too_big):
            pieces.append([])
            used = overhead
        pieces[-1].append(item)
        used += cost
    return pieces
