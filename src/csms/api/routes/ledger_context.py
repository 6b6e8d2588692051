"""Where the transaction routes and the station detail find the ledger (on the app's state)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fastapi import FastAPI, Request

from csms.api.deps import attach, attached
from csms.domain.charging_ports import ChargingTransactionRepository
from csms.domain.ledger import Ledger

__all__ = ["TransactionsApi", "attach_transactions", "optional_ledger", "transactions_api"]

_STATE_KEY: Final = "csms_transactions"


@dataclass(frozen=True, slots=True)
class TransactionsApi:
    """What the transaction routes work with (attached to the app by ``create_app``)."""

    ledger: Ledger
    charging: ChargingTransactionRepository


def attach_transactions(app: FastAPI, api: TransactionsApi) -> None:
    """Store ``api`` on the app, where the routes (and the station detail) find it."""
    attach(app, _STATE_KEY, api)


def transactions_api(request: Request) -> TransactionsApi:
    return attached(request, _STATE_KEY)  # type: ignore[no-any-return]


def optional_ledger(request: Request) -> Ledger | None:
    """The ledger if the app has one (the station detail shows running transactions with it)."""
    api = getattr(request.app.state, _STATE_KEY, None)
    return api.ledger if isinstance(api, TransactionsApi) else None
