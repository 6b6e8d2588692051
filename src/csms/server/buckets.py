"""Moved to :mod:`csms.domain.buckets` (the API's login throttle uses the same arithmetic)."""

from csms.domain.buckets import DEFAULT_MAX_KEYS, KeyedBuckets

__all__ = ["DEFAULT_MAX_KEYS", "KeyedBuckets"]
