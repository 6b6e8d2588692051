"""A minimal RFC 6455 WebSocket client as an asyncio Protocol, for tens of thousands of stations.

Why not the websockets client: it gives each connection a reader task, a message assembler and
keepalive machinery, which is right for an application and too heavy for a fleet simulator. Here a
connection is one Protocol object with one receive buffer; frames reach the station by callback.
What it does: the HTTP/1.1 upgrade (RFC 6455 §4.1, checking Sec-WebSocket-Accept and the
subprotocol), masked client frames (§5.3), fragmented messages (§5.4), ping → pong (§5.5.2), and the
close handshake (§5.5.1). No extensions (no compression is offered), no TLS-specific code (the loop
does TLS when given an SSL context).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol, cast

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - pure-Python fallback when the C extension is absent
    from websockets.utils import apply_mask

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEAD = 16 * 1024
MAX_MESSAGE = 1 << 20
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class WsListener(Protocol):
    """What a connection reports to its owner (a simulated station)."""

    def ws_open(self) -> None:
        """The upgrade succeeded; frames may be sent."""

    def ws_message(self, data: bytes) -> None:
        """A complete text or binary message arrived."""

    def ws_failed(self, reason: str, retry_after: float | None = None) -> None:
        """The upgrade failed (``http_<status>``, ``bad_accept``, ``no_subprotocol`` ...);
        ``retry_after``: the seconds of a 503/429 answer's Retry-After header, if it had one."""

    def ws_closed(self) -> None:
        """The TCP connection is gone (after open or not)."""


def handshake_request(
    host: str, path: str, subprotocol: str, authorization: str | None
) -> tuple[bytes, bytes]:
    """Return the upgrade request and the Sec-WebSocket-Accept value the server must send."""
    key = base64.b64encode(os.urandom(16))
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key.decode()}",
        "Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Protocol: {subprotocol}",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), accept


def parse_response_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Return the status code and the (lower-cased) headers of an HTTP/1.1 response head."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return 0, {}
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date (RFC 9110
    §10.2.3); None when absent or unreadable (the station then uses its own back-off)."""
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def encode_frame(opcode: int, payload: bytes, mask: bytes) -> bytes:
    """One final client frame: FIN + opcode, MASK bit and length (RFC 6455 §5.2), masked payload."""
    length = len(payload)
    if length < 126:
        head = bytes((0x80 | opcode, 0x80 | length))
    elif length < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    return head + mask + apply_mask(payload, mask)


class WsClient(asyncio.Protocol):
    """One client connection; reports to a :class:`WsListener`."""

    __slots__ = (
        "_accept",
        "_buf",
        "_close_sent",
        "_failed",
        "_fragments",
        "_listener",
        "_open",
        "_request",
        "_rng",
        "_subprotocol",
        "transport",
    )

    def __init__(
        self,
        listener: WsListener,
        request: bytes,
        accept: bytes,
        subprotocol: str,
        rng: random.Random,
    ) -> None:
        self._listener = listener
        self._request = request
        self._accept = accept.decode()
        self._subprotocol = subprotocol
        self._rng = rng
        self._buf = bytearray()
        self._open = False
        self._failed = False
        self._close_sent = False
        self._fragments: bytearray | None = None
        self.transport: asyncio.Transport | None = None

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass
        self.transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if not self._open and not self._read_head():
            return
        self._read_frames()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._open and not self._failed:  # the server hung up before answering the upgrade
            self._failed = True
            self._listener.ws_failed("closed_before_upgrade")
        self.transport = None
        self._buf = bytearray()
        self._listener.ws_closed()

    # ------------------------------------------------------------------ sending

    def send(self, data: bytes, opcode: int = OP_TEXT) -> None:
        """Send one message as a single masked frame (no-op once closing)."""
        if self.transport is None or self._close_sent:
            return
        mask = self._rng.getrandbits(32).to_bytes(4, "big")
        self.transport.write(encode_frame(opcode, data, mask))

    def close(self, code: int = 1000) -> None:
        """Start the close handshake; the server closes TCP after echoing (RFC 6455 §7.1.1)."""
        if self.transport is None:
            return
        if self._open and not self._close_sent:
            self.send(code.to_bytes(2, "big"), OP_CLOSE)
            self._close_sent = True
        else:
            self.transport.close()

    def abort(self) -> None:
        """Drop the TCP connection now."""
        if self.transport is not None:
            self.transport.abort()

    # ------------------------------------------------------------------ receiving

    def _read_head(self) -> bool:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > _MAX_HEAD:
                self._fail("bad_response")
            return False
        status, headers = parse_response_head(bytes(self._buf[:end]))
        del self._buf[: end + 4]
        if status != 101:
            wait = parse_retry_after(headers.get("retry-after")) if status in (429, 503) else None
            self._fail(f"http_{status}", wait)
            return False
        if headers.get("sec-websocket-accept") != self._accept:
            self._fail("bad_accept")
            return False
        if headers.get("sec-websocket-protocol") != self._subprotocol:
            self._fail("no_subprotocol")
            return False
        self._open = True
        self._listener.ws_open()
        return True

    def _fail(self, reason: str, retry_after: float | None = None) -> None:
        """Report the failed upgrade and drop the connection with a reset, not a FIN: a refused
        upgrade needs no graceful close, and closing first would leave a TIME_WAIT on the load
        generator's source address per refused attempt, which every later bind() on that
        address must search past for a free port (a long storm of 503s piles them up)."""
        self._failed = True
        self._listener.ws_failed(reason, retry_after)
        if self.transport is not None:
            self.transport.abort()

    def _read_frames(self) -> None:
        buf = self._buf
        pos = 0
        size = len(buf)
        while size - pos >= 2 and self.transport is not None:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            mask = b""
            if b1 & 0x80:  # servers must not mask (§5.1); tolerate it anyway
                if size - pos < head + 4:
                    break
                mask = bytes(buf[pos + head : pos + head + 4])
                head += 4
            if length > MAX_MESSAGE:
                self._fail("message_too_big")
                return
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head : pos + head + length])
            pos += head + length
            if mask:
                payload = apply_mask(payload, mask)
            self._on_frame(bool(b0 & 0x80), b0 & 0x0F, payload)
        if pos:
            del buf[:pos]

    def _on_frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode in (OP_TEXT, OP_BINARY):
            if fin:
                self._listener.ws_message(payload)
            else:
                self._fragments = bytearray(payload)
        elif opcode == OP_CONT and self._fragments is not None:
            self._fragments += payload
            if fin:
                data, self._fragments = bytes(self._fragments), None
                self._listener.ws_message(data)
        elif opcode == OP_PING:
            self.send(payload, OP_PONG)
        elif opcode == OP_CLOSE:
            if not self._close_sent:
                self.send(payload[:2], OP_CLOSE)
                self._close_sent = True
            if self.transport is not None:
                self.transport.close()
