"""The helpers behind the hot statements: chunking, JSON text, compiled parameter order."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from csms.storage.statements import Prepared, PreparedFamily, json_text, power_of_two_chunks
from csms.storage.tables import stations


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 255, 256, 257, 600, 1000])
def test_chunks_are_powers_of_two_padded_with_the_last_item(count: int) -> None:
    items = list(range(count))
    chunks = [list(c) for c in power_of_two_chunks(items)]
    assert all(len(c) & (len(c) - 1) == 0 and len(c) <= 256 for c in chunks)
    assert all(len(c) == 256 for c in chunks[:-1])
    unpadded = [i for c in chunks for i in sorted(set(c))]
    assert unpadded == items
    if chunks:
        last = chunks[-1]
        assert len(last) < 2 * len(set(last)) or len(last) == 1  # less than half is padding
        assert set(last[len(set(last)) :]) <= {last[len(set(last)) - 1]}


def test_family_members_must_be_powers_of_two() -> None:
    family = PreparedFamily(lambda _d, _n: stations.select(), 1)
    with pytest.raises(ValueError, match="power of two"):
        family(3)
    assert family(4) is family(4)


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, 2.5, None, True], "é": "☃ \u0000", "nested": {"x": {}}},
        {1: "int keys: orjson refuses, json.dumps writes them as strings"},
        {"big": 2**70},
        [],
    ],
)
def test_json_text_is_the_same_json_value(value: object) -> None:
    assert json.loads(json_text(value)) == json.loads(json.dumps(value))


def test_parameters_are_rearranged_into_placeholder_order() -> None:
    """SQLite repeats a parameter used twice (``?``); PostgreSQL numbers it once (``$n``)."""
    online = bindparam("b_online")
    stmt = Prepared(
        lambda _: (
            update(stations)
            .where(stations.c.id == bindparam("b_id"))
            .values(online=online, accepted=online, lenient=bindparam("b_lenient"))
        ),
        ("b_id", "b_online", "b_lenient"),
    )
    row = ("CS1", True, False)
    lite = stmt.compiled(sqlite.dialect())
    assert lite.sql.count("?") == 4 and lite.order is not None
    # SET follows the table's column order: accepted=?, lenient=?, online=? ... WHERE id = ?
    assert lite.order(row) == (True, False, True, "CS1")
    pg = stmt.compiled(postgresql.asyncpg.dialect())
    assert "$3" in pg.sql and "$4" not in pg.sql and pg.order is not None
    assert pg.order(row) == (True, False, "CS1")


def test_a_parameter_list_that_does_not_match_the_statement_is_a_bug() -> None:
    stmt = Prepared(
        lambda _: update(stations).where(stations.c.id == bindparam("b_id")).values(online=True),
        ("b_id", "b_extra"),
    )
    with pytest.raises(AssertionError, match="do not match"):
        stmt.compiled(sqlite.dialect())
