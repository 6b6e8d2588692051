"""Login budgets for operator accounts (``POST /api/v1/auth/login``; docs/behaviour.md "Operator
login throttle"; CWE-307).

Operator passwords are chosen by people, so unlike station keys (server/admission.py) a right
password cannot be admitted at any rate: that would make the throttle an oracle. Budgets are kept
per (account, address group) and per address group, never per account alone:

* a wrong password (or an unknown account name) is charged to its address group, and for a known
  account to the pair (account, address group);
* once either is spent, logins from that address group (to that account, or to any account) are
  answered 429 with Retry-After *before* the password is checked (no oracle, no argon2 work);
* an attacker hammering an account from elsewhere spends only their own pairs and address groups,
  so the account's owner logging in from another address is never locked out. The price is that a
  guesser with many addresses gets the pair budget from each; the memory-hard hash and the password
  policy are what make that hopeless, and the refusals are logged.

Addresses are grouped as in the station throttle (an IPv4 address, an IPv6 /64). Each table is
bounded (:class:`~csms.domain.buckets.KeyedBuckets`): eviction only refills a budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from csms.domain.buckets import DEFAULT_MAX_KEYS, KeyedBuckets, group_key


class LoginThrottle:
    """Failed-login budgets per (account, address group) and per address group."""

    def __init__(
        self,
        *,
        failures_per_account_address: int,
        failures_per_address: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self._pairs = KeyedBuckets(
            capacity=failures_per_account_address, window=window, clock=clock, max_keys=max_keys
        )
        self._addresses = KeyedBuckets(
            capacity=failures_per_address, window=window, clock=clock, max_keys=max_keys
        )

    def wait(self, account: str, address: str) -> float:
        """Seconds before a login to ``account`` from ``address`` may be tried; 0.0 = now."""
        group = group_key(address)
        return max(self._pairs.wait((account, group)), self._addresses.wait(group))

    def failed(self, account: str | None, address: str) -> None:
        """Charge a wrong password (``account`` None: no such account, charged to the address)."""
        group = group_key(address)
        self._addresses.charge(group)
        if account is not None:
            self._pairs.charge((account, group))

    def sizes(self) -> tuple[int, int]:
        """Keys held (pairs, address groups)."""
        return len(self._pairs), len(self._addresses)
