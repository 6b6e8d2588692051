"""File contents on disk: the :class:`~csms.domain.files.BlobStore` of the built-in file service.

Layout: ``<data_dir>/<area>/<random name>``. A blob is written to a ``.part`` file, fsynced and
renamed into place on :meth:`DiskBlobWriter.finish`, so a crash never leaves a half file under a
key the database points to. Names are random, never taken from a client, so no path a client sends
can reach outside the directory. Blocking file calls run in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO

from csms.domain.files import StoredBlob

__all__ = ["DiskBlobStore", "DiskBlobWriter"]

_AREAS = frozenset({"firmware", "uploads"})


class DiskBlobWriter:
    """Implements :class:`csms.domain.files.BlobWriter` for one new file."""

    def __init__(self, root: Path, area: str) -> None:
        self._key = f"{area}/{secrets.token_hex(16)}"
        self._final = root / self._key
        self._part = self._final.with_suffix(".part")
        self._final.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO | None = self._part.open("xb")
        self._hash = hashlib.sha256()
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    async def write(self, chunk: bytes) -> None:
        if self._file is None:
            raise ValueError("the blob is already finished")
        self._hash.update(chunk)
        self._size += len(chunk)
        await asyncio.to_thread(self._file.write, chunk)

    async def finish(self) -> StoredBlob:
        file = self._file
        if file is None:
            raise ValueError("the blob is already finished")
        self._file = None
        await asyncio.to_thread(self._close_durably, file)
        return StoredBlob(key=self._key, size=self._size, sha256=self._hash.hexdigest())

    def _close_durably(self, file: BinaryIO) -> None:
        file.flush()
        os.fsync(file.fileno())
        file.close()
        self._part.replace(self._final)

    async def abort(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()
        self._part.unlink(missing_ok=True)


class DiskBlobStore:
    """Implements :class:`csms.domain.files.BlobStore` under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self._root = Path(root).expanduser().resolve()

    def writer(self, area: str) -> DiskBlobWriter:
        if area not in _AREAS:
            raise ValueError(f"unknown blob area {area!r}")
        return DiskBlobWriter(self._root, area)

    def path(self, key: str) -> str:
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root):  # keys are ours; refuse anything else anyway
            raise ValueError("blob key outside the store")
        return str(path)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(Path(self.path(key)).unlink, missing_ok=True)
