"""Streaming extraction of the first file of a ``multipart/form-data`` body (RFC 7578).

Stations upload diagnostics with HTTP PUT (raw body) or POST; a POST is often a form with the file
in one part (libcurl's ``-F file=@diag.zip``). This reads such a body as it arrives and yields the
file's bytes without buffering the whole upload, so the size limit holds while streaming. Parts
without a filename are skipped.
"""

from __future__ import annotations

import enum
import re
from collections.abc import AsyncIterable, AsyncIterator

__all__ = ["MultipartError", "MultipartFileReader", "boundary_of", "first_file"]

_MAX_HEADER_BYTES = 16 * 1024
_BOUNDARY = re.compile(r'boundary="?([^";]{1,200})"?', re.IGNORECASE)
_FILENAME = re.compile(r'filename="([^"]*)"|filename=([^;\s]+)', re.IGNORECASE)


class MultipartError(ValueError):
    """The body is not a multipart form with a file part."""


def boundary_of(content_type: str) -> str | None:
    """The boundary of a ``multipart/form-data`` content type, or None for anything else.

    Raises:
        MultipartError: a multipart content type without a boundary.
    """
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise MultipartError("multipart/form-data without a boundary")
    return match.group(1)


class _State(enum.Enum):
    PREAMBLE = enum.auto()
    AFTER_BOUNDARY = enum.auto()
    HEADERS = enum.auto()
    SKIP = enum.auto()
    FILE = enum.auto()
    DONE = enum.auto()


class MultipartFileReader:
    """Feed body chunks in; get the first file part's bytes out (sans-I/O)."""

    def __init__(self, boundary: str) -> None:
        # Every delimiter but the first follows a CRLF; a leading CRLF makes the first one alike.
        self._delimiter = b"\r\n--" + boundary.encode("latin-1")
        self._buffer = b"\r\n"
        self._state = _State.PREAMBLE
        self.filename: str | None = None

    @property
    def complete(self) -> bool:
        """True once the file part (or the closing boundary) has been read."""
        return self._state is _State.DONE

    def feed(self, chunk: bytes) -> bytes:
        """Take ``chunk``; return the file bytes it completes.

        Raises:
            MultipartError: part headers over 16 KiB.
        """
        self._buffer += chunk
        out: list[bytes] = []
        delimiter = self._delimiter
        while True:
            state = self._state
            if state in (_State.PREAMBLE, _State.SKIP, _State.FILE):
                index = self._buffer.find(delimiter)
                if index < 0:
                    keep = len(delimiter) - 1  # a delimiter split across chunks
                    if len(self._buffer) > keep:
                        if state is _State.FILE:
                            out.append(self._buffer[:-keep])
                        self._buffer = self._buffer[-keep:]
                    return b"".join(out)
                if state is _State.FILE:
                    out.append(self._buffer[:index])
                    self._buffer = b""
                    self._state = _State.DONE
                    return b"".join(out)
                self._buffer = self._buffer[index + len(delimiter) :]
                self._state = _State.AFTER_BOUNDARY
            elif state is _State.AFTER_BOUNDARY:
                if len(self._buffer) < 2:
                    return b"".join(out)
                if self._buffer.startswith(b"--"):  # closing boundary: no (more) parts
                    self._buffer = b""
                    self._state = _State.DONE
                    return b"".join(out)
                self._buffer = self._buffer[2:]  # the CRLF ending the boundary line
                self._state = _State.HEADERS
            elif state is _State.HEADERS:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buffer) > _MAX_HEADER_BYTES:
                        raise MultipartError("part headers too long")
                    return b"".join(out)
                filename = _filename(self._buffer[:end].decode("utf-8", "replace"))
                self._buffer = self._buffer[end + 4 :]
                if filename is None:
                    self._state = _State.SKIP
                else:
                    self.filename = filename
                    self._state = _State.FILE
                # The delimiter includes the CRLF before it, so an empty body is found at 0.
            else:
                return b"".join(out)


def _filename(headers: str) -> str | None:
    for line in headers.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            match = _FILENAME.search(value)
            if match is not None:
                return match.group(1) or match.group(2) or ""
    return None


async def first_file(
    chunks: AsyncIterable[bytes], boundary: str, names: list[str]
) -> AsyncIterator[bytes]:
    """Yield the bytes of the first file part of the body; append its filename to ``names``.

    Raises:
        MultipartError: malformed or truncated body, or no file part.
    """
    reader = MultipartFileReader(boundary)
    async for chunk in chunks:
        if reader.complete:
            continue  # drain the epilogue
        data = reader.feed(chunk)
        if reader.filename is not None and not names:
            names.append(reader.filename)
        if data:
            yield data
    if reader.filename is None:
        raise MultipartError("the form has no file part")
    if not reader.complete:
        raise MultipartError("the body ended inside the file part")
