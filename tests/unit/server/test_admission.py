"""Handshake budgets without sockets: failed logins, unknown identities, self-registration."""

from __future__ import annotations

import logging

import pytest

from csms.config import SettingsError, load_settings
from csms.log import KindLog
from csms.server.admission import HandshakeThrottle, RegistrationLimiter, address_group
from csms.server.buckets import KeyedBuckets


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: FakeClock, *, max_keys: int = 1000) -> HandshakeThrottle:
    return HandshakeThrottle(
        failures_per_address=3,
        failures_per_identity=2,
        unknown_per_address=4,
        window=60,
        clock=clock,
        max_keys=max_keys,
    )


def test_right_password_is_admitted_after_every_budget_was_spent() -> None:
    """Issue 7 finding 2: wrong passwords and unknown identities from the station's own address
    (a site router, a carrier NAT) never make the throttle refuse its right password."""
    clock = FakeClock()
    limiter = throttle(clock)
    nat = "198.51.100.7"
    while limiter.unknown_identity(nat) == 0.0:
        pass
    while limiter.login("CS1", nat, authenticated=False) == 0.0:
        pass
    assert limiter.login("CS2", nat, authenticated=False) == 0.0
    assert limiter.login("CS2", nat, authenticated=False) > 0  # the address budget is spent
    assert limiter.login("CS1", "203.0.113.9", authenticated=False) > 0  # so is CS1's
    assert limiter.login("CS1", nat, authenticated=True) == 0.0
    assert limiter.login("CS2", nat, authenticated=True) == 0.0
    assert limiter.login("CS1", "203.0.113.9", authenticated=True) == 0.0


def test_unknown_identities_do_not_spend_the_budget_of_registered_ones() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    refused = [limiter.unknown_identity("192.0.2.1") for _ in range(6)]
    assert refused[:4] == [0.0] * 4  # answered 404
    assert refused[4] > 0  # then 429
    # A wrong password for a registered station from there is still answered 401 (budget intact).
    assert [limiter.login("CS1", "192.0.2.1", authenticated=False) for _ in range(2)] == [0.0] * 2
    assert limiter.unknown_identity("192.0.2.2") == 0.0  # another address has its own budget


def test_failure_budgets_per_identity_and_address_and_their_refill() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    assert limiter.login("CS1", "10.0.0.1", authenticated=False) == 0.0
    assert limiter.login("CS1", "10.0.0.2", authenticated=False) == 0.0
    # The identity's budget (2) counts every address: a distributed guesser gets 429 too.
    wait = limiter.login("CS1", "10.0.0.3", authenticated=False)
    assert wait == pytest.approx(30.0)  # 2 per 60 s: one token every 30 s
    assert limiter.login("CS2", "10.0.0.1", authenticated=False) == 0.0
    assert limiter.login("CS3", "10.0.0.1", authenticated=False) == 0.0
    assert limiter.login("CS4", "10.0.0.1", authenticated=False) == pytest.approx(20.0)
    clock.now += 30
    assert limiter.login("CS1", "10.0.0.3", authenticated=False) == 0.0
    clock.now += 3600
    assert [limiter.login("CS9", "10.0.0.1", authenticated=False) for _ in range(2)] == [0.0] * 2


