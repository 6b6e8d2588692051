"""Opening the database at start-up: the errors a new user meets, said in one line.

A refused connection, an unknown host, a wrong password, a missing database or a SQLite file that
cannot be created all surface from deep inside SQLAlchemy, asyncpg or aiosqlite; at their boundary
they become one :class:`DatabaseUnavailable` that names the database (never its password) and the
cause, for the CLI to print instead of a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from csms.domain.errors import StorageError

__all__ = ["DatabaseUnavailable", "describe_database", "opening"]


class DatabaseUnavailable(StorageError):
    """The database could not be opened; the message says which one and why."""


def describe_database(url: str | URL) -> str:
    """``PostgreSQL at host:port/db`` or ``SQLite file /abs/path``, without credentials."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "the database"
    if parsed.get_backend_name() == "sqlite":
        name = parsed.database or ":memory:"
        if name != ":memory:" and not name.startswith("file:"):
            name = str(Path(name).expanduser().absolute())
        return f"SQLite file {name}"
    return (
        f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig)
        if "unable to open database file" in text:
            return f"{text} (does its directory exist and is it writable?)"
        return text
    if isinstance(exc, OSError):
        if exc.errno == errno.ECONNREFUSED or isinstance(exc, ConnectionRefusedError):
            return "connection refused (is the server running, and are the host and port right?)"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return f"permission denied: {exc.filename or exc.strerror}"
        if isinstance(exc, TimeoutError):
            return "no answer in time (is the host reachable?)"
        if isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename:
            return f"{exc.filename} is not a directory"
        if exc.strerror and exc.filename:
            return f"{exc.strerror}: {exc.filename}"
        return f"{exc.strerror or exc} (is the host name right?)"
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {first_line}"


def _sqlite_workers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


async def _settle_sqlite_threads(before: set[threading.Thread], timeout: float = 1.0) -> None:
    """Let aiosqlite's worker threads of failed connections end while the loop still runs.

    aiosqlite 0.22 stops the worker of a connection that failed to open without awaiting it; if
    the process then exits at once (the CLI after its error line) the worker reports to a closed
    loop and prints a traceback of its own.
    """
    for worker in _sqlite_workers() - before:
        await asyncio.to_thread(worker.join, timeout)


@contextlib.asynccontextmanager
async def opening(url: str | URL) -> AsyncIterator[None]:
    """Translate what goes wrong while the block opens ``url`` into :class:`DatabaseUnavailable`.

    Only for opening (migrations, the first connection): errors of a running store are
    :class:`StorageError` from the committer and the repositories.
    """
    workers = _sqlite_workers()
    try:
        yield
    except StorageError:
        raise
    except (OSError, SQLAlchemyError) as exc:
        await _settle_sqlite_threads(workers)
        raise DatabaseUnavailable(f"cannot open {describe_database(url)}: {_reason(exc)}") from exc
    except Exception as exc:
        if type(exc).__module__.startswith("asyncpg"):  # raised before SQLAlchemy wraps it
            raise DatabaseUnavailable(
                f"cannot open {describe_database(url)}: {_reason(exc)}"
            ) from exc
        raise
