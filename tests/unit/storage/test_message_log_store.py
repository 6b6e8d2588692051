"""The message log's repository on SQLite and PostgreSQL: batches, search filters, retention."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from csms.domain.messagelog import LoggedExchange, MessageQuery, Retention
from csms.storage import Store

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
KEEP_ALL = Retention(max_age=10 * 86400, max_rows=1_000_000, max_bytes=1 << 40)


def _entry(n: int, *, at: datetime = NOW, station: str = "CS1", size: int = 100) -> LoggedExchange:
    """Even n: a CALL the station started, answered; odd n: one csms started, answered with a
    CALLERROR."""
    return LoggedExchange(
        station_id=station,
        at=at.timestamp(),
        direction="in" if n % 2 == 0 else "out",
        message_type="CALL",
        message_id=f"m{n}",
        action="Heartbeat" if n % 3 else "BootNotification",
        size=size // 2,
        frame=f'[2,"m{n}","Heartbeat",{{}}]',
        response_type="CALLRESULT" if n % 2 == 0 else "CALLERROR",
        latency_ms=1.5,
        error_code=None if n % 2 == 0 else "InternalError",
        response_size=size - size // 2,
        response_frame=f'[3,"m{n}",{{}}]' if n % 2 == 0 else f'[4,"m{n}","InternalError","",{{}}]',
    )


async def _ids(store: Store, query: MessageQuery | None = None, limit: int = 1000) -> list[int]:
    found = await store.message_log.search(query or MessageQuery(), limit)
    return [m.id for m in found if m.id is not None]


async def test_append_and_search_with_filters(store: Store) -> None:
    await store.message_log.append([_entry(n, at=NOW + timedelta(seconds=n)) for n in range(10)])
    await store.message_log.append([_entry(10, station="CS2")])
    ids = await _ids(store)
    assert len(ids) == 11 and ids == sorted(ids, reverse=True)
    first = (await store.message_log.search(MessageQuery(), 1))[0]
    assert first == _entry(10, station="CS2")._replace(id=first.id)  # every column read back
    assert len(await _ids(store, MessageQuery(station_id="CS1"))) == 10
    assert len(await _ids(store, MessageQuery(action="BootNotification"))) == 4  # 0 3 6 9
    assert len(await _ids(store, MessageQuery(direction="out"))) == 5
    assert len(await _ids(store, MessageQuery(errors_only=True))) == 5
    window = MessageQuery(since=NOW + timedelta(seconds=2), until=NOW + timedelta(seconds=5))
    assert len(await _ids(store, window)) == 3
    assert await _ids(store, MessageQuery(before_id=ids[8])) == ids[9:]


async def test_errors_are_error_answers_lone_errors_bad_frames_and_unanswered_calls(
    store: Store,
) -> None:
    answered = _entry(0)
    lone = dict.fromkeys(("response_type", "latency_ms", "response_size", "response_frame"))
    unanswered = answered._replace(message_id="u", **lone)
    invalid = answered._replace(message_type="INVALID", message_id=None, action=None, **lone)
    stray = answered._replace(message_type="CALLERROR", error_code="GenericError", **lone)
    send = answered._replace(message_type="SEND", **lone)
    await store.message_log.append([answered, _entry(1), unanswered, invalid, stray, send])
    found = await store.message_log.search(MessageQuery(errors_only=True), 100)
    assert sorted(m.message_id or "-" for m in found) == ["-", "m0", "m1", "u"]
    assert {m.outcome for m in found} == {"error", "unanswered", None}


async def test_time_window_finds_rows_written_long_after_their_call(store: Store) -> None:
    # Rows are written when complete: an unanswered CALL comes after rows seen later than it.
    before = [_entry(n, at=NOW + timedelta(seconds=n)) for n in range(40)]
    late = _entry(99, at=NOW + timedelta(seconds=5))._replace(response_type=None)
    after = [_entry(n, at=NOW + timedelta(seconds=40 + n)) for n in range(60)]
    await store.message_log.append([*before, late, *after])
    window = MessageQuery(since=NOW + timedelta(seconds=5), until=NOW + timedelta(seconds=6))
    found = await store.message_log.search(window, 100)
    assert sorted(m.message_id or "" for m in found) == ["m5", "m99"]


async def test_prune_by_age(store: Store) -> None:
    old = [_entry(n, at=NOW - timedelta(days=8)) for n in range(5)]
    await store.message_log.append(old + [_entry(n) for n in range(5, 8)])
    retention = Retention(max_age=7 * 86400, max_rows=1000, max_bytes=1 << 30)
    assert await store.message_log.prune(retention, NOW) == 5
    assert len(await _ids(store)) == 3
    assert await store.message_log.prune(retention, NOW) == 0


async def test_prune_by_rows_keeps_the_newest(store: Store) -> None:
    await store.message_log.append([_entry(n) for n in range(30)])
    newest = await _ids(store)
    deleted = await store.message_log.prune(dataclass_replace(KEEP_ALL, max_rows=10), NOW)
    assert deleted == 20
    assert await _ids(store) == newest[:10]


async def test_prune_by_bytes_keeps_about_the_budget(store: Store) -> None:
    await store.message_log.append([_entry(n, size=1000) for n in range(50)])
    deleted = await store.message_log.prune(dataclass_replace(KEEP_ALL, max_bytes=12_000), NOW)
    assert deleted == 38
    assert len(await _ids(store)) == 12


async def test_prune_of_an_empty_log(store: Store) -> None:
    assert await store.message_log.prune(KEEP_ALL, NOW) == 0


def dataclass_replace(retention: Retention, **changes: int) -> Retention:
    return dataclasses.replace(retention, **changes)


async def test_prune_deletes_in_chunks(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from csms.storage import messagelog

    monkeypatch.setattr(messagelog, "PRUNE_CHUNK", 3)
    await store.message_log.append([_entry(n) for n in range(11)])
    assert await store.message_log.prune(dataclass_replace(KEEP_ALL, max_rows=1), NOW) == 10
    assert len(await _ids(store)) == 1
