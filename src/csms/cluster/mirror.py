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
    """Who holds a station's live session: the node, the negotiated version, the session's token
    (new at each connection) and the KV revision of the claim."""

    node: str
    version: str
    session: str
    revision: int


class PresenceMirror:
    """Stations by holder and node leases, as last seen on the watched KV buckets."""

    def __init__(self, node_id: str, lease: float) -> None:
        self.node_id = node_id
        self._lease = lease
        self._nodes: dict[str, float] = {}  # node -> when its lease was last renewed (monotonic)
        self._stations: dict[str, Holder] = {}
        self._revisions: dict[str, int] = {}  # station -> newest revision seen (claims and deletes)
        # The same claims by node: the orphan sweep (every third of the lease) looks at the dead
        # nodes' stations only, not at every station of the cluster.
        self._by_node: dict[str, dict[str, int]] = {}

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
        if holder.revision < self._revisions.get(station_id, 0):
            return False
        self._revisions[station_id] = holder.revision
        previous = self._stations.get(station_id)
        if previous is not None and previous.node != holder.node:
            self._unindex(station_id, previous.node)
        self._stations[station_id] = holder
        self._by_node.setdefault(holder.node, {})[station_id] = holder.revision
        return True

    def released(self, station_id: str, revision: int) -> None:
        """The station's entry was deleted at ``revision``."""
        if revision < self._revisions.get(station_id, 0):
            return
        self._revisions[station_id] = revision
        previous = self._stations.pop(station_id, None)
        if previous is not None:
            self._unindex(station_id, previous.node)

    def _unindex(self, station_id: str, node: str) -> None:
        claims = self._by_node.get(node)
        if claims is not None:
            claims.pop(station_id, None)
            if not claims:
                del self._by_node[node]

    def entry(self, station_id: str) -> Holder | None:
        """The newest claim seen, whether or not its node lives."""
        return self._stations.get(station_id)

    def holder(self, station_id: str, now: float) -> Holder | None:
        """The live holder of ``station_id``: its claim, if its node's lease is alive."""
        holder = self._stations.get(station_id)
        if holder is None or not self.node_alive(holder.node, now):
            return None
        return holder

    def orphans(self, now: float) -> list[tuple[str, int]]:
        """Claims of nodes whose lease ran out (station, revision), for any node to delete."""
        return [
            (sid, revision)
            for node, claims in self._by_node.items()
            if not self.node_alive(node, now) and self._nodes.get(node, 0.0) < now - 2 * self._lease
            for sid, revision in claims.items()
        ]

    def reset(self) -> None:
        """Forget everything (the watchers start again from the buckets' current contents)."""
        self._stations.clear()
        self._revisions.clear()
        self._by_node.clear()
