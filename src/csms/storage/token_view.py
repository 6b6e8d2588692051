"""The id tokens of a batch of transaction messages, read at once inside the group commit.

1.6 Authorize/StartTransaction/StopTransaction and 2.x Authorize/TransactionEvent are answered
from it: one statement for the tokens (with the open 1.6 transactions each is in) and, when any
token is known, one for the open 2.x transactions they are in. The view is kept current as the
batch's messages are applied in submission order, so a token started twice in one batch is
ConcurrentTx the second time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from csms.domain.tokens import (
    AuthorizationStatus,
    IdToken,
    IdTokenInfo,
    evaluate,
    token_key,
    type_matches,
)
from csms.storage.charging_rows import parse_evse_ids
from csms.storage.statements import PreparedFamily, codec, power_of_two_chunks
from csms.storage.tables import transactions
from csms.storage.tables_charging import id_tokens, transactions_v16

__all__ = ["TokenView", "V2Key"]

V2Key = tuple[str, str]  # a 2.x transaction: (station_id, transactionId)

_T = transactions_v16.c


def _tokens_by_key(_dialect: Dialect, count: int) -> Select[Any]:
    """The tokens with these keys, one row per open 1.6 transaction each is in (or one with
    no transaction id)."""
    c = id_tokens.c
    open_v16 = and_(_T.id_tag_key == c.key, _T.ended_at.is_(None))
    return (
        select(
            c.key,
            c.id_token,
            c.status,
            c.expiry_date,
            c.parent_id_token,
            c.language,
            c.evse_ids,
            c.token_type,
            _T.id,
        )
        .select_from(id_tokens.outerjoin(transactions_v16, open_v16))
        .where(c.key.in_([""] * count))  # placeholders only: rendered, never bound
    )


def _open_v2_by_token(_dialect: Dialect, count: int) -> Select[Any]:
    c = transactions.c
    return select(c.id_token, c.station_id, c.transaction_id).where(
        c.started_at.is_not(None), c.ended_at.is_(None), c.id_token.in_([""] * count)
    )


_TOKENS = PreparedFamily(_tokens_by_key, 1)
_OPEN_V2 = PreparedFamily(_open_v2_by_token, 1)


@dataclass(slots=True)
class TokenView:
    """The tokens of a batch and the open transactions they are in, kept current as the batch's
    messages are applied in order."""

    tokens: dict[str, IdToken] = field(default_factory=dict)
    open_v16: dict[str, set[int]] = field(default_factory=dict)  # token key -> transaction ids
    open_v2: dict[str, set[V2Key]] = field(default_factory=dict)  # token -> 2.x transactions

    @classmethod
    async def load(cls, conn: AsyncConnection, id_tokens_seen: Iterable[str]) -> TokenView:
        values = sorted(set(id_tokens_seen))
        view = cls()
        if not values:
            return view
        read_timestamp = codec(conn.dialect).read_timestamp
        keys = sorted({token_key(v) for v in values})
        for chunk in power_of_two_chunks(keys):
            found = await _TOKENS(len(chunk)).fetchall(conn, tuple(chunk))
            for key, value, status, expiry, parent, language, evses, kind, transaction_id in found:
                if key not in view.tokens:
                    view.tokens[key] = IdToken(
                        value, AuthorizationStatus(status), read_timestamp(expiry), parent,
                        language=language, evse_ids=parse_evse_ids(evses), token_type=kind,
                    )  # fmt: skip
                if transaction_id is not None:
                    view.open_v16.setdefault(key, set()).add(int(transaction_id))
        if not view.tokens:  # unknown tokens are Invalid whatever they are in
            return view
        for chunk in power_of_two_chunks(values):
            for token, station_id, tx_id in await _OPEN_V2(len(chunk)).fetchall(conn, tuple(chunk)):
                view.open_v2.setdefault(token, set()).add((station_id, tx_id))
        return view

    def info(
        self,
        id_token: str,
        now: datetime,
        *,
        exclude: int | None = None,
        exclude_v2: V2Key | None = None,
        token_type: str | None = None,
    ) -> IdTokenInfo:
        """:func:`~csms.domain.tokens.evaluate` for a transaction start with ``id_token``,
        leaving out the transaction the message is about (``exclude`` for 1.6, ``exclude_v2``
        for 2.x): a retried start is not ConcurrentTx with itself. ``token_type`` is the 2.x
        type presented (None for a 1.6 idTag): a token of another type is unknown."""
        key = token_key(id_token)
        token = self._find(key, token_type)
        if token is None:
            return evaluate(None, now, in_other_transaction=False)
        ids = self.open_v16.get(key, set())
        busy = bool(ids - {exclude}) if exclude is not None else bool(ids)
        if not busy:
            v2 = self.open_v2.get(id_token, set())
            busy = bool(v2 - {exclude_v2}) if exclude_v2 is not None else bool(v2)
        return evaluate(token, now, in_other_transaction=busy)

    def _find(self, key: str, token_type: str | None) -> IdToken | None:
        token = self.tokens.get(key)
        if token is None or not type_matches(token.token_type, token_type):
            return None
        return token

    def own_info(self, id_token: str, now: datetime, token_type: str | None = None) -> IdTokenInfo:
        """The token's own status, whatever transactions it is in: the answer to an Authorize,
        the idTagInfo of a StopTransaction.conf and the idTokenInfo of a TransactionEvent that
        is not a Started.

        ConcurrentTx is "only relevant for a StartTransaction.req" (1.6 §7.2) and "for the
        response to a TransactionEventRequest(eventType=Started)" (2.0.1 AuthorizationStatusEnumType),
        never for an Authorize.
        """
        token = self._find(token_key(id_token), token_type)
        return evaluate(token, now, in_other_transaction=False)

    def opened(self, id_token: str, transaction_id: int) -> None:
        self.open_v16.setdefault(token_key(id_token), set()).add(transaction_id)

    def closed(self, id_tag_key: str, transaction_id: int) -> None:
        self.open_v16.get(id_tag_key, set()).discard(transaction_id)

    def opened_v2(self, id_token: str, key: V2Key) -> None:
        self.open_v2.setdefault(id_token, set()).add(key)

    def closed_v2(self, key: V2Key) -> None:
        for keys in self.open_v2.values():
            keys.discard(key)
