"""Scenarios: what a simulated station does once connected.

Each scenario runs its script once (``repeat=False``, as the tests do) or in a loop, and the
station then stays connected, heartbeating and answering the CSMS until it is stopped.
"""

from __future__ import annotations

import asyncio
import enum
import zlib
from dataclasses import dataclass

from csms.rpc.versions import OcppVersion
from csms.simulator.agent import StationAgent
from csms.simulator.dialect import StopReason
from csms.simulator.state import Evse


class Scenario(enum.StrEnum):
    """The scenarios of ``csms simulate --scenario``."""

    BOOT = "boot"  # boot, report status, heartbeat
    CHARGE = "charge"  # plug in, tap an RFID tag, charge, stop, unplug; repeated
    OFFLINE = "offline"  # charge, lose the network, stop offline, reconnect and replay
    POWER_LOSS = "power-loss"  # charge, lose power, boot again, end the tx with PowerLoss
    FAULT = "fault"  # charge, a ground fault ends it, Faulted, then recovered
    SLOW = "slow"  # answer every CSMS command late (see --response-delay)
    RECONNECT = "reconnect"  # the connection breaks; reconnect with the back-off
    # 2.x: an ISO 15118 EV: contract certificate status and installation asked of the CSMS, then
    # a charge whose needs the CSMS answers with a TxProfile (K15), the EV's schedule reported
    ISO15118 = "iso15118"


@dataclass(frozen=True, slots=True)
class Timing:
    """How long the steps of a scenario last (seconds)."""

    charge: float = 60.0
    idle: float = 30.0
    offline: float = 20.0
    outage: float = 10.0


def rfid_tag(agent: StationAgent, evse: Evse) -> str:
    """The RFID tag the driver at ``evse`` taps: the station's own tags (one per EVSE, handed out
    by :func:`~csms.simulator.fleet.build_fleet`), else one made up, stable per station and EVSE.
    One driver never holds two EVSEs, so a CSMS checking concurrent use sees no conflict."""
    tags = agent.options.id_tags
    if tags:
        return tags[(evse.id - 1) % len(tags)]
    number = zlib.crc32(f"{agent.identity}/{evse.id}".encode())
    return f"RFID-{number % 100_000:05d}-{evse.id}"


async def run_scenario(
    agent: StationAgent, scenario: Scenario, timing: Timing, *, repeat: bool = True
) -> None:
    """Play ``scenario`` on a running agent (start :meth:`StationAgent.run` separately)."""
    while True:
        await agent.accepted.wait()
        evse = agent.station.state.evses[1]
        if scenario is Scenario.CHARGE:
            await agent.charge(evse, rfid_tag(agent, evse), timing.charge)
        elif scenario is Scenario.ISO15118:
            if agent.station.version is not OcppVersion.V16:  # 1.6 has no such messages
                await agent.request_ev_certificates()
            await agent.charge(evse, rfid_tag(agent, evse), timing.charge, iso15118=True)
        elif scenario is Scenario.OFFLINE:
            await agent.start_session(evse, rfid_tag(agent, evse))
            await asyncio.sleep(timing.charge / 2)
            await agent.go_offline()
            await asyncio.sleep(timing.offline)
            await agent.stop_session(evse, StopReason.LOCAL)
            await agent.leave(evse)
            agent.go_online()
            await agent.accepted.wait()
            await agent.drained()
        elif scenario is Scenario.POWER_LOSS:
            await agent.start_session(evse, rfid_tag(agent, evse))
            await asyncio.sleep(timing.charge / 2)
            await agent.power_loss(timing.outage)
            await agent.accepted.wait()
            await agent.drained()
            await agent.leave(evse)
        elif scenario is Scenario.FAULT:
            await agent.start_session(evse, rfid_tag(agent, evse))
            await asyncio.sleep(timing.charge / 2)
            await agent.fault(evse)
            await asyncio.sleep(timing.outage)
            await agent.recover(evse)
        elif scenario is Scenario.RECONNECT:
            await asyncio.sleep(timing.idle)
            await agent.drop_connection()
            await agent.accepted.wait()
        # BOOT and SLOW: nothing beyond staying connected (SLOW delays answers via options).
        if not repeat or scenario in (Scenario.BOOT, Scenario.SLOW):
            return
        await asyncio.sleep(timing.idle)
