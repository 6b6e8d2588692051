"""The cluster's sans-I/O parts (issue 11): presence by lease and revision, the command outcome
codec, and the gateway's outcomes for a station held by another node."""

from __future__ import annotations

from typing import Any

import pytest

from csms.cluster import ClusterGateway, Holder, PresenceMirror, station_key
from csms.cluster import gateway as gateway_module
from csms.cluster.gateway import RequestUndelivered, call_subject
from csms.cluster.mirror import station_from_key
from csms.cluster.wire import decode_outcome, decode_request, encode_error, encode_result
from csms.domain.errors import (
    CallFailed,
    CallOutcomeUnknown,
    CallTimeout,
    CommandNotAllowed,
    DomainError,
    InvalidPayload,
    NotSupportedByVersion,
    StationBusy,
    StationNotConnected,
)
from csms.domain.ports import SessionCounters

LEASE = 10.0


def test_station_keys_are_valid_kv_keys_and_round_trip() -> None:
    for sid in ("CP1", "with space", "ünï/cödé:*>", "a.b", "-"):
        key = station_key(sid)
        assert all(c.isalnum() or c in "-_" for c in key)
        assert station_from_key(key) == sid


def test_a_claim_counts_only_while_its_node_lease_lives() -> None:
    mirror = PresenceMirror("B", LEASE)
    mirror.node_renewed("A", now=100.0)
    mirror.claimed("CP1", Holder("A", "1.6", revision=5))
    assert mirror.holder("CP1", now=105.0) == Holder("A", "1.6", 5)
    assert mirror.holder("CP1", now=110.1) is None  # A stopped renewing: offline
    mirror.node_renewed("A", now=111.0)
    assert mirror.holder("CP1", now=112.0) is not None
    assert mirror.orphans(now=112.0) == []
    assert mirror.orphans(now=200.0) == [("CP1", 5)]  # long dead: any node deletes it


def test_an_older_entry_never_overwrites_a_newer_one() -> None:
    mirror = PresenceMirror("B", LEASE)
    mirror.node_renewed("A", 0.0)
    assert mirror.claimed("CP1", Holder("B", "2.0.1", revision=9))
    assert not mirror.claimed("CP1", Holder("A", "1.6", revision=7))
    mirror.released("CP1", revision=8)  # A's late release of its older claim
    assert mirror.holder("CP1", 1.0) == Holder("B", "2.0.1", 9)
    mirror.released("CP1", revision=10)
    assert mirror.holder("CP1", 1.0) is None
    mirror.node_released("A")
    assert not mirror.node_alive("A", 0.0) and mirror.node_alive("B", 1e9)  # itself: always


@pytest.mark.parametrize(
    "error",
    [
        StationNotConnected("gone"),
        StationBusy("queue full"),
        CommandNotAllowed("no"),
        CallTimeout("30 s"),
        CallOutcomeUnknown("closed"),
        CallFailed("NotSupported", "nope", {"a": 1}),
        InvalidPayload("bad", code="TypeConstraintViolation", path="$.type"),
        NotSupportedByVersion("2.x only", path="$"),
    ],
)
def test_every_outcome_survives_the_wire(error: DomainError) -> None:
    with pytest.raises(type(error)) as raised:
        decode_outcome(encode_error(error))
    assert type(raised.value) is type(error) and str(raised.value) == str(error)
    if isinstance(error, CallFailed):
        assert isinstance(raised.value, CallFailed)
        assert (raised.value.code, raised.value.details) == ("NotSupported", {"a": 1})
    if isinstance(error, InvalidPayload):
        assert isinstance(raised.value, InvalidPayload)
        assert (raised.value.code, raised.value.path) == (error.code, error.path)


def test_unknown_errors_and_garbage_are_outcome_unknown() -> None:
    assert decode_outcome(encode_result({"status": "Accepted"})) == {"status": "Accepted"}
    with pytest.raises(CallOutcomeUnknown):
        decode_outcome(encode_error(DomainError("something new")))
    with pytest.raises(CallOutcomeUnknown):
        decode_outcome(b"\xff not json")
    with pytest.raises(ValueError):
        decode_request(b'{"station": "CP1"}')


class _Local:
    """This node's sessions: only CP-LOCAL."""

    def is_connected(self, station_id: str) -> bool:
        return station_id == "CP-LOCAL"

    def ocpp_version(self, station_id: str) -> str | None:
        return "2.0.1" if station_id == "CP-LOCAL" else None

    def session_counters(self, station_id: str) -> SessionCounters | None:
        return None

    async def call(self, station_id: str, action: str, payload: dict[str, Any], **_: Any) -> Any:
        return {"local": action}


class _Requester:
    def __init__(self, outcome: bytes | BaseException) -> None:
        self.outcome = outcome
        self.sent: list[tuple[str, float]] = []

    async def request(self, subject: str, payload: bytes, timeout: float) -> bytes:
        self.sent.append((subject, timeout))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def _gateway(requester: _Requester) -> ClusterGateway:
    mirror = PresenceMirror("B", LEASE)
    mirror.node_renewed("A", 0.0)
    mirror.claimed("CP1", Holder("A", "1.6", 3))
    mirror.claimed("CP-MINE", Holder("B", "1.6", 4))  # a stale claim of this node's
    return ClusterGateway(
        _Local(), mirror, requester, call_timeout=30.0, request_margin=5.0, clock=lambda: 1.0
    )


