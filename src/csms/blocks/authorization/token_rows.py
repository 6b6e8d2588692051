"""Id tokens as flat records: the rows of a bulk import (CSV or a JSON array) and of an export.

One record format for both directions, so an export imports unchanged:

``id_token, type, status, expiry_date, group_id_token, language, evse_ids``

* ``type``: a 2.x IdTokenEnumType (2.1 strings included); empty / null for a type-less 1.6 idTag.
  NoAuthorization is refused: its idToken is empty (2.1 Part 2 Appendix 7.1).
* ``status``: Accepted (default), Blocked or Invalid. Expired follows from ``expiry_date`` and
  ConcurrentTx from transactions, so neither is stored.
* ``expiry_date``: ISO 8601 with a time zone (``2027-01-31T00:00:00Z``).
* ``group_id_token``: the parent (1.6 parentIdTag, CiString20; 2.x groupIdToken).
* ``evse_ids``: the EVSEs the token is valid at (2.x only); CSV: ``1;3``, JSON: ``[1, 3]``.

Each problem is reported as (row, field, message); ``row`` counts records from 1 (a CSV header
is not a record). Nothing here does I/O.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from csms.domain.tokens import (
    ID_TOKEN_MAX,
    LANGUAGE_MAX,
    STORABLE_STATUSES,
    TOKEN_TYPES,
    UNSTORABLE_TYPES,
    AuthorizationStatus,
    IdToken,
    storable_text,
    token_key,
)

__all__ = [
    "FIELDS",
    "GROUP_MAX",
    "RowError",
    "csv_header",
    "csv_line",
    "iter_lines",
    "json_record",
    "parse_csv",
    "record_error",
    "token_from_record",
    "validate_rows",
]

FIELDS: Final = (
    "id_token",
    "type",
    "status",
    "expiry_date",
    "group_id_token",
    "language",
    "evse_ids",
)
# The group is sent as 1.6 parentIdTag (CiString20) too, so it must fit there.
GROUP_MAX: Final = 20
EVSE_IDS_MAX: Final = 64
_INT32_MAX: Final = 2**31 - 1


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one record: its number (from 1), the field (None: the whole record)."""

    row: int
    field: str | None
    message: str


