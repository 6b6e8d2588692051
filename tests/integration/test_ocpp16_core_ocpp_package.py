"""OCPP 1.6 Core + Reservation end to end: the `ocpp` package's 1.6 ChargePoint against a real csms
over loopback, on SQLite and on PostgreSQL (the ``database_url`` fixture).

Covers both directions: Authorize, StartTransaction (consuming a reservation), MeterValues and
StopTransaction from the station; ReserveNow and CancelReservation from csms, through the typed
operator commands, answered by the ChargePoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16

from csms.blocks.authorization.commands import add_token
from csms.blocks.reservation.commands import cancel_reservation, reserve_now
from csms.domain.reservations import ReservationStatus
from csms.domain.tokens import AuthorizationStatus
from csms.storage.tables import meter_values
from tests.integration.charging import csms_on, store_of
from tests.unit.storage.db import fetch


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class Station(ChargePoint16):  # type: ignore[misc]
    """Holds reservations the way 1.6 §5.13 and §5.1 describe."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reservations: dict[int, dict[str, Any]] = {}

    @on(Action16.reserve_now)  # type: ignore[untyped-decorator]
    async def on_reserve_now(self, reservation_id: int, **kwargs: Any) -> Any:
        if kwargs["connector_id"] == 2:
            return result16.ReserveNow(status="Occupied")
        self.reservations[reservation_id] = kwargs
        return result16.ReserveNow(status="Accepted")

    @on(Action16.cancel_reservation)  # type: ignore[untyped-decorator]
    async def on_cancel_reservation(self, reservation_id: int) -> Any:
        found = self.reservations.pop(reservation_id, None)
        return result16.CancelReservation(status="Accepted" if found else "Rejected")


@asynccontextmanager
async def started(cp: Any) -> AsyncIterator[Any]:
    task = asyncio.create_task(cp.start())
    try:
        yield cp
    finally:
        task.cancel()


