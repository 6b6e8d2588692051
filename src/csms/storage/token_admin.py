"""SQL implementation of :class:`csms.domain.token_admin.IdTokenAdmin`.

Operator writes are rare and need a read-modify-write with the local lists in one transaction, so
they use their own short transaction (:func:`csms.storage.direct.writing`), not the group
committer. Local list entries keep the spelling the operator sent to the station; they are matched
to a token by ``lower()`` in SQL (ASCII on SQLite) and then by the token key in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from csms.domain.errors import UnknownIdToken
from csms.domain.localauth import AuthorizationStatus, LocalListSyncState
from csms.domain.token_admin import (
    UNTYPED,
    ImportOutcome,
    LocalListHolder,
    StatusFilter,
    TokenPage,
    TokenQuery,
)
from csms.domain.tokens import IdToken, evaluate, token_key
from csms.storage import charging_rows as rows
from csms.storage.dialect import dialect_insert
from csms.storage.direct import reading, writing
from csms.storage.tables_charging import id_tokens
from csms.storage.tables_localauth import local_list_entries, local_lists

__all__ = ["SqlIdTokenAdmin"]

_C = id_tokens.c
_E = local_list_entries.c
_L = local_lists.c
_CHUNK = 500  # values per IN list
_UPDATABLE = ("id_token", "status", "expiry_date", "parent_id_token", "language", "evse_ids")


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filters(query: TokenQuery) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if query.token_type == UNTYPED:
        out.append(_C.token_type.is_(None))
    elif query.token_type is not None:
        out.append(_C.token_type == query.token_type)
    if query.status is StatusFilter.ACCEPTED:
        out += [
            _C.status == "Accepted",
            or_(_C.expiry_date.is_(None), _C.expiry_date > query.now),
        ]
    elif query.status is StatusFilter.EXPIRED:
        out += [_C.status == "Accepted", _C.expiry_date <= query.now]
    elif query.status is not None:
        out.append(_C.status == query.status.value)
    if query.group is not None:
        out.append(func.lower(_C.parent_id_token) == query.group.lower())
    if query.search:
        out.append(_C.key.like(f"%{_like_escape(token_key(query.search))}%", escape="\\"))
    return out


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SqlIdTokenAdmin:
    """Implements :class:`csms.domain.token_admin.IdTokenAdmin`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def page(self, query: TokenQuery) -> TokenPage:
        where = _filters(query)
        stmt = select(id_tokens).where(*where)
        if query.after is not None:
            stmt = stmt.where(_C.key > query.after)
        stmt = stmt.order_by(_C.key).limit(query.limit + 1)
        async with reading(self._engine) as conn:
            found = [rows.id_token(r) for r in (await conn.execute(stmt)).mappings()]
            total = (
                await conn.execute(select(func.count()).select_from(id_tokens).where(*where))
            ).scalar_one()
        more = len(found) > query.limit
        items = found[: query.limit]
        next_after = token_key(items[-1].id_token) if more and items else None
        return TokenPage(items, next_after, int(total))

    async def get(self, id_token: str) -> IdToken | None:
        stmt = select(id_tokens).where(_C.key == token_key(id_token))
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return rows.id_token(row) if row is not None else None

    async def create(self, token: IdToken, now: datetime) -> bool:
        async with writing(self._engine) as conn:
            stmt = dialect_insert(conn, id_tokens).values(rows.id_token_row(token, now))
            result = await conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
            return bool(result.rowcount == 1)

    async def replace(self, token: IdToken, now: datetime) -> int:
        key = token_key(token.id_token)
        async with writing(self._engine) as conn:
            values = rows.id_token_row(token, now)
            values.pop("created_at")
            values.pop("key")
            result = await conn.execute(update(id_tokens).where(_C.key == key).values(values))
            if result.rowcount != 1:
                raise UnknownIdToken(token.id_token)
            return await _sync_lists(conn, {key: token}, now)

    async def delete(self, id_token: str, now: datetime) -> int:
        key = token_key(id_token)
        async with writing(self._engine) as conn:
            result = await conn.execute(delete(id_tokens).where(_C.key == key))
            if result.rowcount != 1:
                raise UnknownIdToken(id_token)
            return await _sync_lists(conn, {key: None}, now)

    async def import_tokens(self, tokens: Sequence[IdToken], now: datetime) -> ImportOutcome:
        by_key = {token_key(t.id_token): t for t in tokens}
        if len(by_key) != len(tokens):
            raise ValueError("imported tokens must have distinct values")
        async with writing(self._engine) as conn:
            existing = await _existing(conn, list(by_key))
            if by_key:
                stmt = dialect_insert(conn, id_tokens)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["key"],
                    set_={name: stmt.excluded[name] for name in (*_UPDATABLE, "token_type")}
                    | {"updated_at": stmt.excluded.updated_at},
                )
                for chunk in _chunks(list(by_key)):
                    await conn.execute(stmt, [rows.id_token_row(by_key[k], now) for k in chunk])
            stale = await _sync_lists(conn, dict(by_key), now)
        updated = len(existing)
        return ImportOutcome(created=len(by_key) - updated, updated=updated, stale_lists=stale)

    async def holders(self, id_token: str) -> Sequence[LocalListHolder]:
        key = token_key(id_token)
        stmt = (
            select(_E.station_id, _E.id_token, _E.status, _L.state, _L.version, _L.station_version)
            .select_from(local_list_entries.join(local_lists, _E.station_id == _L.station_id))
            .where(func.lower(_E.id_token) == id_token.lower())
            .order_by(_E.station_id)
        )
        async with reading(self._engine) as conn:
            found = (await conn.execute(stmt)).all()
        return [
            LocalListHolder(
                station_id=station_id,
                entry_status=AuthorizationStatus(status),
                state=LocalListSyncState(state),
                version=int(version),
                station_version=None if station_version is None else int(station_version),
            )
            for station_id, value, status, state, version, station_version in found
            if token_key(value) == key
        ]

    async def existing(self, id_tokens_: Sequence[str]) -> frozenset[str]:
        async with reading(self._engine) as conn:
            return await _existing(conn, sorted({token_key(v) for v in id_tokens_}))


