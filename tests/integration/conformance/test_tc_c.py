"""OCPP 2.0.1 Part 6 §3.4, C Authorization: the CSMS test cases, the OCTT's side played over a
real WebSocket against a running csms.

Tokens come from the same store as 1.6 (``csms token add``); a TransactionEvent carrying an
idToken is answered with idTokenInfo from it (E01.FR.11, C12.FR.03). The master pass (C16) is a
group: a token whose groupIdToken is the station's MasterPassGroupId; csms answers it Accepted
with that group, and the station decides to stop transactions with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from csms.blocks.authorization.cache import ClearCache
from csms.blocks.authorization.commands import add_token
from csms.domain.commands import AcceptStatus
from csms.domain.tokens import AuthorizationStatus
from tests.integration.conformance.octt import (
    VALID_TOKEN,
    Octt,
    Transaction,
    connected,
    operator,
)
from tests.integration.harness import RunningCsms

Payload = dict[str, Any]
INVALID_TOKEN = {"idToken": "OCTT-UNKNOWN-1", "type": "ISO14443"}  # never registered
BLOCKED_TOKEN = {"idToken": "OCTT-BLOCKED-1", "type": "ISO14443"}
EXPIRED_TOKEN = {"idToken": "OCTT-EXPIRED-1", "type": "ISO14443"}
VALID_TOKEN2 = {"idToken": "OCTT-VALID-2", "type": "ISO14443"}
MASTERPASS_TOKEN = {"idToken": "OCTT-MASTER-1", "type": "ISO14443"}
GROUP = "OCTT-GROUP"  # <Configured groupIdToken>
MASTER_PASS_GROUP = "OCTT-MASTERPASS"  # <Configured masterPassGroupId>
TWO_EVSES = ((1, 1), (2, 1))


async def _token(
    server: RunningCsms,
    token: Payload,
    *,
    status: AuthorizationStatus = AuthorizationStatus.ACCEPTED,
    expiry: datetime | None = None,
    group: str | None = None,
) -> None:
    """Memory State: the token as the OCTT is configured (``csms token add``)."""
    assert server.csms.store is not None
    now = datetime.now(UTC)
    await add_token(
        server.csms.store.tokens,
        token["idToken"],
        now=now,
        status=status,
        expiry_date=expiry,
        parent_id_token=group,
    )


async def _authorize(octt: Octt, token: Payload) -> Payload:
    response = await octt.call("Authorize", {"idToken": token})
    info: Payload = response["idTokenInfo"]
    return info


def _group(info: Payload) -> str:
    assert info["status"] == "Accepted", info
    return str(info["groupIdToken"]["idToken"])


async def test_TC_C_02_CSMS_authorization_invalid_unknown(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        assert (await _authorize(octt, INVALID_TOKEN))["status"] in ("Invalid", "Unknown")


async def test_TC_C_06_CSMS_authorization_blocked(server: RunningCsms) -> None:
    await _token(server, BLOCKED_TOKEN, status=AuthorizationStatus.BLOCKED)
    async with connected(server) as octt:
        await octt.booted()
        assert (await _authorize(octt, BLOCKED_TOKEN))["status"] == "Blocked"


async def test_TC_C_07_CSMS_authorization_expired(server: RunningCsms) -> None:
    await _token(server, EXPIRED_TOKEN, expiry=datetime.now(UTC) - timedelta(days=1))
    async with connected(server) as octt:
        await octt.booted()
        assert (await _authorize(octt, EXPIRED_TOKEN))["status"] == "Expired"


async def _cached(server: RunningCsms, token: Payload) -> Payload:
    """EVConnectedPreSession, then the TransactionEvent Authorized of a token the station found
    in its Authorization Cache (no AuthorizeRequest: C12)."""
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.ev_connected_pre_session()
        response = await tx.event("Updated", "Authorized", id_token=token)
    info: Payload = response["idTokenInfo"]
    return info


async def test_TC_C_08_CSMS_authorization_cache_accepted(server: RunningCsms) -> None:
    assert (await _cached(server, VALID_TOKEN))["status"] == "Accepted"


async def test_TC_C_20_CSMS_authorization_cache_invalid(server: RunningCsms) -> None:
    """The token is Invalid at the CSMS though Accepted in the station's cache: csms says so,
    and the station deauthorizes the transaction (E05)."""
    assert (await _cached(server, INVALID_TOKEN))["status"] in ("Invalid", "Unknown")
    assert server.csms.store is not None
    tx = await server.csms.store.charging.get_v2("OCTT-CS", "OCTT-TX-1")
    assert tx is not None and tx.id_token_status == "Invalid"


async def _clear_cache(server: RunningCsms, answer: str) -> None:
    async with connected(server) as octt:
        await octt.booted()
        task = operator(server, ClearCache())
        assert await octt.answer("ClearCache", {"status": answer}) == {}
        assert (await task).status is AcceptStatus(answer)


async def test_TC_C_37_CSMS_clear_authorization_cache_accepted(server: RunningCsms) -> None:
    await _clear_cache(server, "Accepted")


async def test_TC_C_38_CSMS_clear_authorization_cache_rejected(server: RunningCsms) -> None:
    await _clear_cache(server, "Rejected")


async def test_TC_C_39_CSMS_authorization_by_group_id(server: RunningCsms) -> None:
    await _token(server, VALID_TOKEN, group=GROUP)
    await _token(server, VALID_TOKEN2, group=GROUP)
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.ev_connected_pre_session()  # Reusable State EVConnectedPreSession
        assert _group(await _authorize(octt, VALID_TOKEN2)) == GROUP
        started = await tx.event("Updated", "Authorized", id_token=VALID_TOKEN)
        assert _group(started["idTokenInfo"]) == GROUP
        tx.authorized = True
        await tx.energy_transfer_started()
        assert _group(await _authorize(octt, VALID_TOKEN2)) == GROUP
        stop = await tx.event("Updated", "StopAuthorized", id_token=VALID_TOKEN2)
        assert _group(stop["idTokenInfo"]) == GROUP
        await tx.ev_connected_post_session()
        await tx.ev_disconnected()


async def _two_charging(octt: Octt) -> tuple[Transaction, Transaction]:
    """EnergyTransferStarted for EVSE 1 with valid idToken and EVSE 2 with valid idToken2."""
    await octt.booted(TWO_EVSES)
    first = octt.transaction("OCTT-TX-1", evse_id=1)
    await first.energy_transfer_started()
    second = octt.transaction("OCTT-TX-2", evse_id=2)
    assert _group_or_none(await _authorize(octt, VALID_TOKEN2)) is None
    started = await second.event("Started", "Authorized", id_token=VALID_TOKEN2)
    assert started["idTokenInfo"]["status"] == "Accepted"
    second.authorized = True
    await second.energy_transfer_started()
    return first, second


def _group_or_none(info: Payload) -> str | None:
    assert info["status"] == "Accepted", info
    group = info.get("groupIdToken")
    return None if group is None else str(group["idToken"])


async def _master_pass_stops(
    server: RunningCsms, txs: tuple[Transaction, ...], token: Payload
) -> None:
    """TransactionEvent Ended, stoppedReason MasterPass, for each transaction; each answered."""
    for tx in txs:
        ended = await tx.event(
            "Ended", "StopAuthorized", stopped_reason="MasterPass", id_token=token
        )
        assert ended["idTokenInfo"]["status"] == "Accepted", ended
        if token == MASTERPASS_TOKEN:
            assert _group(ended["idTokenInfo"]) == MASTER_PASS_GROUP
    assert server.csms.store is not None
    for tx in txs:
        stored = await server.csms.store.charging.get_v2("OCTT-CS", tx.transaction_id)
        assert stored is not None and not stored.open
        assert stored.stopped_reason == "MasterPass"


async def test_TC_C_47_CSMS_master_pass_with_ui_all_transactions(server: RunningCsms) -> None:
    await _token(server, VALID_TOKEN2)
    await _token(server, MASTERPASS_TOKEN, group=MASTER_PASS_GROUP)
    async with connected(server) as octt:
        txs = await _two_charging(octt)
        assert _group(await _authorize(octt, MASTERPASS_TOKEN)) == MASTER_PASS_GROUP
        await _master_pass_stops(server, txs, MASTERPASS_TOKEN)


async def test_TC_C_48_CSMS_master_pass_with_ui_specific_transaction(server: RunningCsms) -> None:
    """Step 1 names <valid_idtoken> but step 2 validates groupIdToken <masterPassGroupId>: the
    master pass token is the one that has it, so it is the one presented."""
    await _token(server, MASTERPASS_TOKEN, group=MASTER_PASS_GROUP)
    async with connected(server) as octt:
        await octt.booted()
        tx = octt.transaction()
        await tx.energy_transfer_started()
        assert _group(await _authorize(octt, MASTERPASS_TOKEN)) == MASTER_PASS_GROUP
        await _master_pass_stops(server, (tx,), MASTERPASS_TOKEN)


async def test_TC_C_49_CSMS_master_pass_without_ui(server: RunningCsms) -> None:
    await _token(server, VALID_TOKEN2)
    await _token(server, MASTERPASS_TOKEN, group=MASTER_PASS_GROUP)
    async with connected(server) as octt:
        txs = await _two_charging(octt)
        assert _group(await _authorize(octt, MASTERPASS_TOKEN)) == MASTER_PASS_GROUP
        await _master_pass_stops(server, txs, VALID_TOKEN)
