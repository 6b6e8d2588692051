"""Hot statements: SQL text made once per dialect, executed on tuples with ``exec_driver_sql``.

Nearly every write under load is a meter value, a status, a transaction event, a connection or a
last-seen time, and for a big ``executemany`` SQLAlchemy's per-row work (a parameter dict per row,
each column's bind processor, ``construct_params``) cost more CPU than the database itself. So:

* The SQL is SQLAlchemy's own: the Core statement is compiled once per dialect (placeholders, casts,
  ``ON CONFLICT`` included) and kept with the order of its placeholders (:class:`Prepared`).
* Parameters are tuples built straight from the domain objects, in an order the caller declares
  next to the statement; when the compiled placeholders come in another order, or repeat (SQLite's
  ``?``), a C-level :func:`operator.itemgetter` rearranges each tuple.
* Values are converted as the column types would convert them, by the dialect's :class:`Codec`:
  timestamps (SQLite: the text :class:`~csms.storage.types.UtcDateTime` stores; PostgreSQL: aware
  datetimes; naive ones refused), JSON text, SQLite's integer booleans when read back.
* ``await conn.exec_driver_sql(sql, tuples)`` runs them: SQLAlchemy still owns the connection,
  the transaction and the errors (parameters stay hidden); only the per-row processing is skipped.
  A list of tuples is one DBAPI ``executemany`` (asyncpg: its pipelined ``executemany``).
* Statements whose text depends on a count (multi-row ``VALUES ... RETURNING``, key lists) are
  made for power-of-two counts only, padded by repeating a row (:func:`power_of_two_chunks`):
  one statement per 256 rows, and at most 9 distinct texts each (PostgreSQL prepares each once
  per connection, SQLite keeps them in its statement cache).

Only positional DBAPI paramstyles are supported (aiosqlite ``qmark``, asyncpg ``numeric_dollar``).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, TypeVar

import orjson
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from csms.storage.types import (
    postgresql_timestamp,
    sqlite_read_timestamp,
    sqlite_timestamp,
    utc_read_timestamp,
)

__all__ = [
    "Codec",
    "Prepared",
    "PreparedFamily",
    "codec",
    "json_text",
    "power_of_two_chunks",
]

T = TypeVar("T")

Row = tuple[Any, ...]

# The largest multi-row statement: 256 rows of 14 columns stay far below SQLite's and
# PostgreSQL's limits on parameters per statement (32,766 / 32,767).
MAX_ROWS_PER_STATEMENT = 256


def json_text(value: object) -> str:
    """Return the JSON text of ``value`` as SQLAlchemy's JSON type would store it.

    orjson is ~10x faster than :func:`json.dumps`; it writes no spaces and UTF-8 instead of
    ``\\u`` escapes (the same JSON). Values orjson refuses (int keys, integers beyond 64 bits) go
    to :func:`json.dumps`, like the column type.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _as_bool(value: Any) -> bool:
    return bool(value)


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Codec:
    """How one backend's driver wants values the column types would otherwise convert."""

    timestamp: Callable[[datetime], Any]  # raises ValueError for a naive datetime
    read_timestamp: Callable[[Any], datetime | None]
    read_bool: Callable[[Any], bool]

    def optional_timestamp(self, value: datetime | None) -> Any:
        return None if value is None else self.timestamp(value)


_SQLITE = Codec(sqlite_timestamp, sqlite_read_timestamp, _as_bool)
_POSTGRESQL = Codec(postgresql_timestamp, utc_read_timestamp, _identity)


def codec(dialect: Dialect) -> Codec:
    """Return the :class:`Codec` of ``dialect`` (SQLite or PostgreSQL)."""
    if dialect.name == "sqlite":
        return _SQLITE
    if dialect.name == "postgresql":
        return _POSTGRESQL
    raise NotImplementedError(f"unsupported database backend {dialect.name!r}")


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    order: Callable[[Row], Row] | None  # canonical tuple -> placeholder tuple; None: as is


def _compile(
    dialect: Dialect,
    stmt: ClauseElement,
    params: Sequence[str] | int,
    *,
    column_keys: Sequence[str] | None,
    for_executemany: bool,
) -> _Compiled:
    compiled = stmt.compile(
        dialect=dialect,
        column_keys=list(column_keys) if column_keys is not None else None,
        for_executemany=for_executemany,
        compile_kwargs={"render_postcompile": True},
    )
    if not isinstance(compiled, SQLCompiler):
        raise TypeError(f"not a SQL statement: {stmt!r}")
    positions = compiled.positiontup
    if positions is None:
        raise NotImplementedError(f"{dialect.name} uses a named paramstyle; positional needed")
    sql = compiled.string
    if isinstance(params, int):  # parameters in rendering order, e.g. an expanded IN list
        if len(positions) != params:
            raise AssertionError(f"{len(positions)} placeholders, {params} parameters: {sql}")
        return _Compiled(sql, None)
    if set(positions) != set(params) or len(set(params)) != len(params):
        raise AssertionError(f"placeholders {positions} do not match parameters {params}: {sql}")
    if list(positions) == list(params):
        return _Compiled(sql, None)
    indexes = [params.index(name) for name in positions]
    if len(indexes) == 1:
        [index] = indexes
        return _Compiled(sql, lambda row: (row[index],))
    return _Compiled(sql, itemgetter(*indexes))


