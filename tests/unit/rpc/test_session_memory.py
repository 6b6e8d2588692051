"""What an idle RpcSession keeps (issue 11: memory per connected station): no set of the peer's
CALLs in progress once they are answered, and no id factory of its own."""

from __future__ import annotations

import json
import sys

import pytest

from csms.rpc import CallReceived, LocalProtocolError, OcppVersion, RpcSession


def test_an_idle_session_keeps_no_inbound_set_and_shares_its_id_factory() -> None:
    session = RpcSession(OcppVersion.V16)
    for i in range(3):  # CALLs overlapping, answered out of order, then all done
        events = session.receive(json.dumps([2, f"c{i}", "Heartbeat", {}]), 0.0)
        assert isinstance(events[0], CallReceived)
    for i in (1, 0, 2):
        session.send_result(f"c{i}", {"currentTime": "2026-12-07T00:00:00Z"})
    # An empty set would be 216 bytes per connection; the empty tuple is shared.
    assert sys.getsizeof(session._inbound) <= sys.getsizeof(())
    # A closure per session would be ~150 bytes more per connection.
    assert session._new_id is RpcSession(OcppVersion.V201)._new_id
    assert len({session._new_id() for _ in range(100)}) == 100


def test_a_call_still_in_progress_is_refused_as_a_duplicate_and_answered_once() -> None:
    session = RpcSession(OcppVersion.V16)
    session.receive(json.dumps([2, "a", "Heartbeat", {}]), 0.0)
    duplicate = session.receive(json.dumps([2, "a", "Heartbeat", {}]), 0.0)
    assert "duplicate" in str(duplicate[0])
    session.send_result("a", {"currentTime": "2026-12-07T00:00:00Z"})
    with pytest.raises(LocalProtocolError, match="no CALL 'a'"):
        session.send_result("a", {"currentTime": "2026-12-07T00:00:00Z"})
