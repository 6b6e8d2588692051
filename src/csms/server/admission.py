"""Handshake budgets: failed logins, requests for unknown identities, and self-registrations.

Policy (docs/behaviour.md, "Handshake throttle"; CWE-307):

* Credentials are checked first. Station passwords are random keys of 16–40 bytes stored as salted
  SHA-256 (domain/credentials.py), so checking one costs about as much as refusing it, and online
  guessing is hopeless at any rate a server can answer. So a right password is always admitted:
  nobody can lock an honest station out by spending a budget it shares.
* A wrong or missing password for a registered identity is charged to that identity (from any
  address) and to the source address group. Once either is spent, wrong passwords get 429 with
  Retry-After instead of 401 (nothing else is revealed) until the bucket refills.
* A request for an identity that is not registered (404, or an unknown station's unusable
  first password) is charged to a separate per-address budget, so scanning identities spends no
  budget of a registered station and is answered 429 only on requests for unknown identities.
* Self-registration (``--unknown-stations pending|accept``) is paced per process (a rate with a
  small burst) and per address group.

Addresses are grouped as one IPv4 address, or one IPv6 /64 (a single subscriber usually owns a
whole /64); an IPv4-mapped IPv6 address counts as its IPv4 address. Every budget is a bounded table
of token buckets (:mod:`csms.domain.buckets`), so a peer with many identities or addresses cannot
grow memory without limit.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from csms.config import ServerSettings
from csms.domain.buckets import DEFAULT_MAX_KEYS, IPV6_GROUP_MARK, KeyedBuckets, group_key
from csms.domain.credentials import WeakPassword, check_password_strength, hash_password
from csms.log import KindLog


def address_group(address: str) -> str:
    """The budget group of a source address: IPv4 as is, IPv6 by /64, IPv4-mapped IPv6 as IPv4."""
    key = group_key(address)
    if isinstance(key, str):
        return key
    if key >> 64:
        return str(ipaddress.IPv6Network(((key ^ IPV6_GROUP_MARK) << 64, 64)))
    return str(ipaddress.IPv4Address(key))


class HandshakeThrottle:
    """Budgets for failed logins (per identity and per address) and unknown identities."""

    def __init__(
        self,
        *,
        failures_per_address: int,
        failures_per_identity: int,
        unknown_per_address: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self._per_address = KeyedBuckets(
            capacity=failures_per_address, window=window, clock=clock, max_keys=max_keys
        )
        # Keyed by registered identities only: a guesser cannot add keys for made-up ones.
        self._per_identity = KeyedBuckets(
            capacity=failures_per_identity, window=window, clock=clock, max_keys=max_keys
        )
        self._unknown = KeyedBuckets(
            capacity=unknown_per_address, window=window, clock=clock, max_keys=max_keys
        )

    def login(self, identity: str, address: str, *, authenticated: bool) -> float:
        """Judge a login to a registered identity: 0.0 lets its own answer stand (admit, or 401);
        otherwise the seconds to send in a 429's Retry-After.

        A right password is never throttled. A wrong one is charged to the identity and the
        address group unless one of them is already spent, in which case it is refused 429.
        """
        if authenticated:
            return 0.0
        group = group_key(address)
        wait = max(self._per_identity.wait(identity), self._per_address.wait(group))
        if wait == 0.0:
            self._per_identity.charge(identity)
            self._per_address.charge(group)
        return wait

    def unknown_identity(self, address: str) -> float:
        """Charge a refused request for an unregistered identity: 0.0 → its own answer, else 429."""
        return self._unknown.take(group_key(address))

    def sizes(self) -> tuple[int, int, int]:
        """Keys held per table (per address, per identity, unknown per address)."""
        return len(self._per_address), len(self._per_identity), len(self._unknown)


class RegistrationLimiter:
    """Paces self-registration of unknown stations: per process and per address group.

    ``rate`` 0 turns pacing off (a lab csms that load tests register thousands of stations).
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        per_address: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self._process: KeyedBuckets | None = None
        if rate > 0:
            self._process = KeyedBuckets(
                capacity=burst, window=burst / rate, clock=clock, max_keys=1
            )
        self._per_address = KeyedBuckets(
            capacity=per_address, window=window, clock=clock, max_keys=max_keys
        )

    def take(self, address: str) -> float:
        """Reserve one registration for ``address``: 0.0 if allowed, else seconds to wait (429)."""
        if self._process is None:
            return 0.0
        group = group_key(address)
        wait = max(self._process.wait(None), self._per_address.wait(group))
        if wait == 0.0:
            self._process.charge(None)
            self._per_address.charge(group)
        return wait


@dataclass(frozen=True, slots=True)
class Admission:
    """Everything the OCPP listener consults before it upgrades a connection."""

    throttle: HandshakeThrottle
    registrations: RegistrationLimiter
    refusals: KindLog  # refused handshakes: 10 lines per kind per window, then a count

    def registration_wait(self, identity: str, address: str, transport: str = "") -> float:
        """Seconds an unknown station from ``address`` must wait before it may register (0: it
        may now, and has spent its share of the registration budget); a refusal is logged."""
        wait = self.registrations.take(address)
        if wait:
            self.refusals.log(
                logging.WARNING,
                "registration rate limit",
                "unknown %sstation %r from %s refused (429): registration rate limit",
                transport,
                identity,
                address,
            )
        return wait

    @classmethod
    def from_settings(
        cls,
        settings: ServerSettings,
        logger: logging.Logger,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> Admission:
        """Build the budgets of ``settings`` (see :class:`csms.config.ServerSettings`)."""
        return cls(
            throttle=HandshakeThrottle(
                failures_per_address=settings.auth_failures_per_address,
                failures_per_identity=settings.auth_failures_per_identity,
                unknown_per_address=settings.unknown_identity_failures_per_address,
                window=settings.auth_failure_window,
                clock=clock,
            ),
            registrations=RegistrationLimiter(
                rate=settings.registration_rate,
                burst=settings.registration_burst,
                per_address=settings.registrations_per_address,
                window=settings.auth_failure_window,
                clock=clock,
            ),
            refusals=KindLog(logger, burst=10, interval=settings.auth_failure_window, clock=clock),
        )


def first_use_password_hash(password: bytes | None) -> str | None:
    """Trust on first use: the hash the first password an unknown station presents is kept as;
    None when it presented none or a weak one (the caller refuses it, 401)."""
    if password is None:
        return None
    try:
        check_password_strength(password)
    except WeakPassword:
        return None
    return hash_password(password)
