"""2.0.1 and 2.1 Authorize answered from the same id-token store as 1.6 (over the wire)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from csms.blocks.authorization.commands import add_token
from csms.domain.tokens import AuthorizationStatus
from tests.integration.harness import BOOT_2X, RunningCsms, call


@pytest.mark.parametrize("subprotocol", ["ocpp2.0.1", "ocpp2.1"])
async def test_authorize_2x_uses_the_token_store(server: RunningCsms, subprotocol: str) -> None:
    store = server.csms.store
    assert store is not None
    now = datetime.now(UTC)
    expiry = (now + timedelta(days=30)).replace(microsecond=0)
    await add_token(store.tokens, "RFID-1", now=now, expiry_date=expiry, parent_id_token="FLEET")
    await add_token(store.tokens, "RFID-2", now=now, status=AuthorizationStatus.BLOCKED)
    await server.add_station("CS2X")
    async with server.connect("CS2X", subprotocols=[subprotocol]) as ws:
        assert (await call(ws, "b", "BootNotification", BOOT_2X))[2]["status"] == "Accepted"
        token = {"idToken": "rfid-1", "type": "ISO14443"}
        reply = await call(ws, "a1", "Authorize", {"idToken": token})
        assert reply[2] == {
            "idTokenInfo": {
                "status": "Accepted",
                "cacheExpiryDateTime": expiry.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "groupIdToken": {"idToken": "FLEET", "type": "Central"},
            }
        }
        blocked = await call(
            ws, "a2", "Authorize", {"idToken": {"idToken": "RFID-2", "type": "ISO14443"}}
        )
        assert blocked[2] == {"idTokenInfo": {"status": "Blocked"}}
        unknown = await call(
            ws, "a3", "Authorize", {"idToken": {"idToken": "X", "type": "Central"}}
        )
        assert unknown[2] == {"idTokenInfo": {"status": "Invalid"}}
