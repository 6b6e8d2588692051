"""The generated operator API token, kept as a SHA-256 digest in the data directory.

Why a file and not a table: the data directory already holds what is as secret as this (the
built-in CA's private key), every csms command that manages it takes ``--data-dir``, it needs no
migration, and reading it costs a ``stat``. The file holds only the digest (``sha256:<hex>``), so a
copy of it or of a backup does not give the token; it is created with mode 0600 (``O_EXCL``, so two
processes starting at once cannot both create one) and replaced atomically on rotation.

A running csms sees a rotation without a restart: a token that does not match makes it check the
file at once (a new token works immediately), and a matching one re-checks the file at most once
per :data:`RECHECK_INTERVAL` seconds (the old token stops working within that time).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from csms.domain.api_credentials import TOKEN_BYTES, token_digest

__all__ = ["API_TOKEN_FILENAME", "RECHECK_INTERVAL", "ApiTokenFile", "ApiTokenFileError"]

logger = logging.getLogger(__name__)

API_TOKEN_FILENAME = "api-token"
RECHECK_INTERVAL = 1.0  # seconds
_PREFIX = "sha256:"


class ApiTokenFileError(OSError):
    """The token file cannot be read, parsed or written; the message names the file."""


def _encode(token: str) -> bytes:
    return (_PREFIX + token_digest(token).hex() + "\n").encode("ascii")


class ApiTokenFile:
    """The generated API credential of one data directory (implements ``ApiCredentials``)."""

    def __init__(
        self, data_dir: str | Path, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = Path(data_dir) / API_TOKEN_FILENAME
        self._clock = clock
        self._digest: bytes | None = None
        self._stat: tuple[int, int, int] | None = None
        self._checked_at = float("-inf")

    def ensure(self) -> str | None:
        """Create the credential if there is none; return the new token, or None if one exists."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            self._reload()
            return None
        except OSError as exc:
            raise ApiTokenFileError(f"cannot create {self.path}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as out:
            out.write(_encode(token))
            out.flush()
            os.fsync(out.fileno())
        self._reload()
        return token

    def rotate(self) -> str:
        """Replace the credential with a new one and return it (the old one stops working)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        part = self.path.with_name(f".{API_TOKEN_FILENAME}.{secrets.token_hex(4)}.part")
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(_encode(token))
                out.flush()
                os.fsync(out.fileno())
            os.replace(part, self.path)
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise ApiTokenFileError(f"cannot write {self.path}: {exc.strerror}") from None
        self._reload()
        return token

    def verify(self, token: str) -> bool:
        """True if ``token`` is the stored credential (see the module docstring for freshness)."""
        now = self._clock()
        if now - self._checked_at >= RECHECK_INTERVAL:
            self._refresh(now)
        if self._matches(token):
            return True
        self._refresh(now)  # a token rotated a moment ago works at once
        return self._matches(token)

    def _matches(self, token: str) -> bool:
        return self._digest is not None and hmac.compare_digest(token_digest(token), self._digest)

    def _refresh(self, now: float) -> None:
        self._checked_at = now
        try:
            st = self.path.stat()
        except OSError:
            if self._digest is not None:
                logger.error("API token file %s is gone: every API request is refused", self.path)
            self._digest, self._stat = None, None
            return
        if (st.st_ino, st.st_mtime_ns, st.st_size) != self._stat:
            try:
                self._reload()
            except ApiTokenFileError as exc:
                logger.error("%s: every API request is refused", exc)
                self._digest, self._stat = None, None

    def _reload(self) -> None:
        try:
            st = self.path.stat()
            text = self.path.read_text("ascii").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ApiTokenFileError(f"cannot read {self.path}: {exc}") from None
        if not text.startswith(_PREFIX) or len(text) != len(_PREFIX) + 64:
            raise ApiTokenFileError(f"{self.path} is not an API token file (sha256:<64 hex>)")
        try:
            digest = bytes.fromhex(text[len(_PREFIX) :])
        except ValueError:
            raise ApiTokenFileError(f"{self.path} is not an API token file") from None
        if st.st_mode & 0o077:
            logger.warning("API token file %s is readable by others: chmod 600 it", self.path)
        self._digest, self._stat = digest, (st.st_ino, st.st_mtime_ns, st.st_size)
