"""Unit tests of csms.rpc.versions (subprotocol negotiation) and csms.rpc.ids."""

from __future__ import annotations

import re

import pytest

from csms.rpc import ALL_VERSIONS, OcppVersion, select_subprotocol
from csms.rpc.frames import MAX_MESSAGE_ID_LENGTH
from csms.rpc.ids import counter_ids, random_ids

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21


def test_subprotocol_names_are_the_iana_names() -> None:
    """1.6 §3.1.2 Table 1; 2.1 Part 4 §3.1.2 Table 1: ocpp1.6, ocpp2.0.1, ocpp2.1."""
    assert [v.subprotocol for v in OcppVersion] == ["ocpp1.6", "ocpp2.0.1", "ocpp2.1"]
    assert [str(v) for v in OcppVersion] == ["1.6", "2.0.1", "2.1"]


def test_only_16_is_not_2x() -> None:
    """2.0.1 Part 4 Table 8 vs 1.6 Table 7: 2.0.1 and 2.1 share the 2.x error codes."""
    assert [v.is_2x for v in OcppVersion] == [False, True, True]


@pytest.mark.parametrize("version", list(OcppVersion))
def test_from_subprotocol_inverts_subprotocol(version: OcppVersion) -> None:
    """2.1 Part 4 §3.1.2: the subprotocol name identifies the version."""
    assert OcppVersion.from_subprotocol(version.subprotocol) is version


@pytest.mark.parametrize(
    "name", ["ocpp1.2", "ocpp1.5", "ocpp2.0", "OCPP1.6", "ocpp1.6 ", "1.6", "", "ocpp"]
)
def test_from_subprotocol_rejects_names_csms_does_not_speak(name: str) -> None:
    """1.6 §3.1.2 Table 1: 1.2, 1.5 and 2.0 are registered names csms does not implement."""
    assert OcppVersion.from_subprotocol(name) is None


def test_all_versions_lists_each_version_once_newest_first() -> None:
    """2.1 Part 4 §3.2: a 2.1 CSMS is RECOMMENDED to also support 2.0.1 (and csms keeps 1.6)."""
    assert ALL_VERSIONS == (V21, V201, V16)


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        (["ocpp1.6"], V16),
        (["ocpp2.0.1"], V201),
        (["ocpp2.1"], V21),
        (["ocpp2.1", "ocpp2.0.1", "ocpp1.6"], V21),
        (["ocpp1.6", "ocpp2.1"], V16),
        (["ocpp2.0.1", "ocpp2.1", "ocpp1.6"], V201),
    ],
)
def test_first_offered_supported_subprotocol_wins(
    offered: list[str], expected: OcppVersion
) -> None:
    """1.6 §3.1.3; 2.1 Part 4 §3.1.2: the station lists its versions in preference order."""
    assert select_subprotocol(offered) is expected


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        (["ocpp0.1", "ocpp1.6"], V16),
        (["ocpp2.0", "ocpp1.5", "ocpp2.0.1"], V201),
        (["", "OCPP2.1", "ocpp2.1"], V21),
    ],
)
def test_unsupported_offers_are_skipped(offered: list[str], expected: OcppVersion) -> None:
    """ocpp-rules.md §6 test 3 (TC_088_CSMS): `ocpp0.1, ocpp1.6` negotiates exactly ocpp1.6."""
    assert select_subprotocol(offered) is expected


@pytest.mark.parametrize("offered", [[" ocpp2.0.1"], ["ocpp2.0.1 "], ["\tocpp2.0.1\t"]])
def test_whitespace_around_an_offer_is_ignored(offered: list[str]) -> None:
    """RFC 6455 §4.1 / 1.6 §3.1.3: the header is a comma-separated list with optional spaces."""
    assert select_subprotocol(offered) is V201


@pytest.mark.parametrize("offered", [[], ["ocpp0.1"], ["ocpp1.5", "ocpp2.0"], ["OCPP1.6"]])
def test_no_acceptable_offer_selects_nothing(offered: list[str]) -> None:
    """1.6 §3.2; 2.0.1 Part 4 §3.2: no agreed subprotocol means no OCPP session."""
    assert select_subprotocol(offered) is None


def test_server_subset_limits_the_choice() -> None:
    """2.0.1 Part 4 §3.2: the CSMS agrees only to subprotocols it is willing to use."""
    offered = ["ocpp2.1", "ocpp2.0.1", "ocpp1.6"]
    assert select_subprotocol(offered, supported=(V16,)) is V16
    assert select_subprotocol(offered, supported=(V16, V201)) is V201
    assert select_subprotocol(["ocpp2.1"], supported=(V16, V201)) is None
    assert select_subprotocol(offered, supported=()) is None


def test_server_preference_order_does_not_override_the_station_order() -> None:
    """1.6 §3.1.3: the station's order of preference decides among mutually supported ones."""
    assert select_subprotocol(["ocpp1.6", "ocpp2.1"], supported=(V21, V16)) is V16


def test_any_iterable_of_offers_is_accepted() -> None:
    """versions.select_subprotocol takes an Iterable, e.g. a generator over the header."""
    header = "ocpp0.1, ocpp2.0.1, ocpp1.6"
    assert select_subprotocol(name for name in header.split(",")) is V201


def test_counter_ids_are_predictable_and_prefixed() -> None:
    """ids.counter_ids: tests get the ids m1, m2, … in order."""
    ids = counter_ids()
    assert [ids(), ids(), ids()] == ["m1", "m2", "m3"]
    other = counter_ids("csms-")
    assert [other(), other()] == ["csms-1", "csms-2"]


def test_counter_ids_factories_are_independent() -> None:
    """ids.counter_ids: each factory has its own counter."""
    first, second = counter_ids(), counter_ids()
    assert (first(), first(), second()) == ("m1", "m2", "m1")


def test_random_ids_are_unique_hex_within_the_36_character_limit() -> None:
    """1.6 Table 3; 2.0.1 errata Part 4 4.2: ids fit string[36] and are never reused."""
    ids = random_ids()
    seen = {ids() for _ in range(10_000)}
    assert len(seen) == 10_000
    for mid in list(seen)[:100]:
        assert re.fullmatch(r"[0-9a-f]{32}", mid)
        assert len(mid) <= MAX_MESSAGE_ID_LENGTH
