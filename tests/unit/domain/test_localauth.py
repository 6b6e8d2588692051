"""Local list rules: splitting to the station's limits and applying Differential updates."""

from __future__ import annotations

import pytest

from csms.domain.localauth import AuthorizationStatus, LocalListEntry, apply_differential, split


def test_split_by_count() -> None:
    assert split(list(range(7)), max_items=3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert split(list(range(6)), max_items=3) == [[0, 1, 2], [3, 4, 5]]
    assert split(list(range(2)), max_items=None) == [[0, 1]]


def test_an_empty_list_is_one_empty_message() -> None:
    """A Full update without entries clears the station's list (1.6 §6.41)."""
    assert split([], max_items=5) == [[]]


def test_split_by_bytes_counts_the_message_overhead_and_separators() -> None:
    items = ["aaaa", "bbbb", "cccc"]
    # overhead 10 + (4+1) + (4+1) = 20 fits; a third item would make 25.
    assert split(items, max_items=None, max_bytes=20, size=len, overhead=10) == [
        ["aaaa", "bbbb"],
        ["cccc"],
    ]
    assert split(items, max_items=1, max_bytes=1000, size=len) == [["aaaa"], ["bbbb"], ["cccc"]]


def test_an_item_too_big_alone_still_gets_its_own_message() -> None:
    assert split(["x" * 50, "y"], max_items=None, max_bytes=10, size=len) == [["x" * 50], ["y"]]


def test_split_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        split([1], max_items=0)


def test_apply_differential_adds_replaces_and_removes() -> None:
    target = [LocalListEntry("A"), LocalListEntry("B"), LocalListEntry("C")]
    changes = [
        LocalListEntry("B", AuthorizationStatus.BLOCKED),
        LocalListEntry("C", None),
        LocalListEntry("D"),
        LocalListEntry("Z", None),  # removing an unknown identifier changes nothing
    ]
    merged = apply_differential(target, changes)
    assert [(e.id_token, e.status) for e in merged] == [
        ("A", AuthorizationStatus.ACCEPTED),
        ("B", AuthorizationStatus.BLOCKED),
        ("D", AuthorizationStatus.ACCEPTED),
    ]
    assert LocalListEntry("C", None).removes
