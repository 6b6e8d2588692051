"""The cluster's sans-I/O parts (issue 11): presence by lease and revision, the command outcome
codec, and the gateway's outcomes for a station held by another node."""

from __future__ import annotations

from typing import Any

import pytest

from csms.cluster import ClusterGateway, Holder, PresenceMirror, station_key
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
    mirror.claimed("CP1", Holder("A", "1.6", "s1", revision=5))
    assert mirror.holder("CP1", now=105.0) == Holder("A", "1.6", "s1", 5)
    assert mirror.holder("CP1", now=110.1) is None  # A stopped renewing: offline
    mirror.node_renewed("A", now=111.0)
    assert mirror.holder("CP1", now=112.0) is not None
    assert mirror.orphans(now=112.0) == []
    assert mirror.orphans(now=200.0) == [("CP1", 5)]  # long dead: any node deletes it


def test_an_older_entry_never_overwrites_a_newer_one() -> None:
    mirror = PresenceMirror("B", LEASE)
    mirror.node_renewed("A", 0.0)
    assert mirror.claimed("CP1", Holder("B", "2.0.1", "new", revision=9))
    assert not mirror.claimed("CP1", Holder("A", "1.6", "old", revision=7))
    mirror.released("CP1", revision=8)  # A's late release of its older claim
    assert mirror.holder("CP1", 1.0) == Holder("B", "2.0.1", "new", 9)
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
    mirror.claimed("CP1", Holder("A", "1.6", "s", 3))
    mirror.claimed("CP-MINE", Holder("B", "1.6", "s", 4))  # a stale claim of this node's
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


async def test_no_answer_from_the_holder_is_outcome_unknown_never_silence() -> None:
    with pytest.raises(CallOutcomeUnknown, match="may have been sent"):
        await _gateway(_Requester(TimeoutError())).call("CP1", "Reset", {})
    with pytest.raises(StationNotConnected, match="unreachable"):
        await _gateway(_Requester(RequestUndelivered("no responders"))).call("CP1", "Reset", {})
    with pytest.raises(CallTimeout):
        await _gateway(_Requester(encode_error(CallTimeout("30 s")))).call("CP1", "Reset", {})
