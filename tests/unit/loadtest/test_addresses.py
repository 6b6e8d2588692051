"""Spreading stations over worker processes and 127.x.y.z source addresses."""

from __future__ import annotations

import pytest

from csms.loadtest.addresses import (
    addresses_needed,
    is_loopback_host,
    loopback_address,
    source_address,
    worker_indices,
)


def test_loopback_addresses_skip_network_and_broadcast_hosts() -> None:
    assert loopback_address(0) == "127.0.0.1"
    assert loopback_address(253) == "127.0.0.254"
    assert loopback_address(254) == "127.0.1.1"
    assert loopback_address(254 * 256) == "127.1.0.1"
    with pytest.raises(ValueError, match="out of range"):
        loopback_address(-1)


def test_stations_fill_one_address_before_the_next() -> None:
    per = 10_000
    assert source_address(0, per, None, loopback=True) == "127.0.0.1"
    assert source_address(9_999, per, None, loopback=True) == "127.0.0.1"
    assert source_address(10_000, per, None, loopback=True) == "127.0.0.2"
    assert source_address(45_000, per, None, loopback=True) == "127.0.0.5"
    assert addresses_needed(45_000, per) == 5
    assert addresses_needed(1, per) == 1


def test_no_binding_for_remote_targets_unless_addresses_are_given() -> None:
    assert source_address(5, 2, None, loopback=False) is None
    pool = ("10.0.0.1", "10.0.0.2")
    assert [source_address(i, 2, pool, loopback=False) for i in range(6)] == [
        "10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.1", "10.0.0.1",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="positive"):
        source_address(0, 0, None, loopback=True)


def test_no_address_holds_more_stations_than_ephemeral_ports() -> None:
    per = 10_000
    counts: dict[str | None, int] = {}
    for i in range(100_000):
        address = source_address(i, per, None, loopback=True)
        counts[address] = counts.get(address, 0) + 1
    assert len(counts) == 10
    assert max(counts.values()) == per


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.3.2.1", True), ("localhost", True), ("10.1.1.1", False),
     ("::1", False), ("csms.example.com", False)],
)  # fmt: skip
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_workers_split_round_robin_and_cover_every_station_once() -> None:
    slices = [list(worker_indices(10, 3, w)) for w in range(3)]
    assert slices == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert sorted(i for s in slices for i in s) == list(range(10))
    with pytest.raises(ValueError, match="worker"):
        worker_indices(10, 3, 3)
