"""Which station runs in which worker process, from which source address.

One source address gives a client at most the kernel's ephemeral port range towards one server
address and port (``net.ipv4.ip_local_port_range``: 28,232 ports by default, 64k at most), and ports
in TIME_WAIT after a reconnect storm count against it too. On loopback every 127.x.y.z address is
local, so stations are spread over several of them (bind before connect), ``per_address`` stations
each. Against a remote CSMS the caller passes the addresses the machine really has.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

DEFAULT_STATIONS_PER_ADDRESS = 10_000
_PORT_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and any IPv4 127.0.0.0/8 address."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.version == 4 and address.is_loopback


def loopback_address(offset: int) -> str:
    """The ``offset``-th usable loopback address: 127.0.0.1, 127.0.0.2, ... skipping .0 and .255.

    254 usable addresses per /24, so offset 254 is 127.0.1.1.
    """
    if offset < 0 or offset >= 254 * 256 * 256:
        raise ValueError(f"loopback address offset out of range: {offset}")
    block, host = divmod(offset, 254)
    return f"127.{block >> 8}.{block & 0xFF}.{host + 1}"


def ephemeral_ports() -> int:
    """How many ephemeral ports one source address has (the kernel's range, else 28,232)."""
    try:
        low, high = (int(x) for x in _PORT_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return 28_232
    return high - low + 1


def source_address(
    index: int, per_address: int, pool: tuple[str, ...] | None, loopback: bool
) -> str | None:
    """The local address station ``index`` binds to, or None to let the kernel choose.

    ``pool`` (explicit addresses) wins; otherwise loopback targets get 127.x.y.z addresses,
    ``per_address`` stations each, and other targets the kernel's choice.
    """
    if per_address <= 0:
        raise ValueError("per_address must be positive")
    slot = index // per_address
    if pool:
        return pool[slot % len(pool)]
    if loopback:
        return loopback_address(slot)
    return None


def addresses_needed(stations: int, per_address: int) -> int:
    """How many source addresses ``stations`` stations use."""
    return max(1, -(-stations // per_address))


def worker_indices(stations: int, workers: int, worker: int) -> range:
    """The station indices worker ``worker`` of ``workers`` runs: round-robin (w, w+K, w+2K...).

    Round-robin keeps the global ramp order (station i starts at i / rate) while every worker
    starts at once, and the slices differ in size by at most one.
    """
    if workers <= 0 or not 0 <= worker < workers:
        raise ValueError(f"worker {worker} of {workers}")
    return range(worker, stations, workers)
