"""The streaming multipart reader finds the first file part however the body is chunked."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest

from csms.api.multipart import MultipartError, MultipartFileReader, boundary_of, first_file


def _form(
    body: bytes, *, filename: str = "diag.zip", extra_field: bool = True
) -> tuple[str, bytes]:
    files = {"file": (filename, body, "application/zip")}
    data = {"note": "hello\r\n--not a boundary"} if extra_field else None
    request = httpx.Request("POST", "http://x/", files=files, data=data)
    return request.headers["content-type"], request.read()


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096, 1 << 20])
@pytest.mark.parametrize("body", [b"", b"\r\n--", os.urandom(10_000)])
def test_extracts_the_file_in_any_chunking(chunk: int, body: bytes) -> None:
    content_type, raw = _form(body)
    boundary = boundary_of(content_type)
    assert boundary is not None
    reader = MultipartFileReader(boundary)
    out = b"".join(reader.feed(raw[i : i + chunk]) for i in range(0, len(raw), chunk))
    assert reader.complete
    assert reader.filename == "diag.zip"
    assert out == body


def test_plain_bodies_have_no_boundary() -> None:
    assert boundary_of("application/octet-stream") is None
    with pytest.raises(MultipartError):
        boundary_of("multipart/form-data")


async def _chunks(raw: bytes, size: int = 100) -> AsyncIterator[bytes]:
    for i in range(0, len(raw), size):
        yield raw[i : i + size]


async def _read(raw: bytes, boundary: str, names: list[str]) -> bytes:
    return b"".join([chunk async for chunk in first_file(_chunks(raw), boundary, names)])


async def test_first_file_names_the_file() -> None:
    content_type, raw = _form(b"x" * 1000, filename="security.log")
    names: list[str] = []
    assert await _read(raw, boundary_of(content_type) or "", names) == b"x" * 1000
    assert names == ["security.log"]


async def test_first_file_refuses_a_form_without_a_file() -> None:
    raw = b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n--B--\r\n'
    with pytest.raises(MultipartError, match="no file part"):
        await _read(raw, "B", [])


async def test_first_file_refuses_a_truncated_body() -> None:
    content_type, raw = _form(b"y" * 500)
    with pytest.raises(MultipartError, match="ended inside"):
        await _read(raw[: len(raw) // 2], boundary_of(content_type) or "", [])