class Prepared:
    """A statement compiled on first use with each dialect, then executed on tuples.

    ``build`` makes the Core statement for a dialect; ``params`` names its bind parameters in the
    order of the tuples the caller passes (for an INSERT, column names), or, as a number, says the
    tuples are already in placeholder order.
    """

    __slots__ = ("_build", "_by_dialect", "_column_keys", "_for_executemany", "_params")

    def __init__(
        self,
        build: Callable[[Dialect], ClauseElement],
        params: Sequence[str] | int,
        *,
        column_keys: Sequence[str] | None = None,
        for_executemany: bool = True,
    ) -> None:
        self._build = build
        self._params = params if isinstance(params, int) else tuple(params)
        self._column_keys = column_keys
        self._for_executemany = for_executemany
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = (
            weakref.WeakKeyDictionary()
        )

    def compiled(self, dialect: Dialect) -> _Compiled:
        """Return the SQL text for ``dialect`` (compiled once) and its parameter order."""
        found = self._by_dialect.get(dialect)
        if found is None:
            found = _compile(
                dialect,
                self._build(dialect),
                self._params,
                column_keys=self._column_keys,
                for_executemany=self._for_executemany,
            )
            self._by_dialect[dialect] = found
        return found

    def sql(self, dialect: Dialect) -> str:
        return self.compiled(dialect).sql

    async def executemany(self, conn: AsyncConnection, rows: list[Row]) -> None:
        """Execute once per tuple of ``rows`` (one DBAPI executemany); nothing if empty."""
        if not rows:
            return
        compiled = self.compiled(conn.dialect)
        order = compiled.order
        await conn.exec_driver_sql(compiled.sql, rows if order is None else list(map(order, rows)))

    async def fetchall(self, conn: AsyncConnection, row: Row) -> Sequence[Sequence[Any]]:
        """Execute once with ``row`` and return the driver's rows (values not converted)."""
        compiled = self.compiled(conn.dialect)
        order = compiled.order
        result = await conn.exec_driver_sql(compiled.sql, row if order is None else order(row))
        return result.fetchall()


class PreparedFamily:
    """:class:`Prepared` statements that differ by a count of rows or keys (a power of two).

    ``build(dialect, count)`` makes the statement for ``count`` rows of ``width`` values each.
    ``names(count)``, if given, names its bind parameters in the order of the flat tuple the
    caller passes (row after row); without it the placeholders must already come in that order.
    """

    __slots__ = ("_build", "_members", "_names", "_width")

    def __init__(
        self,
        build: Callable[[Dialect, int], ClauseElement],
        width: int,
        names: Callable[[int], Sequence[str]] | None = None,
    ) -> None:
        self._build = build
        self._width = width
        self._names = names
        self._members: dict[int, Prepared] = {}

    def __call__(self, count: int) -> Prepared:
        """Return the statement for ``count`` rows, taking ``count * width`` parameters."""
        member = self._members.get(count)
        if member is None:
            if count < 1 or count & (count - 1) or count > MAX_ROWS_PER_STATEMENT:
                raise ValueError(f"count must be a power of two <= 256, not {count}")
            build = self._build
            params = count * self._width if self._names is None else self._names(count)
            member = Prepared(lambda dialect: build(dialect, count), params, for_executemany=False)
            self._members[count] = member
        return member


def power_of_two_chunks(
    items: Sequence[T], largest: int = MAX_ROWS_PER_STATEMENT
) -> Iterator[Sequence[T]]:
    """Split ``items`` into consecutive chunks of ``largest`` items, the last one padded to a power
    of two by repeating its last item (so a statement per chunk needs few distinct texts).

    Only for statements where a repeated row changes nothing: ``INSERT ... ON CONFLICT DO
    NOTHING`` (the copy conflicts with the original) and ``IN`` lists.
    """
    for start in range(0, len(items), largest):
        chunk = items[start : start + largest]
        size = 1 << (len(chunk) - 1).bit_length()
        if size > len(chunk):
            chunk = [*chunk, *[chunk[-1]] * (size - len(chunk))]
        yield chunk
