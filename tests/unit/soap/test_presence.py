"""Presence of SOAP stations (csms.soap.presence): online while they keep calling."""

from __future__ import annotations

from datetime import UTC, datetime

from csms.blocks.context import CallContext
from csms.rpc import OcppVersion
from csms.soap.presence import PresenceTable

T = datetime(2024, 5, 1, tzinfo=UTC)


def test_online_while_calling_then_expired() -> None:
    clock = [0.0]
    table = PresenceTable(timeout=360.0, clock=lambda: clock[0])
    ctx = CallContext("CP", OcppVersion.V16)
    assert table.seen("CP", ctx, ocpp_version="1.6", endpoint="http://a/", now=T) is True
    clock[0] = 300.0
    assert table.seen("CP", ctx, ocpp_version="1.6", endpoint=None, now=T) is False
    session = table.soap_session("CP")
    assert session is not None and (session.ocpp_version, session.endpoint) == ("1.6", "http://a/")
    clock[0] = 300.0 + 361.0
    assert table.soap_session("CP") is None
    assert table.expire() == [("CP", "1.6")]
    assert len(table) == 0 and table.expire() == []
