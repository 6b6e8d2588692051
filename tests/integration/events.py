"""Helpers of the event tests and benchmarks: an SSE reader over httpx streaming and a webhook
receiver (a raw ASGI app on uvicorn) on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import uvicorn

from csms.container import _EmbeddedUvicorn


@dataclasses.dataclass
class SseMessage:
    id: str | None
    event: str | None
    data: dict[str, Any]


class SseReader:
    """Reads ``id``/``event``/``data`` messages from a streaming httpx response (comments and
    keepalives skipped; ``comments`` counts them)."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()
        self.comments = 0

    async def next(self, timeout: float = 10.0) -> SseMessage:
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> SseMessage:
        fields: dict[str, str] = {}
        data: list[str] = []
        async for line in self._lines:
            if not line:
                if data:
                    return SseMessage(
                        fields.get("id"), fields.get("event"), orjson.loads("\n".join(data))
                    )
                continue
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
        raise EOFError("the stream ended")

    async def take(self, count: int, timeout: float = 10.0) -> list[SseMessage]:
        return [await self.next(timeout) for _ in range(count)]


@dataclasses.dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclasses.dataclass
class Receiver:
    url: str
    received: list[Received]
    status: list[int]  # the answer to give (mutable: tests change it)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.received)} of {count} webhooks received")
            await asyncio.sleep(0.01)
        return self.received


@contextlib.asynccontextmanager
async def webhook_receiver(
    status: int = 200, *, on_request: Callable[[Received], None] | None = None
) -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1 answering ``status`` (changeable via ``.status[0]``)."""
    received: list[Received] = []
    answer = [status]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        item = Received(
            {k.decode().lower(): v.decode() for k, v in scope["headers"]}, body, time.monotonic()
        )
        received.append(item)
        if on_request is not None:
            on_request(item)
        await send({"type": "http.response.start", "status": answer[0], "headers": []})
        await send({"type": "http.response.body", "body": b""})

    server = _EmbeddedUvicorn(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off",
                       access_log=False)
    )  # fmt: skip
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn sets a flag, no event
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Receiver(f"http://127.0.0.1:{port}/hook", received, answer)
    finally:
        server.should_exit = True
        await task