async def test_ocpp16_core_and_reservation_end_to_end(database_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    async with csms_on(database_url, tmp_path) as server:
        store = store_of(server)
        await server.add_station("CP16")
        await add_token(store.tokens, "TAG-OK", now=now, parent_id_token="FLEET")
        await add_token(store.tokens, "TAG-BLOCKED", now=now, status=AuthorizationStatus.BLOCKED)
        await add_token(store.tokens, "TAG-OLD", now=now, expiry_date=now - timedelta(days=1))
        async with (
            server.connect("CP16", subprotocols=["ocpp1.6"]) as ws,
            started(Station("CP16", ws)) as cp,
        ):
            boot = await cp.call(
                call16.BootNotification(charge_point_model="M", charge_point_vendor="V")
            )
            assert boot.status == "Accepted"

            # Authorize: accepted (with its group), unknown, blocked, expired; case-insensitive.
            ok = await cp.call(call16.Authorize(id_tag="tag-ok"))
            assert ok.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLEET"}
            for tag, status in (("NOPE", "Invalid"), ("TAG-BLOCKED", "Blocked")):
                answer = await cp.call(call16.Authorize(id_tag=tag))
                assert answer.id_tag_info["status"] == status
            old = await cp.call(call16.Authorize(id_tag="TAG-OLD"))
            assert old.id_tag_info["status"] == "Expired" and "expiry_date" in old.id_tag_info

            # ReserveNow / CancelReservation, CSMS -> station through the typed commands.
            gateway = server.csms.registry
            expiry = now + timedelta(hours=1)
            held = await reserve_now(
                gateway, store.reservations, store.tokens, station_id="CP16",
                connector_id=1, id_token="TAG-OK", expiry_date=expiry, now=now,
            )  # fmt: skip
            assert held.status is ReservationStatus.ACCEPTED
            assert cp.reservations[held.reservation_id]["parent_id_tag"] == "FLEET"
            busy = await reserve_now(
                gateway, store.reservations, store.tokens, station_id="CP16",
                connector_id=2, id_token="TAG-OK", expiry_date=expiry, now=now,
            )  # fmt: skip
            assert busy.status is ReservationStatus.OCCUPIED
            assert busy.reservation_id != held.reservation_id
            spare = await reserve_now(
                gateway, store.reservations, store.tokens, station_id="CP16",
                connector_id=0, id_token="TAG-OK", expiry_date=expiry, now=now,
            )  # fmt: skip
            cancelled = await cancel_reservation(
                gateway, store.reservations, spare.reservation_id, now=now
            )
            assert cancelled.status == "Accepted"  # an AcceptStatus (a StrEnum)
            assert cancelled.reservation.status is ReservationStatus.CANCELLED
            again = await cancel_reservation(
                gateway, store.reservations, spare.reservation_id, now=now
            )
            assert again.status == "Rejected"

            # StartTransaction consuming the reservation, MeterValues, StopTransaction.
            start = await cp.call(
                call16.StartTransaction(
                    connector_id=1, id_tag="TAG-OK", meter_start=1000, timestamp=_iso(now),
                    reservation_id=held.reservation_id,
                )
            )  # fmt: skip
            assert start.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLEET"}
            transaction_id = start.transaction_id
            assert isinstance(transaction_id, int) and transaction_id > 0
            used = await store.reservations.get(held.reservation_id, now)
            assert used is not None and used.status is ReservationStatus.USED
            assert used.transaction_id == str(transaction_id)
            # The token is now in a transaction: Authorize still answers its own status
            # (1.6 §7.2: ConcurrentTx is "only relevant for a StartTransaction.req").
            busy_tag = await cp.call(call16.Authorize(id_tag="TAG-OK"))
            assert busy_tag.id_tag_info["status"] == "Accepted"

            sample_time = _iso(now + timedelta(minutes=1))
            await cp.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=transaction_id,
                    meter_value=[
                        {
                            "timestamp": sample_time,
                            "sampled_value": [
                                {"value": "1.5", "unit": "kWh"},
                                {"value": "230.1", "measurand": "Voltage", "phase": "L1-N",
                                 "unit": "V", "context": "Sample.Periodic", "location": "Inlet"},
                                {"value": "0A1B2C", "format": "SignedData",
                                 "context": "Sample.Clock"},
                            ],
                        }
                    ],
                )
            )  # fmt: skip
            stop = await cp.call(
                call16.StopTransaction(
                    meter_stop=2500, timestamp=_iso(now + timedelta(minutes=2)),
                    transaction_id=transaction_id, reason="EVDisconnected", id_tag="TAG-OK",
                    transaction_data=[
                        {"timestamp": _iso(now + timedelta(minutes=2)),
                         "sampled_value": [{"value": "2500", "context": "Transaction.End"}]}
                    ],
                )
            )  # fmt: skip
            assert stop.id_tag_info == {"status": "Accepted", "parent_id_tag": "FLEET"}

        closed = await store.charging.get(transaction_id)
        assert closed is not None and not closed.open
        assert (closed.meter_start_wh, closed.meter_stop_wh, closed.energy_wh) == (1000, 2500, 1500)
        assert closed.stopped_reason == "EVDisconnected" and closed.flags == frozenset()
        assert closed.reservation_id == held.reservation_id and closed.closed_by == "station"
        rows = await fetch(store.engine, meter_values, transaction_id=str(transaction_id))
        kept = {(r["measurand"], r["phase"], r["unit"], r["context"], r["location"], r["raw_value"],
                 r["signed_data"]) for r in rows}  # fmt: skip
        assert kept == {
            ("Energy.Active.Import.Register", None, "kWh", "Sample.Periodic", "Outlet", "1.5", None),
            ("Voltage", "L1-N", "V", "Sample.Periodic", "Inlet", "230.1", None),
            ("Energy.Active.Import.Register", None, "Wh", "Sample.Clock", "Outlet", "0A1B2C",
             "0A1B2C"),
            ("Energy.Active.Import.Register", None, "Wh", "Transaction.End", "Outlet", "2500", None),
        }  # fmt: skip
