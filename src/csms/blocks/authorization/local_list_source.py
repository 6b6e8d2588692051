"""The id-token store as the source of stations' local authorization lists (1.6 §3.5.2).

A :class:`~csms.domain.localauth.LocalListSource` for
``LocalListCommands.send_full_list_from``: every registered token, with its status as of now
(a token past its expiry is sent as Expired, so the station refuses it offline, §3.5.4), its
expiry date and its parent. ConcurrentTx is never sent: it describes a moment, not the token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from csms.domain.charging_ports import IdTokenRepository
from csms.domain.localauth import LocalListEntry
from csms.domain.tokens import AuthorizationStatus, evaluate

__all__ = ["IdTokenListSource"]

_PAGE = 1000


class IdTokenListSource:
    """Every token of the store, for every station (implements ``LocalListSource``)."""

    def __init__(self, tokens: IdTokenRepository, *, clock: Callable[[], datetime]) -> None:
        self._tokens = tokens
        self._clock = clock

    async def local_list(self, station_id: str) -> Sequence[LocalListEntry]:
        now = self._clock()
        entries: list[LocalListEntry] = []
        offset = 0
        while True:
            page = await self._tokens.list(limit=_PAGE, offset=offset)
            for token in page:
                info = evaluate(token, now, in_other_transaction=False)
                entries.append(
                    LocalListEntry(
                        token.id_token,
                        AuthorizationStatus(info.status),
                        token.expiry_date,
                        token.parent_id_token,
                        token.token_type,
                    )
                )
            if len(page) < _PAGE:
                return entries
            offset += _PAGE
