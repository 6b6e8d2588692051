"""OCPP 2.0.1 Part 6 §3.6, E Transactions: the CSMS test cases, the OCTT's side played over a
real WebSocket against a running csms.

Besides each case's tool validations, the tests check what csms made of the events: one
transaction per (station, transactionId) with its stop reason, the idToken's status, the energy
from the Energy.Active.Import.Register readings, and SeqNoGap while seqNos are missing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from csms.blocks.remotecontrol.commands import RemoteStopTransaction
from csms.blocks.transactions.status_command import GetTransactionStatus, TransactionStatus
from csms.domain.commands import AcceptStatus
from csms.domain.transactions import Transaction as StoredTransaction
from csms.domain.transactions import TransactionFlag
from tests.integration.conformance.octt import (
    STATION,
    VALID_TOKEN,
    Octt,
    Transaction,
    connected,
    meter_value,
    operator,
)
from tests.integration.harness import RunningCsms

Payload = dict[str, Any]
INVALID_TOKEN = {"idToken": "OCTT-UNKNOWN-1", "type": "ISO14443"}  # never registered
SIGNED = {
    "signedMeterData": "AP///8IAAAAAAQAAAAAAAAAAAAAA3lHgXQ==",
    "signingMethod": "ECDSA-secp256r1-SHA256",
    "encodingMethod": "OCMF",
    "publicKey": "",
}


async def _stored(server: RunningCsms, transaction_id: str = "OCTT-TX-1") -> StoredTransaction:
    assert server.csms.store is not None
    tx = await server.csms.store.charging.get_v2(STATION, transaction_id)
    assert tx is not None
    return tx


async def _ended(server: RunningCsms, reason: str, transaction_id: str = "OCTT-TX-1") -> None:
    """Post scenario: the transaction is closed by the station with ``reason``."""
    tx = await _stored(server, transaction_id)
    assert (tx.open, tx.stopped_reason, tx.closed_by) == (False, reason, "station")


def _accepted(response: Payload) -> None:
    assert response["idTokenInfo"]["status"] == "Accepted", response


async def _authorize(octt: Octt) -> None:
    response = await octt.call("Authorize", {"idToken": VALID_TOKEN})
    assert response["idTokenInfo"]["status"] == "Accepted", response


async def _started_on_occupied(
    octt: Octt, trigger: str, charging_state: str, **kwargs: Any
) -> Transaction:
    """Authorize, connector Occupied, then Started with the valid token (E01 start options)."""
    await octt.booted()
    await _authorize(octt)
    await octt.connector_status(1, 1, "Occupied")
    tx = octt.transaction()
    started = await tx.event(
        "Started", trigger, charging_state=charging_state, id_token=VALID_TOKEN, **kwargs
    )
    _accepted(started)
    return tx


async def test_TC_E_01_CSMS_start_power_path_closed(server: RunningCsms) -> None:
    async with connected(server) as octt:
        tx = await _started_on_occupied(octt, "ChargingStateChanged", "SuspendedEVSE")
        await tx.event("Updated", "ChargingStateChanged", charging_state="Charging")
    stored = await _stored(server)
    assert (stored.id_token, stored.id_token_status, stored.evse_id) == (
        "OCTT-VALID-1",
        "Accepted",
        1,
    )


async def test_TC_E_02_CSMS_start_energy_transfer(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await _started_on_occupied(octt, "ChargingStateChanged", "Charging")
    assert (await _stored(server)).open


async def test_TC_E_03_CSMS_local_start_cable_plugin_first(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.ev_connected_pre_session()
        await tx.authorize()
        await tx.energy_transfer_started()
    assert (await _stored(server)).id_token_status == "Accepted"


async def test_TC_E_04_CSMS_local_start_authorization_first(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.authorize()
        await tx.energy_transfer_started()
    assert (await _stored(server)).id_token_status == "Accepted"


async def test_TC_E_39_CSMS_stop_deauthorized_timeout(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.authorize()
        assert await tx.event("Ended", "EVConnectTimeout", stopped_reason="Timeout") == {}
    await _ended(server, "Timeout")


async def _charging(octt: Octt) -> Transaction:
    await octt.booted()
    tx = octt.transaction()
    await tx.energy_transfer_started()
    return tx


async def test_TC_E_14_CSMS_stop_ev_disconnected_station_side(server: RunningCsms) -> None:
    async with connected(server) as octt:
        tx = await _charging(octt)
        await tx.stop_authorized()
        await tx.ev_connected_post_session()  # Reusable State EVConnectedPostSession
        await tx.ev_disconnected()
    await _ended(server, "EVDisconnected")


async def _suspended(octt: Octt) -> Transaction:
    """Reusable State EnergyTransferSuspended: charging, then SuspendedEV."""
    tx = await _charging(octt)
    await tx.event("Updated", "ChargingStateChanged", charging_state="SuspendedEV")
    return tx


async def test_TC_E_20_CSMS_stop_ev_disconnected_ev_side(server: RunningCsms) -> None:
    async with connected(server) as octt:
        tx = await _suspended(octt)
        await tx.ev_disconnected()
    await _ended(server, "EVDisconnected")


async def test_TC_E_15_CSMS_stop_authorized_local(server: RunningCsms) -> None:
    async with connected(server) as octt:
        tx = await _charging(octt)
        ended = await tx.event(
            "Ended", "StopAuthorized", stopped_reason="Local", id_token=VALID_TOKEN
        )
        _accepted(ended)  # the token that started it may stop it: not ConcurrentTx
    await _ended(server, "Local")


async def test_TC_E_21_CSMS_stop_authorized_remote(server: RunningCsms) -> None:
    async with connected(server) as octt:
        tx = await _charging(octt)
        task = operator(server, RemoteStopTransaction(tx.transaction_id))
        request = await octt.answer("RequestStopTransaction", {"status": "Accepted"})
        assert request == {"transactionId": tx.transaction_id}
        assert (await task).status is AcceptStatus.ACCEPTED
        await tx.event("Ended", "RemoteStop", stopped_reason="Remote")
    await _ended(server, "Remote")


async def test_TC_E_09_CSMS_start_ev_connected(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        await octt.connector_status(1, 1, "Occupied")
        tx = octt.transaction()
        assert await tx.event("Started", "CablePluggedIn", charging_state="EVConnected") == {}
    stored = await _stored(server)
    assert (stored.id_token, stored.id_token_status, stored.open) == (None, None, True)


async def test_TC_E_10_CSMS_start_authorized_local(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        await _authorize(octt)
        tx = octt.transaction()
        _accepted(await tx.event("Started", "Authorized", id_token=VALID_TOKEN))


async def test_TC_E_11_CSMS_start_data_signed(server: RunningCsms) -> None:
    begin = [meter_value(0.0, "Transaction.Begin", signed=SIGNED)]
    async with connected(server) as octt:
        tx = await _started_on_occupied(
            octt, "SignedDataReceived", "EVConnected", meter_values=begin
        )
        await tx.event("Updated", "ChargingStateChanged", charging_state="Charging")
    stored = await _stored(server)
    assert (stored.meter_start_wh, stored.energy_wh) == (0, 0)


async def test_TC_E_12_CSMS_start_parking_bay_occupied(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        assert await octt.transaction().event("Started", "EVDetected") == {}
    assert (await _stored(server)).open


async def test_TC_E_38_CSMS_local_start_ev_not_ready(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.authorize()
        await tx.ev_connected_pre_session()
        await tx.event("Updated", "ChargingStateChanged", charging_state="SuspendedEV")
    assert (await _stored(server)).open


async def test_TC_E_07_CSMS_stop_power_path_closed_local(server: RunningCsms) -> None:
    async with connected(server) as octt:
        tx = await _charging(octt)
        await tx.event("Ended", "StopAuthorized", stopped_reason="Local")
    await _ended(server, "Local")


async def test_TC_E_08_CSMS_stop_energy_transfer_stopped_stop_authorized(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        tx = await _charging(octt)
        await tx.stop_authorized()  # Reusable State StopAuthorized
        await tx.event(
            "Ended", "ChargingStateChanged", charging_state="EVConnected", stopped_reason="Local"
        )
    await _ended(server, "Local")


async def test_TC_E_16_CSMS_stop_deauthorized_invalid_id_token(server: RunningCsms) -> None:
    """E05/E01.FR.11: the token is not Accepted; the station deauthorizes and ends the
    transaction; csms keeps the status it answered."""
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        started = await tx.event("Started", "Authorized", id_token=INVALID_TOKEN)
        assert started["idTokenInfo"]["status"] in ("Invalid", "Unknown")
        await tx.event("Ended", "Deauthorized", stopped_reason="DeAuthorized")
    stored = await _stored(server)
    assert stored.id_token_status == "Invalid"
    await _ended(server, "DeAuthorized")


async def test_TC_E_17_CSMS_stop_deauthorized_ev_side_disconnect(server: RunningCsms) -> None:
    async with connected(server) as octt:
        tx = await _suspended(octt)
        await tx.event(
            "Ended", "EVCommunicationLost", charging_state="Idle", stopped_reason="EVDisconnected"
        )
    await _ended(server, "EVDisconnected")


async def test_TC_E_22_CSMS_stop_energy_transfer_stopped_suspended_ev(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        tx = await _charging(octt)
        await tx.event(
            "Ended",
            "ChargingStateChanged",
            charging_state="SuspendedEV",
            stopped_reason="StoppedByEV",
        )
    await _ended(server, "StoppedByEV")


async def test_TC_E_19_CSMS_stop_parking_bay_unoccupied(server: RunningCsms) -> None:
    """Reusable State EVDisconnected with TxStopPoint ParkingBayOccupancy: the cable is gone but
    the transaction runs on (an Updated) until the EV leaves the bay."""
    async with connected(server) as octt:
        tx = await _charging(octt)
        await octt.connector_status(1, 1, "Available")
        await tx.event("Updated", "EVCommunicationLost", charging_state="Idle")
        assert (await _stored(server)).open
        await tx.event("Ended", "EVDeparted", stopped_reason="Local")
    await _ended(server, "Local")


async def test_TC_E_26_CSMS_ev_side_disconnect_suspends(server: RunningCsms) -> None:
    async with connected(server) as octt:
        tx = await _suspended(octt)
        await tx.event("Updated", "EVCommunicationLost", charging_state="Idle")
        await octt.connector_status(1, 1, "Available")
        await tx.event("Updated", "CablePluggedIn", charging_state="EVConnected")
        await tx.event("Updated", "ChargingStateChanged", charging_state="Charging")
    stored = await _stored(server)
    # The connector was reported Available with the transaction still running (E10): it is not
    # taken for abandoned, as the station said nothing of it ending.
    assert stored.open, stored


async def _transaction_status(
    server: RunningCsms, octt: Octt, transaction_id: str | None, answer: Payload
) -> TransactionStatus:
    task = operator(server, GetTransactionStatus(transaction_id))
    request = await octt.answer("GetTransactionStatus", answer)
    assert request == ({} if transaction_id is None else {"transactionId": transaction_id})
    return await task


async def _offline_update(tx: Transaction) -> None:
    """A queued TransactionEvent Updated with meter values, delivered after the outage."""
    later = datetime.now(UTC) - timedelta(seconds=5)
    await tx.event(
        "Updated",
        "MeterValuePeriodic",
        meter_values=[meter_value(1500.0, "Sample.Periodic", at=later)],
        extra={"offline": True},
    )


async def test_TC_E_29_CSMS_transaction_status_ongoing_with_queue(server: RunningCsms) -> None:
    async with connected(server) as octt:
        tx = await _charging(octt)
    async with connected(server) as octt:  # the OCTT reconnects after the outage
        tx.octt = octt
        status = await _transaction_status(
            server, octt, tx.transaction_id, {"ongoingIndicator": True, "messagesInQueue": True}
        )
        assert status == TransactionStatus(messages_in_queue=True, ongoing=True)
        await _offline_update(tx)
    assert (await _stored(server)).meter_stop_wh == 1500


async def test_TC_E_30_CSMS_transaction_status_ongoing_without_queue(server: RunningCsms) -> None:
    async with connected(server) as octt:
        tx = await _charging(octt)
        status = await _transaction_status(
            server, octt, tx.transaction_id, {"ongoingIndicator": True, "messagesInQueue": False}
        )
    assert status == TransactionStatus(messages_in_queue=False, ongoing=True)


async def test_TC_E_31_CSMS_transaction_status_ended_with_queue(server: RunningCsms) -> None:
    """The Ended comes first, two seqNos early; csms closes the transaction, flags the gap, and
    clears the flag when the two queued events arrive (out of order, offline)."""
    async with connected(server) as octt:
        tx = await _charging(octt)
    async with connected(server) as octt:
        tx.octt = octt
        skipped = tx.seq_no
        tx.seq_no += 2
        await tx.event(
            "Ended",
            "EVCommunicationLost",
            charging_state="Idle",
            stopped_reason="EVDisconnected",
            extra={"offline": True},
        )
        stored = await _stored(server)
        assert not stored.open and TransactionFlag.SEQ_NO_GAP in stored.flags
        status = await _transaction_status(
            server, octt, tx.transaction_id, {"ongoingIndicator": False, "messagesInQueue": True}
        )
        assert status == TransactionStatus(messages_in_queue=True, ongoing=False)
        tx.seq_no = skipped
        stop = await tx.event(
            "Updated", "StopAuthorized", id_token=VALID_TOKEN, extra={"offline": True}
        )
        _accepted(stop)
        await tx.event(
            "Updated",
            "ChargingStateChanged",
            charging_state="EVConnected",
            extra={"offline": True},
        )
    stored = await _stored(server)
    assert TransactionFlag.SEQ_NO_GAP not in stored.flags, stored
    assert (stored.open, stored.stopped_reason, stored.seq_nos) == (False, "EVDisconnected", "0..5")


async def test_TC_E_33_CSMS_transaction_status_without_id_with_queue(server: RunningCsms) -> None:
    async with connected(server) as octt:
        tx = await _charging(octt)
    async with connected(server) as octt:
        tx.octt = octt
        status = await _transaction_status(server, octt, None, {"messagesInQueue": True})
        assert status == TransactionStatus(messages_in_queue=True, ongoing=None)
        await _offline_update(tx)


async def test_TC_E_34_CSMS_transaction_status_without_id_without_queue(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        status = await _transaction_status(server, octt, None, {"messagesInQueue": False})
    assert status == TransactionStatus(messages_in_queue=False, ongoing=None)


async def test_TC_E_53_CSMS_seq_no_restarts_at_zero(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        for transaction_id in ("OCTT-TX-1", "OCTT-TX-2"):
            tx = octt.transaction(transaction_id)
            await tx.energy_transfer_started()  # seqNo 0 again: another transaction
            await tx.ev_disconnected()
            await _ended(server, "EVDisconnected", transaction_id)
            assert (await _stored(server, transaction_id)).flags == frozenset()