@pytest.mark.parametrize(
    ("address", "group"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_address_groups(address: str, group: str) -> None:
    """IPv4 per address, IPv6 per /64, IPv4-mapped IPv6 as IPv4."""
    assert address_group(address) == group


def test_ipv6_addresses_of_one_slash_64_share_a_budget() -> None:
    clock = FakeClock()
    limiter = throttle(clock)
    for n in range(3):
        assert limiter.login(f"CS{n}", f"2001:db8:0:1::{n + 1:x}", authenticated=False) == 0.0
    assert limiter.login("CS9", "2001:db8:0:1:dead:beef::1", authenticated=False) > 0
    assert limiter.login("CS9", "2001:db8:0:2::1", authenticated=False) == 0.0
    assert limiter.unknown_identity("::ffff:192.0.2.9") == 0.0
    for _ in range(3):
        limiter.unknown_identity("192.0.2.9")
    assert limiter.unknown_identity("::ffff:192.0.2.9") > 0


def test_memory_is_bounded() -> None:
    """A spray of addresses and identities never grows a table beyond max_keys."""
    limiter = throttle(FakeClock(), max_keys=100)
    for i in range(5000):
        ipv4 = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        limiter.login(f"ID{i}", ipv4, authenticated=False)
        limiter.unknown_identity(f"2001:db8:{i:x}::1")
    assert limiter.sizes() == (100, 100, 100)


def test_the_least_recently_charged_key_is_forgotten_first() -> None:
    """Forgetting refills a bucket: eviction makes a budget more lenient, never stricter."""
    clock = FakeClock()
    buckets = KeyedBuckets(capacity=1, window=60, clock=clock, max_keys=3)
    for key in ("a", "b", "c"):
        buckets.charge(key)
    buckets.charge("a")  # "a" is now the most recent, "b" the oldest
    buckets.charge("d")
    assert len(buckets) == 3
    assert buckets.wait("b") == 0.0  # forgotten: full again
    assert buckets.wait("a") > 0
    assert buckets.wait("c") > 0


def test_buckets_refuse_bad_parameters() -> None:
    with pytest.raises(ValueError, match="capacity"):
        KeyedBuckets(capacity=0, window=60)


def test_registrations_are_paced_per_process_and_per_address() -> None:
    """Issue 7 finding 8: a burst, then ``rate`` per second; each address its own smaller share."""
    clock = FakeClock()
    limiter = RegistrationLimiter(rate=2, burst=5, per_address=3, window=60, clock=clock)
    assert [limiter.take("10.0.0.1") for _ in range(3)] == [0.0] * 3
    assert limiter.take("10.0.0.1") == pytest.approx(20.0)
    assert [limiter.take("10.0.0.2") for _ in range(2)] == [0.0] * 2
    assert limiter.take("10.0.0.3") == pytest.approx(0.5)  # the process burst (5) is spent
    clock.now += 0.5
    assert limiter.take("10.0.0.3") == 0.0
    assert limiter.take("10.0.0.4") > 0


def test_registration_pacing_can_be_turned_off() -> None:
    limiter = RegistrationLimiter(rate=0, burst=1, per_address=1, window=60, clock=FakeClock())
    assert all(limiter.take("10.0.0.1") == 0.0 for _ in range(100))


def test_refusals_are_logged_at_a_bounded_rate(caplog: pytest.LogCaptureFixture) -> None:
    """At most ``burst`` lines per kind per interval, then one summary line with the count."""
    clock = FakeClock()
    log = KindLog(logging.getLogger("test.refusals"), burst=3, interval=60, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.refusals"):
        for n in range(1000):
            log.log(logging.WARNING, "auth", "refused %d", n)
        log.log(logging.INFO, "other", "other kind")
        assert [r.getMessage() for r in caplog.records] == [
            "refused 0",
            "refused 1",
            "refused 2",
            "other kind",
        ]
        clock.now += 61
        log.log(logging.WARNING, "auth", "refused again")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[4:] == [
        "auth repeated 997 times in the last 61 s (last: refused 999)",
        "refused again",
    ]
    assert log.limiter.counters.suppressed == 997


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CSMS_AUTH_FAILURES_PER_ADDRESS", "0"),
        ("CSMS_AUTH_FAILURES_PER_IDENTITY", "-1"),
        ("CSMS_UNKNOWN_IDENTITY_FAILURES_PER_ADDRESS", "0"),
        ("CSMS_AUTH_FAILURE_WINDOW", "0"),
        ("CSMS_REGISTRATION_RATE", "-1"),
        ("CSMS_REGISTRATION_RATE", "nan"),
        ("CSMS_REGISTRATION_BURST", "0"),
        ("CSMS_REGISTRATIONS_PER_ADDRESS", "0"),
        ("CSMS_MAX_PENDING_REGISTRATIONS", "0"),
        ("CSMS_MAX_PENDING_REGISTRATIONS", "many"),
    ],
)
def test_bad_budgets_are_refused_with_the_setting_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


def test_budget_settings_are_read_from_the_environment() -> None:
    server = load_settings(
        {"CSMS_REGISTRATION_RATE": "0", "CSMS_MAX_PENDING_REGISTRATIONS": "50"}
    ).server
    assert server.registration_rate == 0.0 and server.max_pending_registrations == 50
    assert server.unknown_identity_failures_per_address == 20
