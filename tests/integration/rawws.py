"""A hand-made WebSocket client that completes the handshake and then does nothing at all.

It never reads, so it never answers pings: a dead or half-open peer, as the server sees it.
"""

from __future__ import annotations

import asyncio
import base64
import os


async def silent_client(
    host: str, port: int, path: str, *, subprotocol: str, authorization: str | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """Open a WebSocket, return the streams and the HTTP response head, then go silent."""
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Sec-WebSocket-Protocol: {subprotocol}",
    ]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    return reader, writer, head
