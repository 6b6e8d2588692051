"""2.x transactions with the token store and energy accounting, end to end on SQLite and
PostgreSQL: the `ocpp` package's 2.0.1 ChargePoint charges with a registered token and gets
idTokenInfo in every TransactionEventResponse that carries an idToken (E01.FR.11), a blocked or
unknown token is answered so (E05: the station deauthorizes), a token already in another
transaction is ConcurrentTx for a Started only, and the transaction's energy comes from the
Energy.Active.Import.Register readings of its events (signed values kept verbatim). The token's
group, language and EVSE restrictions go with every answer about it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import ChargePoint, call

from csms.blocks.authorization.commands import add_token
from csms.blocks.transactions.commands import list_open_transactions
from csms.domain.tokens import AuthorizationStatus
from csms.storage.tables import meter_values
from tests.integration.charging import csms_on, store_of
from tests.integration.harness import RunningCsms
from tests.unit.storage.db import fetch

BOOT = {"charging_station": {"model": "M", "vendor_name": "V"}, "reason": "PowerUp"}
T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SIGNED = {
    "signed_meter_data": "AP///8IAAAAAAQAAAAAAAAAAAAAA3lHgXQ==",
    "signing_method": "ECDSA-secp256r1-SHA256",
    "encoding_method": "OCMF",
    "public_key": "",
}


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    async with csms_on(database_url, tmp_path) as running:
        store = store_of(running)
        await running.add_station("TX2-1")
        await add_token(
            store.tokens, "DRIVER", now=T0, parent_id_token="FLEET", language="de", evse_ids=(1, 2)
        )
        await add_token(store.tokens, "STOLEN", now=T0, status=AuthorizationStatus.BLOCKED)
        yield running


def _at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _register(wh: float, seconds: int, context: str, **extra: Any) -> list[dict[str, Any]]:
    sample = {
        "value": wh,
        "context": context,
        "measurand": "Energy.Active.Import.Register",
        "unit_of_measure": {"unit": "Wh"},
        **extra,
    }
    return [{"timestamp": _at(seconds), "sampled_value": [sample]}]


def _event(
    tx: str, seq: int, event_type: str, trigger: str, seconds: int, *, evse: int = 1, **kw: Any
) -> call.TransactionEvent:
    return call.TransactionEvent(
        event_type=event_type,
        timestamp=_at(seconds),
        trigger_reason=trigger,
        seq_no=seq,
        transaction_info={"transaction_id": tx, **kw.pop("info", {})},
        evse={"id": evse, "connector_id": 1},
        **kw,
    )


def _token(value: str) -> dict[str, str]:
    return {"id_token": value, "type": "ISO14443"}


async def test_a_charge_with_the_ocpp_package_gets_id_token_info_and_energy(
    server: RunningCsms,
) -> None:
    store = store_of(server)
    async with server.connect("TX2-1", subprotocols=["ocpp2.0.1"]) as ws:
        cp = ChargePoint("TX2-1", ws)
        task = asyncio.create_task(cp.start())
        try:
            assert (await cp.call(call.BootNotification(**BOOT))).status == "Accepted"
            started = await cp.call(
                _event(
                    "E2E-1", 0, "Started", "Authorized", 0, id_token=_token("driver"),
                    meter_value=_register(1000.0, 0, "Transaction.Begin", signed_meter_value=SIGNED),
                )
            )  # fmt: skip
            # Case-insensitive like 1.6; the group and status come from the same store.
            assert started.id_token_info == {
                "status": "Accepted",
                "group_id_token": {"id_token": "FLEET", "type": "Central"},
                "language1": "de",
                "evse_id": [1, 2],
            }
            # The same token on another EVSE while this one runs: ConcurrentTx for a Started
            # (open 2.x transactions are matched on the token as the station spells it).
            other = await cp.call(
                _event("E2E-2", 0, "Started", "Authorized", 5, evse=2, id_token=_token("driver"))
            )
            assert other.id_token_info["status"] == "ConcurrentTx"
            update = await cp.call(
                _event("E2E-1", 1, "Updated", "MeterValuePeriodic", 60,
                       meter_value=_register(1600.0, 60, "Sample.Periodic"))
            )  # fmt: skip
            assert update.id_token_info is None  # no idToken, no idTokenInfo
            [open_tx] = [
                t for t in await list_open_transactions(store.charging, now=T0)
                if t.transaction_id == "E2E-1"
            ]  # fmt: skip
            assert (open_tx.meter_start_wh, open_tx.energy_wh) == (1000, 600)
            ended = await cp.call(
                _event("E2E-1", 2, "Ended", "StopAuthorized", 120, id_token=_token("DRIVER"),
                       info={"stopped_reason": "Local"},
                       meter_value=_register(2234.5, 120, "Transaction.End"))
            )  # fmt: skip
            assert ended.id_token_info["status"] == "Accepted"  # its own transaction: not busy
        finally:
            task.cancel()
    tx = await store.charging.get_v2("TX2-1", "E2E-1")
    assert tx is not None
    assert (tx.meter_start_wh, tx.meter_stop_wh, tx.energy_wh) == (1000, 2234, 1234)
    assert (tx.id_token_status, tx.stopped_reason, tx.flags, tx.open) == (
        "Accepted", "Local", frozenset(), False,
    )  # fmt: skip
    concurrent = await store.charging.get_v2("TX2-1", "E2E-2")
    assert concurrent is not None and concurrent.id_token_status == "ConcurrentTx"
    rows = await fetch(store.engine, meter_values, transaction_id="E2E-1")
    signed = [row["signed_data"] for row in rows if row["signed_data"] is not None]
    assert len(signed) == 1 and "AP///8IAAAAAAQAAAAAAAAAAAAAA3lHgXQ==" in signed[0]


async def test_blocked_and_unknown_tokens_are_answered_and_the_transaction_kept(
    server: RunningCsms,
) -> None:
    """E05: csms answers the status; the station deauthorizes. The transaction is stored with
    the status csms gave (an offline start is a fact), and a repeat gets the same answer."""
    store = store_of(server)
    async with server.connect("TX2-1", subprotocols=["ocpp2.0.1"]) as ws:
        cp = ChargePoint("TX2-1", ws)
        task = asyncio.create_task(cp.start())
        try:
            await cp.call(call.BootNotification(**BOOT))
            for tx, token, status in (("B-1", "STOLEN", "Blocked"), ("U-1", "NOBODY", "Invalid")):
                for _ in range(2):  # the second is a duplicate (same seqNo): same answer
                    started = await cp.call(
                        _event(tx, 0, "Started", "Authorized", 0, id_token=_token(token))
                    )
                    assert started.id_token_info == {"status": status}
                ended = await cp.call(
                    _event(
                        tx, 1, "Ended", "Deauthorized", 1, info={"stopped_reason": "DeAuthorized"}
                    )
                )
                assert ended.id_token_info is None
        finally:
            task.cancel()
    for tx_id, status in (("B-1", "Blocked"), ("U-1", "Invalid")):
        tx = await store.charging.get_v2("TX2-1", tx_id)
        assert tx is not None
        assert (tx.id_token_status, tx.stopped_reason, tx.open) == (status, "DeAuthorized", False)
