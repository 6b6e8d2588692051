"""A handshake whose peer left before csms got to its request (found in the 100,000-station
reconnect storm: uvloop raises AttributeError for a closed transport's address, and websockets
logged "process_request failed" with a traceback for each such handshake after its station had
been looked for)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, cast

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request

from csms.server.listener import StationListener, _address


class _ClosedTransport:
    def is_closing(self) -> bool:
        return True


class _GoneConnection:
    """What websockets hands process_request when the peer reset under uvloop."""

    transport = _ClosedTransport()

    @property
    def remote_address(self) -> Any:
        raise AttributeError("'NoneType' object has no attribute 'getpeername'")

    def respond(self, status: HTTPStatus, text: str) -> tuple[HTTPStatus, str]:
        return status, text


def test_the_address_of_a_closed_transport_is_empty_not_an_error() -> None:
    assert _address(cast(ServerConnection, _GoneConnection())) == ""


async def test_a_request_whose_peer_left_is_answered_without_any_check() -> None:
    # No listener state is touched: the object has none of it, so any check would fail here.
    nothing = cast(StationListener, object())
    answer = await StationListener._process_request(
        nothing,
        cast(ServerConnection, _GoneConnection()),
        Request("/ocpp/CS1", cast(Any, {})),
    )
    assert cast(tuple[HTTPStatus, str], answer)[0] is HTTPStatus.BAD_REQUEST
