"""Authorize for 1.6 (§4.1, §6.1) and 2.x (C01), answered from the id-token store.

An Authorize changes nothing; storage answers it with the writes it is batched with (one read of
the batch's tokens). The rules are in :func:`csms.domain.tokens.evaluate` (unknown → Invalid,
stored Blocked/Invalid, expired → Expired, else Accepted). An Authorize is answered with the
token's own status, never ConcurrentTx: 1.6 §7.2 keeps it for StartTransaction.req ("only relevant
for a StartTransaction.req") and 2.0.1 AuthorizationStatusEnumType for the response to a
TransactionEventRequest(eventType=Started); a driver whose token is in a transaction may still
Authorize, e.g. to stop it.

With tariffs (block I), an accepted 2.x token's idTokenInfo carries ``personalMessage``: the text
of the tariff that would price the driver here (token, group, station or default; an
AuthorizeRequest names no EVSE), in the driver's language (2.0.1 I01 "Show EV Driver-specific
Tariff Information").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.authorization.payloads import id_tag_info, id_token_info
from csms.blocks.context import CallContext
from csms.blocks.routing import handles
from csms.blocks.tariff.pricing import TariffPricer
from csms.domain.charging_ports import IdTokenRepository
from csms.domain.tokens import AuthorizationStatus
from csms.rpc import OcppVersion

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)


class AuthorizationBlock:
    """Handlers of the authorization block."""

    def __init__(
        self,
        tokens: IdTokenRepository,
        *,
        clock: Callable[[], datetime],
        pricer: TariffPricer | None = None,
    ) -> None:
        self._tokens = tokens
        self._clock = clock
        self._pricer = pricer

    @handles(OcppVersion.V16, "Authorize")
    async def authorize_v16(self, ctx: CallContext, payload: Payload) -> Payload:
        """1.6 §6.1 Authorize.req → Authorize.conf(idTagInfo)."""
        info = await self._tokens.authorize(payload["idTag"], self._clock())
        return {"idTagInfo": id_tag_info(info)}

    @handles(V2, "Authorize")
    async def authorize_v2(self, ctx: CallContext, payload: Payload) -> Payload:
        """2.x AuthorizeRequest(idToken) → idTokenInfo, from the same store as 1.6; a token
        stored with another type is unknown (``tokens.type_matches``)."""
        token = payload["idToken"]
        info = await self._tokens.authorize(token["idToken"], self._clock(), token.get("type"))
        out = id_token_info(info)
        if self._pricer is not None and info.status is AuthorizationStatus.ACCEPTED:
            message = await self._pricer.personal_message(
                ctx.station_id, None, token["idToken"], info.parent_id_token, info.language
            )
            if message is not None:
                out["personalMessage"] = message
        return {"idTokenInfo": out}
