"""Import/export records of id tokens (csms.blocks.authorization.token_rows): one format both
ways, every bad record reported with its row and field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from csms.blocks.authorization import token_rows
from csms.domain.tokens import AuthorizationStatus, IdToken

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_record_makes_a_token() -> None:
    token = token_rows.token_from_record(
        {
            "id_token": " 04A2 ",
            "type": "ISO14443",
            "status": "Blocked",
            "expiry_date": "2027-01-31T01:00:00+01:00",
            "group_id_token": "G",
            "language": "de",
            "evse_ids": "3;1;3",
        },
        NOW,
    )
    assert token.id_token == "04A2"
    assert token.status is AuthorizationStatus.BLOCKED
    assert token.expiry_date == datetime(2027, 1, 31, tzinfo=UTC)
    assert token.evse_ids == (1, 3)
    assert token.token_type == "ISO14443"


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({}, "id_token"),
        ({"id_token": "A", "colour": "red"}, "colour"),
        ({"id_token": "A", "status": "ConcurrentTx"}, "status"),
        ({"id_token": "A", "type": "iso14443"}, "type"),
        ({"id_token": "A", "expiry_date": "tomorrow"}, "expiry_date"),
        ({"id_token": "A", "group_id_token": "G" * 21}, "group_id_token"),
        ({"id_token": "A", "language": "x" * 9}, "language"),
        ({"id_token": "A", "evse_ids": [True]}, "evse_ids"),
        ({"id_token": "A", "evse_ids": "1;x"}, "evse_ids"),
        ({"id_token": 7}, "id_token"),
    ],
)
def test_a_bad_record_names_its_field(record: dict[str, object], field: str) -> None:
    tokens, errors = token_rows.validate_rows([record], NOW)
    assert tokens == []
    assert [(e.row, e.field) for e in errors] == [(1, field)]


def test_csv_columns_in_any_order_and_blank_lines() -> None:
    records = token_rows.parse_csv("status,id_token\r\n\r\nBlocked,A\r\n,B\r\n")
    tokens, errors = token_rows.validate_rows(records, NOW)
    assert errors == []
    assert [(t.id_token, t.status.value) for _, t in tokens] == [
        ("A", "Blocked"),
        ("B", "Accepted"),
    ]


@pytest.mark.parametrize(
    "text", ["", "status\r\nA\r\n", "id_token,nope\r\n", "id_token,id_token\r\n"]
)
def test_a_bad_csv_header_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        token_rows.parse_csv(text)


def test_csv_export_line_imports_back() -> None:
    token = IdToken(
        "=cmd|x", AuthorizationStatus.INVALID, datetime(2027, 1, 1, tzinfo=UTC), "G",
        language="fr", evse_ids=(2, 5), token_type="KeyCode", created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    text = token_rows.csv_header() + token_rows.csv_line(token)
    assert "'=cmd|x" in text  # a spreadsheet shows text, not a formula
    tokens, errors = token_rows.validate_rows(token_rows.parse_csv(text), NOW)
    assert errors == []
    assert tokens[0][1] == token