async def test_the_gateway_routes_to_the_holder_with_todays_outcomes() -> None:
    requester = _Requester(encode_result({"status": "Accepted"}))
    gateway = _gateway(requester)
    assert gateway.is_connected("CP1") and gateway.ocpp_version("CP1") == "1.6"
    assert await gateway.call("CP1", "Reset", {"type": "Soft"}, timeout=2.0) == {
        "status": "Accepted"
    }
    assert requester.sent == [(call_subject("A"), 7.0)]  # its timeout plus the margin
    assert await gateway.call("CP-LOCAL", "Reset", {}) == {"local": "Reset"}
    assert gateway.ocpp_version("CP-LOCAL") == "2.0.1"
    # Nobody, or only a stale claim of this node's own: not connected, nothing sent.
    for sid in ("CP-NOBODY", "CP-MINE"):
        assert not gateway.is_connected(sid)
        with pytest.raises(StationNotConnected):
            await gateway.call(sid, "Reset", {})
    assert len(requester.sent) == 1


async def test_no_answer_from_the_holder_is_outcome_unknown_never_silence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gateway_module, "UNDELIVERED_FIRST_DELAY", 0.001)
    monkeypatch.setattr(gateway_module, "UNDELIVERED_RETRY_FOR", 0.01)
    with pytest.raises(CallOutcomeUnknown, match="may have been sent"):
        await _gateway(_Requester(TimeoutError())).call("CP1", "Reset", {})
    with pytest.raises(StationNotConnected, match="unreachable"):
        await _gateway(_Requester(RequestUndelivered("no responders"))).call("CP1", "Reset", {})
    with pytest.raises(CallTimeout):
        await _gateway(_Requester(encode_error(CallTimeout("30 s")))).call("CP1", "Reset", {})


class _Resubscribing(_Requester):
    """No responders for the first ``misses`` requests (the holder resubscribing after a NATS
    reconnect), then the holder's answer."""

    def __init__(self, misses: int) -> None:
        super().__init__(encode_result({"status": "Accepted"}))
        self.misses = misses

    async def request(self, subject: str, payload: bytes, timeout: float) -> bytes:
        if self.misses:
            self.misses -= 1
            self.sent.append((subject, timeout))
            raise RequestUndelivered("no responders")
        return await super().request(subject, payload, timeout)


async def test_a_command_nobody_received_is_sent_again_while_its_node_resubscribes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request with no responders never reached the station: sent again (bounded), so a
    command right after a NATS reconnect reaches the station (found by the NATS-restart test
    on a loaded machine)."""
    monkeypatch.setattr(gateway_module, "UNDELIVERED_FIRST_DELAY", 0.001)
    requester = _Resubscribing(misses=3)
    assert await _gateway(requester).call("CP1", "Reset", {}) == {"status": "Accepted"}
    assert requester.sent == [(call_subject("A"), 35.0)] * 4


def test_the_mirror_keeps_a_few_dozen_bytes_per_station() -> None:
    """Every node mirrors every station of the cluster, so its entry is paid once per worker:
    one int and a dict slot, with the node and version strings stored once (issue 11, memory
    per station). The claims come as the watcher decodes them: new strings each time."""
    import tracemalloc

    stations = [f"CP{i:06d}" for i in range(5_000)]
    mirror = PresenceMirror("B", LEASE)
    tracemalloc.start()
    try:
        for i, sid in enumerate(stations):
            node = "".join(["host-1234-", "abc"[i % 3]])  # fresh copies, as orjson.loads makes
            version = "".join(["2.0", ".1"])
            mirror.claimed(sid, Holder(node, version, 1_000_000 + i))
        size, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size / len(stations) < 120  # ~430 bytes with a Holder, its strings and two dicts
    assert mirror.entry("CP004999") == Holder("host-1234-b", "2.0.1", 1_004_999)


def test_deleted_entries_keep_their_revision_and_orphans_are_found_by_node() -> None:
    mirror = PresenceMirror("B", LEASE)
    mirror.node_renewed("A", 0.0)
    mirror.claimed("CP1", Holder("A", "1.6", 5))
    mirror.claimed("CP2", Holder("B", "2.1", 6))
    mirror.released("CP1", 7)
    assert mirror.entry("CP1") is None
    assert not mirror.claimed("CP1", Holder("A", "1.6", 6))  # older than the delete
    assert mirror.claimed("CP1", Holder("A", "2.0.1", 8))
    assert mirror.orphans(now=100.0) == [("CP1", 8)]  # A dead: only its claim; B is itself
    mirror.reset()
    assert mirror.entry("CP2") is None and mirror.orphans(now=100.0) == []


def test_the_mirror_renumbers_its_node_pairs_when_they_run_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from csms.cluster import mirror as module

    monkeypatch.setattr(module, "_SLOT_MASK", 3)  # room for three (node, version) pairs
    mirror = PresenceMirror("B", LEASE)
    for n in range(10):  # nodes restarting: each new node takes over the same station
        mirror.claimed("CP1", Holder(f"node{n}", "1.6", 10 + n))
        mirror.claimed("CP2", Holder("B", "1.6", 10 + n))
    assert mirror.entry("CP1") == Holder("node9", "1.6", 19)
    assert mirror.entry("CP2") == Holder("B", "1.6", 19)
    mirror.claimed("CP3", Holder("C", "2.1", 30))  # three pairs live: the slots are full
    with pytest.raises(OverflowError):
        mirror.claimed("CP4", Holder("D", "2.1", 31))
    assert mirror.entry("CP1") == Holder("node9", "1.6", 19)  # nothing corrupted
