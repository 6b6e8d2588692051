"""Simulated charging stations speaking OCPP 1.6, 2.0.1 or 2.1 (``csms simulate``, ``serve --demo``).

Layers inside the package, from pure to I/O: :mod:`~csms.simulator.state`,
:mod:`~csms.simulator.meter` and :mod:`~csms.simulator.configuration` (data);
:mod:`~csms.simulator.v16` and :mod:`~csms.simulator.v2` (the messages of each version) with
:mod:`~csms.simulator.v16_answers` and :mod:`~csms.simulator.v2_answers` (answers to the CSMS);
:mod:`~csms.simulator.station` (the logic of one station, no sockets); :mod:`~csms.simulator.link`
(one WebSocket pumping the sans-I/O :class:`~csms.rpc.session.RpcSession`);
:mod:`~csms.simulator.agent` (connect, boot, charge, reconnect) and
:mod:`~csms.simulator.followups` (what a station does after answering); :mod:`~csms.simulator.scenarios`
and :mod:`~csms.simulator.fleet` (many stations, progress).
"""

from csms.simulator.agent import AgentOptions, StationAgent
from csms.simulator.fleet import FleetOptions, build_fleet, run_fleet
from csms.simulator.scenarios import Scenario, Timing, run_scenario
from csms.simulator.station import SimStation, StationSpec
from csms.simulator.stats import Stats

__all__ = [
    "AgentOptions",
    "FleetOptions",
    "Scenario",
    "SimStation",
    "StationAgent",
    "StationSpec",
    "Stats",
    "Timing",
    "build_fleet",
    "run_fleet",
    "run_scenario",
]
