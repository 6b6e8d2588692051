"""A 2.0.1 reservation end to end: ReserveNow through the typed command, answered by the station,
then used up by the TransactionEvent that names it (2.0.1 H01)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson

from csms.blocks.reservation.commands import reserve_now
from csms.domain.reservations import ReservationStatus
from tests.integration.harness import BOOT_2X, RunningCsms, call


async def test_reservation_2x_is_used_by_its_transaction_event(server: RunningCsms) -> None:
    store = server.csms.store
    assert store is not None
    now = datetime.now(UTC)
    await server.add_station("CS201")
    async with server.connect("CS201", subprotocols=["ocpp2.0.1"]) as ws:
        assert (await call(ws, "b", "BootNotification", BOOT_2X))[2]["status"] == "Accepted"
        task = asyncio.create_task(
            reserve_now(
                server.csms.registry, store.reservations, store.tokens, station_id="CS201",
                connector_id=1, id_token="RFID-9", expiry_date=now + timedelta(hours=1), now=now,
            )
        )  # fmt: skip
        frame = orjson.loads(await ws.recv())
        assert frame[0] == 2 and frame[2] == "ReserveNow"
        assert frame[3]["evseId"] == 1 and frame[3]["idToken"]["idToken"] == "RFID-9"
        await ws.send(orjson.dumps([3, frame[1], {"status": "Accepted"}]).decode())
        made = await task
        assert made.status is ReservationStatus.ACCEPTED
        event = {
            "eventType": "Started",
            "timestamp": now.isoformat(),
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "TX-9"},
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": "RFID-9", "type": "ISO14443"},
            "reservationId": made.reservation_id,
        }
        for message_id in ("e1", "e2"):  # the second one is a retry
            assert (await call(ws, message_id, "TransactionEvent", event))[0] == 3
    used = await store.reservations.get(made.reservation_id, now)
    assert used is not None
    assert (used.status, used.transaction_id) == (ReservationStatus.USED, "TX-9")
