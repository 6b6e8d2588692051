"""The API's listening socket is declared TCP, so asyncio sets TCP_NODELAY on every accepted
connection (it checks ``sock.proto``; ``socket.create_server`` leaves it 0, and API answers written
as head then body could wait ~40 ms on Nagle and delayed ACKs), as the SOAP endpoint's is."""

from __future__ import annotations

import socket

import pytest

from csms.container import StartupError, _api_socket, _soap_socket


@pytest.mark.parametrize("listen", [_api_socket, _soap_socket])
def test_http_endpoints_listen_as_tcp_with_nodelay(listen: object) -> None:
    sock = listen("127.0.0.1", 0)  # type: ignore[operator]
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()


def test_a_port_in_use_names_the_setting() -> None:
    taken = _api_socket("127.0.0.1", 0)
    try:
        with pytest.raises(StartupError, match="CSMS_API_PORT"):
            _api_socket("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


@pytest.mark.parametrize("listen", [_api_socket, _soap_socket])
def test_with_reuse_port_two_processes_share_the_port(listen: object) -> None:
    """`csms serve --workers` (CSMS_REUSE_PORT): every worker binds the same port."""
    first = listen("127.0.0.1", 0, reuse_port=True)  # type: ignore[operator]
    try:
        second = listen("127.0.0.1", first.getsockname()[1], reuse_port=True)  # type: ignore[operator]
        second.close()
    finally:
        first.close()
