"""Accounts, API tokens, sessions and the audit log in SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from csms.domain.accounts import AccountExists, AuditEntry, AuditQuery, Role, UnknownApiToken
from csms.domain.api_credentials import token_digest
from csms.storage import Store

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


async def test_accounts_are_unique_by_name_and_updatable(store: Store) -> None:
    alice = await store.accounts.add_account("alice", Role.OPERATOR, "$argon2id$x", T0)
    assert alice.enabled and alice.role is Role.OPERATOR
    with pytest.raises(AccountExists):
        await store.accounts.add_account("alice", Role.VIEWER, "$argon2id$y", T0)
    updated = await store.accounts.update_account(alice.id, role=Role.ADMIN, now=T0)
    assert updated.role is Role.ADMIN
    assert [a.name for a in await store.accounts.list_accounts()] == ["alice"]


async def test_tokens_are_found_by_digest_only_and_revoked(store: Store) -> None:
    alice = await store.accounts.add_account("alice", Role.OPERATOR, "$argon2id$x", T0)
    record = await store.accounts.add_token(
        alice.id, "ci", Role.VIEWER, token_digest("csms_at_secret"), now=T0, expires_at=None
    )
    found = await store.accounts.token_by_digest(token_digest("csms_at_secret"))
    assert found is not None
    assert found[0].id == record.id and found[0].role is Role.VIEWER
    assert found[1].name == "alice"
    assert await store.accounts.token_by_digest(token_digest("csms_at_other")) is None
    revoked = await store.accounts.revoke_token(record.id, T0)
    assert revoked.revoked_at == T0
    with pytest.raises(UnknownApiToken):
        await store.accounts.revoke_token(999, T0)


async def test_disabling_an_account_ends_its_sessions(store: Store) -> None:
    alice = await store.accounts.add_account("alice", Role.OPERATOR, "$argon2id$x", T0)
    await store.accounts.add_session(b"s" * 32, alice.id, b"c" * 32, T0)
    assert await store.accounts.session_by_digest(b"s" * 32) is not None
    await store.accounts.update_account(alice.id, enabled=False, now=T0)
    assert await store.accounts.session_by_digest(b"s" * 32) is None
    disabled = await store.accounts.account_by_id(alice.id)
    assert disabled is not None and not disabled.enabled and disabled.disabled_at == T0


async def test_expired_sessions_are_deleted(store: Store) -> None:
    alice = await store.accounts.add_account("alice", Role.OPERATOR, "$argon2id$x", T0)
    await store.accounts.add_session(b"o" * 32, alice.id, b"c" * 32, T0)
    await store.accounts.add_session(b"n" * 32, alice.id, b"c" * 32, T0 + timedelta(hours=1))
    ended = await store.accounts.end_sessions_before(T0 + timedelta(minutes=1), T0)
    assert ended == 1
    assert await store.accounts.session_by_digest(b"n" * 32) is not None


def _entry(n: int, actor: str = "alice", station: str | None = None) -> AuditEntry:
    path = f"/api/v1/stations/{station}/reset" if station else "/api/v1/users"
    return AuditEntry(
        at=T0 + timedelta(minutes=n),
        actor=actor,
        auth_kind="token",
        method="POST",
        path=path,
        status=200,
        client="127.0.0.1",
        station_id=station,
    )


async def test_audit_query_filters_and_pages_newest_first(store: Store) -> None:
    await store.audit.append(
        [_entry(n, "alice" if n % 2 else "bob", "CS1" if n < 4 else None) for n in range(10)]
    )
    page, total = await store.audit.query(AuditQuery(limit=3))
    assert total == 10 and [e.at.minute for e in page] == [9, 8, 7]
    rest, _ = await store.audit.query(AuditQuery(limit=3, before_id=page[-1].id))
    assert [e.at.minute for e in rest] == [6, 5, 4]
    alice, total = await store.audit.query(AuditQuery(actor="alice"))
    assert total == 5 and {e.actor for e in alice} == {"alice"}
    _, total = await store.audit.query(AuditQuery(station_id="CS1"))
    assert total == 4
    _, total = await store.audit.query(AuditQuery(path_prefix="/api/v1/stations/"))
    assert total == 4
    ranged, total = await store.audit.query(
        AuditQuery(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=5))
    )
    assert [e.at.minute for e in ranged] == [4, 3, 2]
    _, total = await store.audit.query(AuditQuery(path_prefix="/api/v1/%"))
    assert total == 0  # no wildcards
    _, total = await store.audit.query(AuditQuery(path_prefix="/API/v1/stations/"))
    assert total == 0  # case-sensitive on SQLite too


async def test_audit_retention_keeps_the_newest_rows_within_the_age(store: Store) -> None:
    await store.audit.append([_entry(n) for n in range(10)])
    await store.audit.prune(keep_rows=6, older_than=T0 + timedelta(minutes=5))
    left, total = await store.audit.query(AuditQuery())
    assert total == 5 and [e.at.minute for e in left] == [9, 8, 7, 6, 5]
