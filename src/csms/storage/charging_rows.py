"""Rows of the charging tables to domain objects and back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from csms.domain.reservations import Reservation, ReservationStatus
from csms.domain.tokens import AuthorizationStatus, IdToken, token_key
from csms.domain.transactions import (
    StopOutcome,
    Transaction,
    TransactionAudit,
    UnmatchedMessage,
    parse_flags,
)

__all__ = ["audit", "id_token", "id_token_row", "reservation", "transaction", "unmatched"]


def id_token_row(token: IdToken, now: datetime) -> dict[str, Any]:
    return {
        "key": token_key(token.id_token),
        "id_token": token.id_token,
        "status": token.status.value,
        "expiry_date": token.expiry_date,
        "parent_id_token": token.parent_id_token,
        "created_at": token.created_at or now,
        "updated_at": now,
        "language": token.language,
        "evse_ids": evse_ids_text(token.evse_ids),
        "token_type": token.token_type,
    }


def evse_ids_text(evse_ids: tuple[int, ...]) -> str | None:
    """How ``id_tokens.evse_ids`` stores them: ``"1,3"``; None for none (valid everywhere)."""
    return ",".join(str(e) for e in evse_ids) or None


def parse_evse_ids(text: str | None) -> tuple[int, ...]:
    return tuple(int(e) for e in text.split(",")) if text else ()


def id_token(row: Mapping[Any, Any]) -> IdToken:
    return IdToken(
        id_token=row["id_token"],
        status=AuthorizationStatus(row["status"]),
        expiry_date=row["expiry_date"],
        parent_id_token=row["parent_id_token"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        language=row["language"],
        evse_ids=parse_evse_ids(row["evse_ids"]),
        token_type=row["token_type"],
    )


def transaction(row: Mapping[Any, Any]) -> Transaction:
    """A ``transactions_v16`` row as a version-neutral :class:`Transaction`."""
    return Transaction(
        transaction_id=str(row["id"]),
        station_id=row["station_id"],
        evse_id=row["evse_id"],
        connector_id=row["connector_id"],
        id_token=row["id_tag"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        meter_start_wh=row["meter_start"],
        meter_stop_wh=row["meter_stop"],
        energy_wh=row["energy_wh"],
        stopped_reason=row["stopped_reason"],
        stop_id_token=row["stop_id_tag"],
        reservation_id=row["reservation_id"],
        id_token_status=row["id_tag_status"],
        flags=parse_flags(row["flags"]),
        closed_by=row["closed_by"],
        updated_at=row["updated_at"],
    )


def reservation(row: Mapping[Any, Any]) -> Reservation:
    return Reservation(
        reservation_id=int(row["id"]),
        station_id=row["station_id"],
        connector_id=row["connector_id"],
        id_token=row["id_token"],
        expiry_date=row["expiry_date"],
        status=ReservationStatus(row["status"]),
        parent_id_token=row["parent_id_token"],
        transaction_id=row["transaction_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def audit(row: Mapping[Any, Any]) -> TransactionAudit:
    return TransactionAudit(
        transaction_id=str(row["transaction_id"]),
        station_id=row["station_id"],
        action=row["action"],
        operator=row["operator"],
        reason=row["reason"],
        at=row["at"],
        details=dict(row["details"]),
    )


def unmatched(row: Mapping[Any, Any]) -> UnmatchedMessage:
    return UnmatchedMessage(
        station_id=row["station_id"],
        action=row["action"],
        transaction_id=row["transaction_id"],
        outcome=StopOutcome(row["outcome"]),
        received_at=row["received_at"],
        raw=dict(row["raw"]),
    )
