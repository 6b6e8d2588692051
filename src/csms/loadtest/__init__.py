"""``csms loadtest``: simulate a fleet of charging stations against any OCPP-J CSMS.

Light by design, so that one process holds tens of thousands of stations: every station is a plain
object driven by socket callbacks and one timer (no task per station), frames are built and parsed
with orjson only (no schema validation), and the WebSocket client is a minimal RFC 6455 protocol
(:mod:`csms.loadtest.wsclient`). ``--workers K`` spreads the fleet over K processes, and several
127.x.y.z source addresses lift the 64k-ports-per-address limit on loopback.
"""