async def _existing(conn: AsyncConnection, keys: Sequence[str]) -> frozenset[str]:
    found: set[str] = set()
    for chunk in _chunks(keys):
        found.update((await conn.execute(select(_C.key).where(_C.key.in_(chunk)))).scalars())
    return frozenset(found)


def _entry_values(token: IdToken, now: datetime) -> dict[str, Any]:
    """What a target list entry of ``token`` holds now (its status as a station would be
    answered, Expired included; never ConcurrentTx)."""
    info = evaluate(token, now, in_other_transaction=False)
    return {
        "status": info.status.value,
        "expiry_date": token.expiry_date,
        "parent_id_token": token.parent_id_token,
        "token_type": token.token_type,
    }


def _same(row: Mapping[Any, Any], values: Mapping[str, Any]) -> bool:
    return all(row[name] == value for name, value in values.items())


async def _sync_lists(
    conn: AsyncConnection, changed: Mapping[str, IdToken | None], now: datetime
) -> int:
    """Rewrite (or, for None, remove) the target-list entries of the changed tokens (by key);
    raise the target version of each station whose list changed and mark it pending. Returns how
    many stations' lists changed."""
    lowered = sorted({key.lower() for key in changed} | {_lower_value(t) for t in changed.values()})
    stations: set[str] = set()
    for chunk in _chunks(lowered):
        stmt = select(local_list_entries).where(func.lower(_E.id_token).in_(chunk))
        for row in (await conn.execute(stmt)).mappings().all():
            key = token_key(row["id_token"])
            if key not in changed:
                continue
            token = changed[key]
            where = and_(_E.station_id == row["station_id"], _E.id_token == row["id_token"])
            if token is None:
                await conn.execute(delete(local_list_entries).where(where))
            else:
                values = _entry_values(token, now)
                if _same(row, values):
                    continue
                await conn.execute(update(local_list_entries).where(where).values(values))
            stations.add(row["station_id"])
    for chunk in _chunks(sorted(stations)):
        await conn.execute(
            update(local_lists)
            .where(_L.station_id.in_(chunk))
            .values(version=_L.version + 1, state=LocalListSyncState.PENDING.value, updated_at=now)
        )
    return len(stations)


def _lower_value(token: IdToken | None) -> str:
    return token.id_token.lower() if token is not None else ""
