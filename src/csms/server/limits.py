"""Connection limits of the OCPP endpoint: a cap on open connections, a per-address cap on handshakes.

A station connection costs one file descriptor from TCP accept on. Without a cap, unfinished
handshakes hold the process at its open-files limit and then nothing, not even the HTTP API, can
connect (issue 7 finding 3). csms therefore keeps station connections below RLIMIT_NOFILE by a
reserve for the API, the database and files, and limits how many connections one address (IPv6:
one /64, the smallest block a site is given) may have in handshake at once, so that one source
cannot take every slot with slow handshakes. Everything here is plain bookkeeping, no I/O.
"""

from __future__ import annotations

import enum
import ipaddress
import resource
from collections.abc import Callable
from dataclasses import dataclass

from csms.domain.buckets import group_key
from csms.domain.load import ConnectionLoad

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Descriptors kept free for the HTTP API, the database pool, log and upload files: a tenth of the
# limit, at least 256 and at most 2,048 (never more than half of a tiny limit).
RESERVE_SHARE = 10
RESERVE_MIN = 256
RESERVE_MAX = 2048


def raise_nofile_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft == resource.RLIM_INFINITY:
        return 1_048_576
    if soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target


def descriptor_reserve(limit: int) -> int:
    """Descriptors kept for everything but station connections under an open-files ``limit``."""
    return min(max(RESERVE_MIN, limit // RESERVE_SHARE, 0), RESERVE_MAX, limit // 2)


def default_max_connections(limit: int) -> int:
    """Station connections allowed under an open-files ``limit``: the limit less the reserve."""
    return max(limit - descriptor_reserve(limit), 1)


class Refusal(enum.Enum):
    """Why a new connection was closed at accept."""

    AT_CAPACITY = "station connections at their maximum"
    ADDRESS_BUSY = "too many handshakes in progress from this address"


@dataclass(eq=False, slots=True)
class Ticket:
    """One admitted connection; released exactly once."""

    group: int | str  # the address group (csms.server.admission.group_key)
    in_handshake: bool = True
    released: bool = False
    # Its request was read and is being served (server/saturation.py counts these).
    working: bool = False
    # It waits in the station read (a pooled database connection or the read itself).
    reading: bool = False
    # Its HTTP request was read (judged by server/saturation.py: served or answered 503).
    read: bool = False
    # Counted in ConnectionLimits.unread_recent (just accepted, request not read yet).
    unread: bool = False


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated networks ("127.0.0.0/8,::1/128"); an empty string is none."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


class ConnectionLimits:
    """Counts open connections and handshakes in progress; admits or refuses new ones.

    Addresses in ``exempt`` networks (by default loopback: a proxy on the same host) are counted
    but not limited per address; the overall cap applies to every connection.
    """

    def __init__(
        self,
        max_connections: int,
        max_handshakes_per_address: int,
        exempt: tuple[IPNetwork, ...] = (),
    ) -> None:
        self.max_connections = max_connections
        self.max_handshakes_per_address = max_handshakes_per_address
        self._exempt = exempt
        self._open = 0
        self._handshakes: dict[int | str, int] = {}
        self._in_handshake = 0
        self._working = 0  # handshakes whose request is being served (server/saturation.py)
        self._reading = 0  # of those, waiting in the station read (pool queue included)
        # Connections the acceptor took within its grace whose request is not read yet: kept
        # as a count so that its pause check is O(1) per accept (a scan was O(burst)).
        self.unread_recent = 0
        # Called when a handshake stops counting (checks over, upgraded, closed): the acceptor
        # resumes accepting at once instead of at its next poll.
        self.on_free: Callable[[], None] | None = None

    def admit(self, address: str) -> Ticket | Refusal:
        """Take a slot for a connection from ``address``, or say why there is none."""
        if self._open >= self.max_connections:
            return Refusal.AT_CAPACITY
        group = group_key(address)
        if self._handshakes.get(group, 0) >= self.max_handshakes_per_address and not self._exempted(
            address
        ):
            return Refusal.ADDRESS_BUSY
        self._open += 1
        self._in_handshake += 1
        self._handshakes[group] = self._handshakes.get(group, 0) + 1
        return Ticket(group)

    def _exempted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self._exempt)

    @property
    def working(self) -> int:
        """Handshakes whose request is being checked: station read, authentication,
        registration. A client that has sent nothing yet, or is slow to take its answer, costs
        no CPU and is not counted (so slow or silent sockets cannot make csms refuse everyone)."""
        return self._working

    @property
    def reading(self) -> int:
        """Handshakes waiting in the station read: for a pooled database connection or in the
        read itself (server/saturation.py)."""
        return self._reading

    @property
    def in_handshake(self) -> int:
        """Connections accepted and not upgraded (nor refused) yet."""
        return self._in_handshake

    def start_read(self, ticket: Ticket) -> None:
        """The handshake's station read starts (it may wait for a pooled connection)."""
        if not ticket.reading:
            ticket.reading = True
            self._reading += 1

    def end_read(self, ticket: Ticket) -> None:
        """The station read is over (read, or failed)."""
        if ticket.reading:
            ticket.reading = False
            self._reading -= 1
            self._freed()

    def _freed(self) -> None:
        if self.on_free is not None:
            self.on_free()

    def request_read(self, ticket: Ticket) -> None:
        """The handshake's request was read (served or answered 503): the acceptor may take the
        next connection (server/acceptor.py counts the ones accepted and not read yet)."""
        if not ticket.read:
            ticket.read = True
            self.forget_unread(ticket)
            self._freed()

    def count_unread(self, ticket: Ticket) -> None:
        """The acceptor just took this connection; its request is not read yet."""
        if not ticket.unread and not ticket.read and ticket.in_handshake:
            ticket.unread = True
            self.unread_recent += 1

    def forget_unread(self, ticket: Ticket) -> None:
        """Read, out of its handshake, or past the acceptor's grace: no longer counted."""
        if ticket.unread:
            ticket.unread = False
            self.unread_recent -= 1

    def start_work(self, ticket: Ticket) -> None:
        """The handshake's request was read; its checks (station read, authentication,
        registration, duplicate probe) run from now until :meth:`end_work`."""
        if ticket.in_handshake and not ticket.working:
            ticket.working = True
            self._working += 1

    def end_work(self, ticket: Ticket) -> None:
        """The handshake's checks are over (its answer is being sent)."""
        self.end_read(ticket)
        if ticket.working:
            ticket.working = False
            self._working -= 1
            self._freed()

    def handshake_done(self, ticket: Ticket) -> None:
        """The connection finished its handshake (upgraded or refused); it stays open."""
        if not ticket.in_handshake:
            return
        ticket.in_handshake = False
        self._in_handshake -= 1
        self.forget_unread(ticket)
        self.end_work(ticket)
        left = self._handshakes[ticket.group] - 1
        if left:
            self._handshakes[ticket.group] = left
        else:
            del self._handshakes[ticket.group]
        self._freed()

    def release(self, ticket: Ticket) -> None:
        """The connection is closed."""
        if ticket.released:
            return
        self.handshake_done(ticket)
        ticket.released = True
        self._open -= 1

    def load(self, *, accept_errors: bool = False, paused: str | None = None) -> ConnectionLoad:
        """Counters for the health report; saturated at the cap or while accept fails;
        ``paused``: why accept() waits now (server/saturation.py), None if it does not."""
        return ConnectionLoad(
            open=self._open,
            in_handshake=self._in_handshake,
            max=self.max_connections,
            saturated=accept_errors or self._open >= self.max_connections,
            reading=self._reading,
            accepting_paused=paused,
        )
