"""The minimal WebSocket client: upgrade checks and framing (RFC 6455), fed bytes directly."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from csms.loadtest.wsclient import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    WsClient,
    encode_frame,
    handshake_request,
    parse_response_head,
    parse_retry_after,
)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Recorder:
    """Listener and transport in one: records what the client reports and writes."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.written: list[bytes] = []
        self.closed = False
        self.retry_after: float | None = None
        self.aborted = False

    def ws_open(self) -> None:
        self.events.append(("open", None))

    def ws_message(self, data: bytes) -> None:
        self.events.append(("message", data))

    def ws_failed(self, reason: str, retry_after: float | None = None) -> None:
        self.events.append(("failed", reason))
        self.retry_after = retry_after

    def ws_closed(self) -> None:
        self.events.append(("closed", None))

    # transport side
    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = self.aborted = True


def _client(subprotocol: str = "ocpp1.6") -> tuple[WsClient, Recorder, bytes]:
    rec = Recorder()
    request, accept = handshake_request("h:1", "/ocpp/cs1", subprotocol, "Basic eDp5")
    client = WsClient(rec, request, accept, subprotocol, random.Random(1))
    client.connection_made(rec)  # type: ignore[arg-type]
    return client, rec, accept


def _response(accept: bytes, subprotocol: str = "ocpp1.6", status: str = "101") -> bytes:
    return (
        f"HTTP/1.1 {status} Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept.decode()}\r\nSec-WebSocket-Protocol: {subprotocol}\r\n\r\n"
    ).encode()


def _server_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    length = len(payload)
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        return bytes((first, length)) + payload
    return bytes((first, 126)) + length.to_bytes(2, "big") + payload


def _unmask(frame: bytes) -> tuple[int, bytes]:
    length = frame[1] & 0x7F
    offset = 2
    if length == 126:
        length = int.from_bytes(frame[2:4], "big")
        offset = 4
    mask = frame[offset : offset + 4]
    body = frame[offset + 4 : offset + 4 + length]
    return frame[0] & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(body))


def test_request_carries_key_subprotocol_and_auth_and_accept_is_rfc_6455() -> None:
    request, accept = handshake_request("h:1", "/ocpp/cs1", "ocpp2.0.1", "Basic eDp5")
    head = request.decode()
    assert head.startswith("GET /ocpp/cs1 HTTP/1.1\r\n") and head.endswith("\r\n\r\n")
    assert "Sec-WebSocket-Protocol: ocpp2.0.1\r\n" in head
    assert "Authorization: Basic eDp5\r\n" in head
    key = head.split("Sec-WebSocket-Key: ")[1].split("\r\n")[0].encode()
    assert accept == base64.b64encode(hashlib.sha1(key + GUID).digest())


def test_upgrade_then_messages_ping_and_close() -> None:
    client, rec, accept = _client()
    client.data_received(_response(accept)[:20])
    assert rec.events == []
    big = b"x" * 300
    client.data_received(_response(accept)[20:] + _server_frame(OP_TEXT, b'[3,"1",{}]'))
    client.data_received(_server_frame(OP_TEXT, big)[:50])
    client.data_received(_server_frame(OP_TEXT, big)[50:])
    assert rec.events == [("open", None), ("message", b'[3,"1",{}]'), ("message", big)]
    client.data_received(_server_frame(OP_PING, b"hi"))
    assert _unmask(rec.written[-1]) == (OP_PONG, b"hi")
    client.send(b'[2,"2","Heartbeat",{}]')
    assert _unmask(rec.written[-1]) == (OP_TEXT, b'[2,"2","Heartbeat",{}]')
    client.data_received(_server_frame(OP_CLOSE, (1001).to_bytes(2, "big")))
    assert _unmask(rec.written[-1]) == (OP_CLOSE, (1001).to_bytes(2, "big"))
    assert rec.closed


def test_fragmented_message_is_reassembled() -> None:
    client, rec, accept = _client()
    client.data_received(
        _response(accept)
        + _server_frame(OP_TEXT, b"[3,", fin=False)
        + _server_frame(0, b'"1",', fin=False)
        + _server_frame(0, b"{}]")
    )
    assert rec.events[-1] == ("message", b'[3,"1",{}]')


def test_refused_upgrade_and_wrong_accept_or_subprotocol_fail() -> None:
    for response, reason in (
        (lambda a: _response(a, status="401"), "http_401"),
        (lambda a: _response(b"bogus"), "bad_accept"),
        (lambda a: _response(a, subprotocol="ocpp2.1"), "no_subprotocol"),
    ):
        client, rec, accept = _client()
        client.data_received(response(accept))
        assert rec.events == [("failed", reason)]
        assert rec.closed


def test_503_and_429_report_their_retry_after_other_refusals_do_not() -> None:
    for status, header, expected in (
        ("503", "Retry-After: 7\r\n", 7.0),
        ("429", "Retry-After: 30\r\n", 30.0),
        ("503", "", None),
        ("401", "Retry-After: 7\r\n", None),
        ("503", "Retry-After: soon\r\n", None),
    ):
        client, rec, _ = _client()
        client.data_received(f"HTTP/1.1 {status} Busy\r\n{header}\r\n".encode())
        assert rec.events == [("failed", f"http_{status}")]
        assert rec.retry_after == expected
        assert rec.aborted  # a reset: no TIME_WAIT left on the load generator's side


def test_retry_after_http_date_is_seconds_from_now() -> None:
    later = datetime.now(UTC) + timedelta(seconds=120)
    wait = parse_retry_after(format_datetime(later, usegmt=True))
    assert wait is not None and 110 < wait <= 120
    assert parse_retry_after("Mon, 07 Dec 2020 00:00:00 GMT") == 0.0  # in the past: now
    assert parse_retry_after(None) is None


def test_hang_up_before_the_upgrade_is_a_failed_connection() -> None:
    client, rec, _ = _client()
    client.connection_lost(None)
    assert rec.events == [("failed", "closed_before_upgrade"), ("closed", None)]


def test_frame_lengths_and_response_head_parsing() -> None:
    mask = b"\x00\x00\x00\x00"
    assert encode_frame(OP_TEXT, b"a" * 125, mask)[1] == 0x80 | 125
    assert encode_frame(OP_TEXT, b"a" * 126, mask)[1] == 0x80 | 126
    assert encode_frame(OP_TEXT, b"a" * 70_000, mask)[1] == 0x80 | 127
    assert parse_response_head(b"HTTP/1.1 429 Too Many\r\nRetry-After: 5") == (
        429,
        {"retry-after": "5"},
    )
    assert parse_response_head(b"garbage")[0] == 0