class _Bad(ValueError):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _text(record: Mapping[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(name, "must be a string")
    if not storable_text(value):
        raise _Bad(name, "must not hold control characters")
    return value.strip() or None


def _expiry(record: Mapping[str, Any]) -> datetime | None:
    text = _text(record, "expiry_date")
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad("expiry_date", "not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise _Bad("expiry_date", "needs a time zone (e.g. 2027-01-31T00:00:00Z)")
    return value.astimezone(UTC)


def _status(record: Mapping[str, Any]) -> AuthorizationStatus:
    text = _text(record, "status")
    if text is None:
        return AuthorizationStatus.ACCEPTED
    try:
        status = AuthorizationStatus(text)
    except ValueError:
        raise _Bad("status", "must be Accepted, Blocked or Invalid") from None
    if status not in STORABLE_STATUSES:
        raise _Bad(
            "status", f"{status.value} is derived, not stored (Expired: set expiry_date instead)"
        )
    return status


def _type(record: Mapping[str, Any]) -> str | None:
    text = _text(record, "type")
    if text is None:
        return None
    if text in UNSTORABLE_TYPES:
        raise _Bad("type", "a NoAuthorization idToken is empty: there is no token to store")
    if text not in TOKEN_TYPES:
        raise _Bad("type", "must be one of " + ", ".join(sorted(TOKEN_TYPES - UNSTORABLE_TYPES)))
    return text


def _evse_ids(record: Mapping[str, Any]) -> tuple[int, ...]:
    value = record.get("evse_ids")
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        parts = value.replace(";", " ").replace(",", " ").split()
        try:
            items: list[Any] = [int(p) for p in parts]
        except ValueError:
            raise _Bad("evse_ids", "must be EVSE ids separated by ';' (e.g. 1;3)") from None
    elif isinstance(value, list):
        items = value
    else:
        raise _Bad("evse_ids", "must be a list of EVSE ids")
    if any(isinstance(i, bool) or not isinstance(i, int) for i in items):
        raise _Bad("evse_ids", "must be integers")
    if any(not 0 < i <= _INT32_MAX for i in items):
        raise _Bad("evse_ids", "EVSE ids are positive 32-bit integers")
    if len(set(items)) > EVSE_IDS_MAX:
        raise _Bad("evse_ids", f"at most {EVSE_IDS_MAX} EVSE ids")
    return tuple(sorted(set(items)))


def token_from_record(record: Mapping[str, Any], now: datetime) -> IdToken:
    """The token a record describes.

    Raises:
        ValueError: with ``.field`` and ``.message`` (a ``_Bad``); the first problem found.
    """
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise _Bad(unknown[0], "unknown field")
    value = _text(record, "id_token")
    if value is None:
        raise _Bad("id_token", "is required")
    if len(value) > ID_TOKEN_MAX or len(token_key(value)) > ID_TOKEN_MAX:
        raise _Bad("id_token", f"at most {ID_TOKEN_MAX} characters")
    group = _text(record, "group_id_token")
    if group is not None and len(group) > GROUP_MAX:
        raise _Bad("group_id_token", f"at most {GROUP_MAX} characters (1.6 parentIdTag)")
    language = _text(record, "language")
    if language is not None and len(language) > LANGUAGE_MAX:
        raise _Bad("language", f"at most {LANGUAGE_MAX} characters (RFC 5646)")
    return IdToken(
        value,
        _status(record),
        _expiry(record),
        group,
        created_at=now,
        updated_at=now,
        language=language,
        evse_ids=_evse_ids(record),
        token_type=_type(record),
    )


def record_error(row: int, exc: ValueError) -> RowError:
    """A :class:`RowError` for what :func:`token_from_record` raised."""
    if isinstance(exc, _Bad):
        return RowError(row, exc.field, exc.message)
    return RowError(row, None, str(exc))


def validate_rows(
    records: Sequence[object], now: datetime
) -> tuple[list[tuple[int, IdToken]], list[RowError]]:
    """The tokens of ``records`` (with their row numbers) and every record's problems. A value
    given twice (case-insensitively) is an error on the later record."""
    tokens: list[tuple[int, IdToken]] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for row, record in enumerate(records, start=1):
        if isinstance(record, str):  # what parse_csv could not make a record of
            errors.append(RowError(row, None, record))
            continue
        if not isinstance(record, Mapping):
            errors.append(RowError(row, None, "must be an object"))
            continue
        try:
            token = token_from_record(record, now)
        except ValueError as exc:
            errors.append(record_error(row, exc))
            continue
        key = token_key(token.id_token)
        if key in seen:
            errors.append(RowError(row, "id_token", f"duplicate of row {seen[key]}"))
            continue
        seen[key] = row
        tokens.append((row, token))
    return tokens, errors


def parse_csv(text: str) -> list[dict[str, str] | str]:
    """The records of a CSV document whose first line names the columns (any order, a subset of
    :data:`FIELDS` including ``id_token``); a line with more cells than columns is a message.
    Blank lines are skipped; a cell starting ``'=``, ``'+``, ``'-`` or ``'@`` loses its ``'``
    (how an export protects spreadsheets from formulas).

    Raises:
        ValueError: with ``.field`` (a ``_Bad``) for a missing or unknown column, or bad CSV.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise _Bad(None, "the CSV document is empty (a header line is required)")
        columns = [name.strip().lstrip("\ufeff") for name in header]
        for name in columns:
            if name not in FIELDS:
                raise _Bad(name, "unknown column (columns: " + ", ".join(FIELDS) + ")")
        if "id_token" not in columns:
            raise _Bad("id_token", "the header must name an id_token column")
        if len(set(columns)) != len(columns):
            raise _Bad(None, "a column is named twice")
        records: list[dict[str, str] | str] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            if len(cells) > len(columns):
                records.append(f"{len(cells)} cells but {len(columns)} columns")
                continue
            padded = [_unguard(c) for c in cells] + [""] * (len(columns) - len(cells))
            records.append(dict(zip(columns, padded, strict=True)))
        return records
    except csv.Error as exc:
        raise _Bad(None, f"not valid CSV: {exc}") from None


def json_record(token: IdToken) -> dict[str, Any]:
    """A token as an import/export record."""
    return {
        "id_token": token.id_token,
        "type": token.token_type,
        "status": token.status.value,
        "expiry_date": _iso(token.expiry_date),
        "group_id_token": token.parent_id_token,
        "language": token.language,
        "evse_ids": list(token.evse_ids),
    }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def csv_header() -> str:
    return _line(FIELDS)


def csv_line(token: IdToken) -> str:
    record = json_record(token)
    record["evse_ids"] = ";".join(str(e) for e in token.evse_ids)
    return _line(["" if record[name] is None else str(record[name]) for name in FIELDS])


def _line(cells: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([_guard(c) for c in cells])
    return out.getvalue()


_FORMULA = ("=", "+", "-", "@")


def _guard(cell: str) -> str:
    """A cell starting like a formula gets a leading ' so a spreadsheet shows it as text (CSV
    injection); :func:`parse_csv` takes it off again."""
    return "'" + cell if cell[:1] in _FORMULA else cell


def _unguard(cell: str) -> str:
    return cell[1:] if cell[:1] == "'" and cell[1:2] in _FORMULA else cell


def iter_lines(tokens: Sequence[IdToken]) -> Iterator[str]:
    for token in tokens:
        yield csv_line(token)
