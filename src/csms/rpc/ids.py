"""Message id factories: unique per station identity across connections (2.0.1 errata Part4 4.2)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable

MessageIdFactory = Callable[[], str]


def _random_id() -> str:
    return os.urandom(16).hex()


def random_ids() -> MessageIdFactory:
    """Return a factory of 32-hex-digit random ids (a UUID4's entropy, without its formatting cost).

    One function shared by every session: a closure per session would be ~150 bytes more per
    connected station."""
    return _random_id


def counter_ids(prefix: str = "m") -> MessageIdFactory:
    """Return a factory of predictable ids, for tests."""
    counter = itertools.count(1)

    def factory() -> str:
        return f"{prefix}{next(counter)}"

    return factory
