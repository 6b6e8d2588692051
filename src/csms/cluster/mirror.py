"""This node's copy of cluster presence: which node holds which station, and which nodes live.

Sans-I/O: the node feeds it the KV entries it watches and the time; the gateway asks it. A
station's entry counts only while its node's lease is alive (renewed every third of the lease), so
the stations of a node killed with -9 read as offline one lease after its last renewal, before
anyone cleans its entries up. Entries are ordered by KV revision: an older one never overwrites a
newer one (the watcher may deliver a node's own claim after another node's later one).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

__all__ = ["Holder", "PresenceMirror", "station_from_key", "station_key"]


def station_key(station_id: str) -> str:
    """The KV key of a station: unpadded base64url, because OCPP identities may hold characters KV
    keys may not (``[-/_=.a-zA-Z0-9]`` only)."""
    return base64.urlsafe_b64encode(station_id.encode()).decode().rstrip("=")


def station_from_key(key: str) -> str:
    """The station identity of a KV key (see :func:`station_key`)."""
    return base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a station's live session: the node, the negotiated version and the KV revision
    of the claim (the claim's session token is not kept: nothing reads it back)."""

    node: str
    version: str
    revision: int


# An entry is one int, ``revision << _SLOT_BITS | slot``: ``slot`` indexes the (node, version)
# pairs seen, 0 for a deleted entry (its revision kept to order late claims). Every node keeps
# an entry per station of the whole cluster, so with W workers each station costs W entries: an
# int and a dict slot (~55 bytes) instead of a Holder, its strings and a second dict (~316).
_SLOT_BITS = 20
_SLOT_MASK = (1 << _SLOT_BITS) - 1


class PresenceMirror:
    """Stations by holder and node leases, as last seen on the watched KV buckets."""

    __slots__ = ("_counts", "_entries", "_lease", "_nodes", "_pairs", "_slots", "node_id")

    def __init__(self, node_id: str, lease: float) -> None:
        self.node_id = node_id
        self._lease = lease
        self._nodes: dict[str, float] = {}  # node -> when its lease was last renewed (monotonic)
        self._entries: dict[str, int] = {}  # station -> newest entry seen (claims and deletes)
        self._pairs: list[tuple[str, str]] = [("", "")]  # slot -> (node, version); 0: deleted
        self._slots: dict[tuple[str, str], int] = {}
        # Entries per slot: the orphan sweep (every third of the lease) scans the entries only
        # while a dead node still holds some, not forever after a node has gone (11.8 ms per
        # sweep at 100,000 stations), and without a second index per station.
        self._counts: list[int] = [0]

    def node_renewed(self, node: str, now: float) -> None:
        self._nodes[node] = now

    def node_released(self, node: str) -> None:
        """The node left cleanly (its lease key deleted)."""
        self._nodes.pop(node, None)

    def node_alive(self, node: str, now: float) -> bool:
        if node == self.node_id:
            return True
        seen = self._nodes.get(node)
        return seen is not None and now - seen < self._lease

    def claimed(self, station_id: str, holder: Holder) -> bool:
        """Note a claim; return False (and ignore it) when a newer entry was already seen."""
        old = self._entries.get(station_id, 0)
        if holder.revision < old >> _SLOT_BITS:
            return False
        slot = self._slot(holder.node, holder.version)
        if old & _SLOT_MASK:
            self._counts[old & _SLOT_MASK] -= 1
        self._counts[slot] += 1
        self._entries[station_id] = holder.revision << _SLOT_BITS | slot
        return True

    def released(self, station_id: str, revision: int) -> None:
        """The station's entry was deleted at ``revision``."""
        old = self._entries.get(station_id, 0)
        if revision < old >> _SLOT_BITS:
            return
        if old & _SLOT_MASK:
            self._counts[old & _SLOT_MASK] -= 1
        self._entries[station_id] = revision << _SLOT_BITS

    def entry(self, station_id: str) -> Holder | None:
        """The newest claim seen, whether or not its node lives."""
        packed = self._entries.get(station_id, 0)
        if not packed & _SLOT_MASK:
            return None
        node, version = self._pairs[packed & _SLOT_MASK]
        return Holder(node, version, packed >> _SLOT_BITS)

    def holder(self, station_id: str, now: float) -> Holder | None:
        """The live holder of ``station_id``: its claim, if its node's lease is alive."""
        holder = self.entry(station_id)
        if holder is None or not self.node_alive(holder.node, now):
            return None
        return holder

    def orphans(self, now: float) -> list[tuple[str, int]]:
        """Claims of nodes whose lease ran out (station, revision), for any node to delete."""
        dead = {
            slot
            for slot, (node, _version) in enumerate(self._pairs)
            if slot
            and self._counts[slot]
            and not self.node_alive(node, now)
            and self._nodes.get(node, 0.0) < now - 2 * self._lease
        }
        if not dead:
            return []
        return [
            (sid, packed >> _SLOT_BITS)
            for sid, packed in self._entries.items()
            if packed & _SLOT_MASK in dead
        ]

    def reset(self) -> None:
        """Forget everything (the watchers start again from the buckets' current contents)."""
        self._entries.clear()
        del self._pairs[1:]
        self._slots.clear()
        self._counts[:] = [0]

    def _slot(self, node: str, version: str) -> int:
        """The slot of (node, version): few pairs (nodes x versions), so the strings are stored
        once, not per station. When the slots run out (a million node starts without a reset),
        the pairs no entry uses any more are dropped and the entries renumbered."""
        slot = self._slots.get((node, version))
        if slot is not None:
            return slot
        if len(self._pairs) > _SLOT_MASK:
            self._compact()
            if len(self._pairs) > _SLOT_MASK:  # all in use: refuse rather than corrupt entries
                raise OverflowError("more live (node, version) pairs than the mirror can number")
        self._pairs.append((node, version))
        self._counts.append(0)
        slot = self._slots[(node, version)] = len(self._pairs) - 1
        return slot

    def _compact(self) -> None:
        used = sorted({packed & _SLOT_MASK for packed in self._entries.values()} - {0})
        renumber = {old: new for new, old in enumerate(used, start=1)}
        self._pairs[1:] = [self._pairs[old] for old in used]
        self._slots = {pair: slot for slot, pair in enumerate(self._pairs) if slot}
        self._counts[:] = [0] + [self._counts[old] for old in used]
        for sid, packed in self._entries.items():
            if packed & _SLOT_MASK:
                self._entries[sid] = (packed >> _SLOT_BITS) << _SLOT_BITS | renumber[
                    packed & _SLOT_MASK
                ]
