"""Connection limits bookkeeping, the descriptor reserve, address grouping and throttled logs."""

from __future__ import annotations

import logging

import pytest

from csms.log import KindLog
from csms.server.admission import address_group
from csms.server.limits import (
    ConnectionLimits,
    Refusal,
    Ticket,
    default_max_connections,
    descriptor_reserve,
    parse_networks,
)


@pytest.mark.parametrize(
    ("limit", "reserve", "maximum"),
    [(20_000, 2_000, 18_000), (1_024, 256, 768), (100_000, 2_048, 97_952), (64, 32, 32)],
)
def test_default_cap_keeps_a_reserve_below_the_open_files_limit(
    limit: int, reserve: int, maximum: int
) -> None:
    assert descriptor_reserve(limit) == reserve
    assert default_max_connections(limit) == maximum


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not-an-ip", "not-an-ip"),
    ],
)
def test_address_groups(address: str, group: str) -> None:
    assert address_group(address) == group


def test_cap_and_per_address_handshakes() -> None:
    limits = ConnectionLimits(max_connections=3, max_handshakes_per_address=2)
    a1, a2 = limits.admit("2001:db8::1"), limits.admit("2001:db8::2")
    assert isinstance(a1, Ticket) and isinstance(a2, Ticket)
    assert limits.admit("2001:db8::3") is Refusal.ADDRESS_BUSY  # same /64
    limits.handshake_done(a1)
    a3 = limits.admit("2001:db8::3")
    assert isinstance(a3, Ticket)
    assert limits.admit("192.0.2.1") is Refusal.AT_CAPACITY
    load = limits.load()
    assert (load.open, load.in_handshake, load.max, load.saturated) == (3, 2, 3, True)
    limits.release(a2)
    limits.release(a2)  # idempotent
    load = limits.load()
    assert (load.open, load.in_handshake, load.saturated) == (2, 1, False)
    assert limits.load(accept_errors=True).saturated


def test_exempt_networks_are_not_limited_per_address_but_count_toward_the_cap() -> None:
    limits = ConnectionLimits(3, 1, parse_networks("127.0.0.0/8, ::1/128"))
    assert all(isinstance(limits.admit(a), Ticket) for a in ("127.0.0.1", "127.0.0.1", "::1"))
    assert limits.admit("127.0.0.1") is Refusal.AT_CAPACITY
    other = ConnectionLimits(3, 1, parse_networks(""))
    assert isinstance(other.admit("::ffff:127.0.0.1"), Ticket)
    assert other.admit("127.0.0.1") is Refusal.ADDRESS_BUSY


def test_the_accept_loops_log_says_how_many_were_left_out(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = KindLog(logging.getLogger("t"), burst=1, interval=10.0, clock=lambda: now[0])
    caplog.set_level(logging.INFO, "t")
    assert log.log(logging.WARNING, "k", "refused %s", "a")
    for _ in range(5):
        now[0] += 1
        assert not log.log(logging.WARNING, "k", "refused %s", "b")
    assert log.log(logging.WARNING, "other", "another kind")
    now[0] = 11.0
    assert log.log(logging.WARNING, "k", "refused %s", "c")
    assert [r.getMessage() for r in caplog.records] == [
        "refused a",
        "another kind",
        "k repeated 5 times in the last 11 s (last: refused b)",
        "refused c",
    ]
