"""Reference central system built with mobilityhouse ``ocpp`` the way its docs show.

This follows the library's README / ``examples/v16/central_system.py`` and
``examples/v201/central_system.py`` as closely as the installed versions allow:

* ``websockets.serve(on_connect, host, port, subprotocols=["ocpp1.6", "ocpp2.0.1"])`` with the
  library defaults (plain asyncio event loop, websockets' default compression setting; the
  load generator does not offer permessage-deflate, so none is negotiated);
* one ``ChargePoint`` subclass per OCPP version with ``@on(...)`` handlers that return
  ``call_result.*`` dataclasses, chosen by the negotiated subprotocol;
* the library's defaults for everything else, in particular ``ocpp.messages.ASYNC_VALIDATION``
  (jsonschema validation of request and response, run in the default thread pool).

Two deliberate differences from the examples, both documented in the benchmark output:

* ``on_connect`` takes one argument and reads ``websocket.request.path`` /
  ``websocket.request.headers``: websockets >= 14's asyncio server no longer passes ``path``
  and has no ``request_headers`` attribute.
* The examples call ``logging.basicConfig(level=logging.INFO)``, which makes the library log
  every frame (measured at about +100 us per Heartbeat in the performance anchors, §7.1). It
  is left out so that the comparison is against the library, not against log I/O. Pass
  ``--log-info`` to reproduce the examples exactly.

Usage::

    python benchmarks/reference_server.py --host 127.0.0.1 --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import sys
from datetime import UTC, datetime
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16Base
from ocpp.v16 import call_result as call_result16
from ocpp.v16.enums import Action as Action16
from ocpp.v16.enums import AuthorizationStatus, RegistrationStatus
from ocpp.v201 import ChargePoint as ChargePoint201Base
from ocpp.v201 import call_result as call_result201
from ocpp.v201.enums import Action as Action201
from ocpp.v201.enums import RegistrationStatusEnumType
from websockets.asyncio.server import ServerConnection
from websockets.typing import Subprotocol


def now_iso() -> str:
    """Current UTC time, ISO 8601 with a ``Z`` suffix (as the examples format it)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "Z"


class ChargePoint16(ChargePoint16Base):  # type: ignore[misc]
    """OCPP 1.6 central-system side of one charge point (README pattern)."""

    @on(Action16.boot_notification)
    def on_boot_notification(
        self, charge_point_vendor: str, charge_point_model: str, **kwargs: Any
    ) -> call_result16.BootNotification:
        """Accept every charge point."""
        return call_result16.BootNotification(
            current_time=now_iso(), interval=10, status=RegistrationStatus.accepted
        )

    @on(Action16.heartbeat)
    def on_heartbeat(self) -> call_result16.Heartbeat:
        """Answer with the current time."""
        return call_result16.Heartbeat(current_time=now_iso())

    @on(Action16.meter_values)
    def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **kwargs: Any
    ) -> call_result16.MeterValues:
        """Acknowledge the meter values."""
        return call_result16.MeterValues()

    @on(Action16.authorize)
    def on_authorize(self, id_tag: str) -> call_result16.Authorize:
        """Accept every tag (the charging-session mix)."""
        return call_result16.Authorize(id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action16.start_transaction)
    def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kwargs: Any
    ) -> call_result16.StartTransaction:
        """Accept the tag and hand out this connection's next transaction id."""
        self.transactions = getattr(self, "transactions", 0) + 1
        return call_result16.StartTransaction(
            transaction_id=self.transactions,
            id_tag_info={"status": AuthorizationStatus.accepted},
        )

    @on(Action16.stop_transaction)
    def on_stop_transaction(
        self, meter_stop: int, timestamp: str, transaction_id: int, **kwargs: Any
    ) -> call_result16.StopTransaction:
        """Acknowledge the end of the session."""
        return call_result16.StopTransaction()


class ChargePoint201(ChargePoint201Base):  # type: ignore[misc]
    """OCPP 2.0.1 CSMS side of one charging station (README pattern)."""

    @on(Action201.boot_notification)
    def on_boot_notification(
        self, charging_station: dict[str, Any], reason: str, **kwargs: Any
    ) -> call_result201.BootNotification:
        """Accept every charging station."""
        return call_result201.BootNotification(
            current_time=now_iso(), interval=10, status=RegistrationStatusEnumType.accepted
        )

    @on(Action201.heartbeat)
    def on_heartbeat(self) -> call_result201.Heartbeat:
        """Answer with the current time."""
        return call_result201.Heartbeat(current_time=now_iso())

    @on(Action201.transaction_event)
    def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        **kwargs: Any,
    ) -> call_result201.TransactionEvent:
        """Acknowledge the transaction event."""
        return call_result201.TransactionEvent()


async def on_connect(websocket: ServerConnection) -> None:
    """For every new charge point that connects, create a ChargePoint and start listening.

    The class is picked by the negotiated subprotocol; connections without one are closed, as
    in the examples.
    """
    request = websocket.request
    if request is None:  # never None once the handler runs; narrows the type
        return await websocket.close()
    try:
        requested_protocols = request.headers["Sec-WebSocket-Protocol"]
    except KeyError:
        logging.error("Client hasn't requested any Subprotocol. Closing Connection")
        return await websocket.close()
    if websocket.subprotocol:
        logging.info("Protocols Matched: %s", websocket.subprotocol)
    else:
        logging.warning(
            "Protocols Mismatched | Expected Subprotocols: %s, but client supports %s | "
            "Closing connection",
            ["ocpp1.6", "ocpp2.0.1"],
            requested_protocols,
        )
        return await websocket.close()

    charge_point_id = request.path.strip("/")
    if websocket.subprotocol == "ocpp2.0.1":
        charge_point: ChargePoint16 | ChargePoint201 = ChargePoint201(charge_point_id, websocket)
    else:
        charge_point = ChargePoint16(charge_point_id, websocket)
    await charge_point.start()


async def serve_forever(host: str, port: int) -> None:
    """Start the server as the examples do and wait until it is closed."""
    server = await websockets.serve(
        on_connect, host, port, subprotocols=[Subprotocol("ocpp1.6"), Subprotocol("ocpp2.0.1")]
    )
    logging.info("Server Started listening to new connections...")
    await server.wait_closed()


def raise_nofile_limit() -> None:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit (if finite)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the reference central system with ``asyncio.run``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--log-info",
        action="store_true",
        help="logging.basicConfig(level=logging.INFO) as in the examples (logs every frame)",
    )
    args = parser.parse_args(argv)
    if args.log_info:
        logging.basicConfig(level=logging.INFO)
    raise_nofile_limit()
    asyncio.run(serve_forever(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
