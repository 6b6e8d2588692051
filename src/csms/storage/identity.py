"""SQL implementations of :class:`~csms.domain.accounts.AccountRepository` and
:class:`~csms.domain.accounts.AuditLog`.

Operator-driven, low-rate writes: each runs in its own short transaction (:mod:`csms.storage.direct`),
committed before the call returns. Token and session look-ups are primary-key or unique-index
reads joined with their account, so a disabled account or a revoked token is refused by the next
request, in this process or another one (``csms user disable``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.accounts import (
    Account,
    AccountExists,
    ApiTokenRecord,
    AuditEntry,
    AuditQuery,
    Role,
    SessionRecord,
    UnknownAccount,
    UnknownApiToken,
)
from csms.storage.direct import reading, writing
from csms.storage.tables_identity import (
    audit_log,
    operator_accounts,
    operator_api_tokens,
    operator_sessions,
)

__all__ = ["SqlAccountRepository", "SqlAuditLog"]

_accounts = operator_accounts
_tokens = operator_api_tokens
_sessions = operator_sessions


def _account(row: Any) -> Account:
    return Account(
        id=int(row.id),
        name=row.name,
        role=Role(row.role),
        password_hash=row.password_hash,
        enabled=bool(row.enabled),
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


def _token(row: Any, account_name: str) -> ApiTokenRecord:
    return ApiTokenRecord(
        id=int(row.id),
        account_id=int(row.account_id),
        account_name=account_name,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


_ACCOUNT_COLUMNS = [c.label(f"a_{c.name}") for c in _accounts.c]


def _joined_account(row: Any) -> Account:
    return Account(
        id=int(row.a_id),
        name=row.a_name,
        role=Role(row.a_role),
        password_hash=row.a_password_hash,
        enabled=bool(row.a_enabled),
        created_at=row.a_created_at,
        disabled_at=row.a_disabled_at,
    )


class SqlAccountRepository:
    """Implements :class:`csms.domain.accounts.AccountRepository`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_account(
        self, name: str, role: Role, password_hash: str, now: datetime
    ) -> Account:
        async with writing(self._engine) as conn:
            try:
                result = await conn.execute(
                    insert(_accounts)
                    .values(
                        name=name,
                        role=role.value,
                        password_hash=password_hash,
                        enabled=True,
                        created_at=now,
                    )
                    .returning(_accounts)
                )
            except IntegrityError:
                raise AccountExists(f"an account named {name!r} exists") from None
            return _account(result.one())

    async def account_by_name(self, name: str) -> Account | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(select(_accounts).where(_accounts.c.name == name))).first()
        return None if row is None else _account(row)

    async def account_by_id(self, account_id: int) -> Account | None:
        async with reading(self._engine) as conn:
            row = (
                await conn.execute(select(_accounts).where(_accounts.c.id == account_id))
            ).first()
        return None if row is None else _account(row)

    async def list_accounts(self) -> Sequence[Account]:
        async with reading(self._engine) as conn:
            rows = (await conn.execute(select(_accounts).order_by(_accounts.c.id))).all()
        return [_account(r) for r in rows]

    async def update_account(
        self,
        account_id: int,
        *,
        role: Role | None = None,
        password_hash: str | None = None,
        enabled: bool | None = None,
        now: datetime,
    ) -> Account:
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = role.value
        if password_hash is not None:
            values["password_hash"] = password_hash
        if enabled is not None:
            values["enabled"] = enabled
            values["disabled_at"] = None if enabled else now
        async with writing(self._engine) as conn:
            stmt = select(_accounts).where(_accounts.c.id == account_id)
            if values:
                stmt = (
                    update(_accounts)  # type: ignore[assignment]
                    .where(_accounts.c.id == account_id)
                    .values(**values)
                    .returning(_accounts)
                )
            row = (await conn.execute(stmt)).first()
            if row is None:
                raise UnknownAccount(f"no account with id {account_id}")
            if enabled is False or password_hash is not None:
                # A disabled account's sessions end now; so do all after a password change.
                await conn.execute(delete(_sessions).where(_sessions.c.account_id == account_id))
            return _account(row)

    async def add_token(
        self,
        account_id: int,
        name: str,
        role: Role,
        digest: bytes,
        *,
        now: datetime,
        expires_at: datetime | None,
    ) -> ApiTokenRecord:
        async with writing(self._engine) as conn:
            owner = (
                await conn.execute(select(_accounts.c.name).where(_accounts.c.id == account_id))
            ).scalar_one_or_none()
            if owner is None:
                raise UnknownAccount(f"no account with id {account_id}")
            row = (
                await conn.execute(
                    insert(_tokens)
                    .values(
                        account_id=account_id,
                        digest=digest,
                        name=name,
                        role=role.value,
                        created_at=now,
                        expires_at=expires_at,
                    )
                    .returning(_tokens)
                )
            ).one()
        return _token(row, owner)

    async def token_by_digest(self, digest: bytes) -> tuple[ApiTokenRecord, Account] | None:
        stmt = (
            select(_tokens, *_ACCOUNT_COLUMNS)
            .join(_accounts, _accounts.c.id == _tokens.c.account_id)
            .where(_tokens.c.digest == digest)
        )
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        return _token(row, row.a_name), _joined_account(row)

    async def list_tokens(self, account_id: int | None) -> Sequence[ApiTokenRecord]:
        stmt = (
            select(_tokens, _accounts.c.name.label("a_name"))
            .join(_accounts, _accounts.c.id == _tokens.c.account_id)
            .order_by(_tokens.c.id.desc())
        )
        if account_id is not None:
            stmt = stmt.where(_tokens.c.account_id == account_id)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).all()
        return [_token(r, r.a_name) for r in rows]

    async def revoke_token(self, token_id: int, now: datetime) -> ApiTokenRecord:
        async with writing(self._engine) as conn:
            await conn.execute(
                update(_tokens)
                .where(_tokens.c.id == token_id, _tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            row = (
                await conn.execute(
                    select(_tokens, _accounts.c.name.label("a_name"))
                    .join(_accounts, _accounts.c.id == _tokens.c.account_id)
                    .where(_tokens.c.id == token_id)
                )
            ).first()
            if row is None:
                raise UnknownApiToken(f"no API token with id {token_id}")
        return _token(row, row.a_name)

    async def touch_token(self, token_id: int, now: datetime) -> None:
        async with writing(self._engine) as conn:
            await conn.execute(
                update(_tokens).where(_tokens.c.id == token_id).values(last_used_at=now)
            )

    async def add_session(
        self, digest: bytes, account_id: int, csrf_digest: bytes, now: datetime
    ) -> None:
        async with writing(self._engine) as conn:
            await conn.execute(
                insert(_sessions).values(
                    digest=digest,
                    account_id=account_id,
                    csrf_digest=csrf_digest,
                    created_at=now,
                    last_used_at=now,
                )
            )

    async def session_by_digest(self, digest: bytes) -> tuple[SessionRecord, Account] | None:
        stmt = (
            select(_sessions, *_ACCOUNT_COLUMNS)
            .join(_accounts, _accounts.c.id == _sessions.c.account_id)
            .where(_sessions.c.digest == digest)
        )
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        record = SessionRecord(
            account_id=int(row.account_id),
            csrf_digest=bytes(row.csrf_digest),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
        )
        return record, _joined_account(row)

    async def touch_session(self, digest: bytes, now: datetime) -> None:
        async with writing(self._engine) as conn:
            await conn.execute(
                update(_sessions).where(_sessions.c.digest == digest).values(last_used_at=now)
            )

    async def end_session(self, digest: bytes) -> None:
        async with writing(self._engine) as conn:
            await conn.execute(delete(_sessions).where(_sessions.c.digest == digest))

    async def end_sessions_before(self, created_before: datetime, idle_before: datetime) -> int:
        async with writing(self._engine) as conn:
            result = await conn.execute(
                delete(_sessions).where(
                    or_(
                        _sessions.c.created_at < created_before,
                        _sessions.c.last_used_at < idle_before,
                    )
                )
            )
        return int(result.rowcount or 0)


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=int(row.id),
        at=row.at,
        actor=row.actor,
        auth_kind=row.auth_kind,
        method=row.method,
        path=row.path,
        station_id=row.station_id,
        status=int(row.status),
        client=row.client,
    )


class SqlAuditLog:
    """Implements :class:`csms.domain.accounts.AuditLog`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def append(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        rows = [
            {
                "at": e.at,
                "actor": e.actor[:64],
                "auth_kind": e.auth_kind[:16],
                "method": e.method[:10],
                "path": e.path[:2000],
                "station_id": None if e.station_id is None else e.station_id[:255],
                "status": e.status,
                "client": e.client[:64],
            }
            for e in entries
        ]
        async with writing(self._engine) as conn:
            await conn.execute(insert(audit_log), rows)

    async def query(self, query: AuditQuery) -> tuple[Sequence[AuditEntry], int]:
        conditions = []
        if query.actor is not None:
            conditions.append(audit_log.c.actor == query.actor)
        if query.station_id is not None:
            conditions.append(audit_log.c.station_id == query.station_id)
        if query.path_prefix is not None:
            # substr, not LIKE: SQLite's LIKE ignores ASCII case, and no wildcard to escape.
            prefix = query.path_prefix
            conditions.append(func.substr(audit_log.c.path, 1, len(prefix)) == prefix)
        if query.since is not None:
            conditions.append(audit_log.c.at >= query.since)
        if query.until is not None:
            conditions.append(audit_log.c.at < query.until)
        where = and_(*conditions) if conditions else None
        page = select(audit_log).order_by(audit_log.c.id.desc()).limit(query.limit)
        count = select(func.count()).select_from(audit_log)
        if where is not None:
            page = page.where(where)
            count = count.where(where)
        if query.before_id is not None:
            page = page.where(audit_log.c.id < query.before_id)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(page)).all()
            total = int((await conn.execute(count)).scalar_one())
        return [_entry(r) for r in rows], total

    async def prune(self, *, keep_rows: int, older_than: datetime) -> int:
        async with writing(self._engine) as conn:
            newest = (await conn.execute(select(func.max(audit_log.c.id)))).scalar_one_or_none()
            condition = audit_log.c.at < older_than
            if newest is not None:
                condition = or_(condition, audit_log.c.id <= int(newest) - keep_rows)
            result = await conn.execute(delete(audit_log).where(condition))
        return int(result.rowcount or 0)
