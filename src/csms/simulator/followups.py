"""Carrying out what a station does after answering the CSMS (see :class:`~csms.simulator.dialect.Answer`).

Follow-ups of one answer run in order in one task the agent owns: stop the transaction, then reboot;
the steps of a firmware update a ``step_delay`` apart.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from csms.simulator.dialect import (
    BootReason,
    Followup,
    Progress,
    Reboot,
    Send,
    SendStatus,
    StartCharging,
    StopCharging,
    Trigger,
)

if TYPE_CHECKING:
    from csms.simulator.agent import StationAgent

# Status notifications a station with nothing in progress answers a trigger with (status Idle).
_IDLE_STATUS = frozenset(
    {"FirmwareStatusNotification", "DiagnosticsStatusNotification", "LogStatusNotification"}
)


async def perform_all(agent: StationAgent, followups: tuple[Followup, ...]) -> None:
    """Run an answer's follow-ups in order (stop the transaction, then reboot)."""
    for followup in followups:
        await perform(agent, followup)


async def perform(agent: StationAgent, followup: Followup) -> None:
    """Do what one follow-up says."""
    station = agent.station
    if type(followup) is StartCharging:
        evse = station.state.evse(followup.evse_id)
        if evse is not None and evse.transaction is None:
            await agent.start_session(
                evse, followup.id_tag, remote_start_id=followup.remote_start_id
            )
            agent.spawn(agent.stop_later(evse, agent.options.charge_time))
    elif type(followup) is StopCharging:
        evse = station.state.evse(followup.evse_id)
        if evse is not None:
            await agent.stop_session(evse, followup.reason)
    elif type(followup) is SendStatus:
        evse = station.state.evse(followup.evse_id)
        if evse is not None:
            await agent.send_status(evse)
    elif type(followup) is Trigger:
        await triggered(agent, followup)
    elif type(followup) is Reboot:
        await asyncio.sleep(agent.options.step_delay)
        await agent.reboot(BootReason.REMOTE_RESET)
    elif type(followup) is Progress:
        for payload in followup.payloads:
            await asyncio.sleep(agent.options.step_delay)
            await agent.send(followup.action, payload)
        if followup.reboot_after:
            station.state.firmware_version = _next_version(station.state.firmware_version)
            agent.after_boot.extend((followup.action, p) for p in followup.after_boot)
            await agent.reboot(BootReason.FIRMWARE_UPDATE)
    elif type(followup) is Send:
        await agent.send(followup.action, followup.payload)


async def triggered(agent: StationAgent, trigger: Trigger) -> None:
    """F06 / 1.6 §5.17: send the message the CSMS asked for."""
    station, dialect = agent.station, agent.station.dialect
    evses = [
        e
        for e in station.state.evses.values()
        if trigger.evse_id is None or e.id == trigger.evse_id
    ]
    now = station.clock()
    message = trigger.message
    if message == "BootNotification":
        action, payload = dialect.boot(station, BootReason.TRIGGERED)
        await agent.send(action, payload)
    elif message == "Heartbeat":
        await agent.send("Heartbeat", {})
    elif message == "StatusNotification":
        for evse in evses:
            await agent.send_status(evse)
    elif message == "MeterValues":
        for evse in evses:
            evse.meter.advance(asyncio.get_running_loop().time())
            await agent.send(*dialect.meter_values(station, evse, now))
    elif message == "TransactionEvent":
        for evse in evses:
            tx = evse.transaction
            if tx is not None:
                updated = dialect.updated(station, evse, tx, now, offline=False, triggered=True)
                agent.send_tx(*updated, tx)
    elif message in _IDLE_STATUS:
        await agent.send(message, {"status": "Idle"})
    elif message in _SIGN:
        await agent.sign_certificate(_SIGN[message])


# TriggerMessage of a certificate signing (2.0.1 A02/A03) → the certificateType of the CSR.
_SIGN = {
    "SignChargingStationCertificate": "ChargingStationCertificate",
    "SignV2GCertificate": "V2GCertificate",
}


def _next_version(version: str) -> str:
    parts = version.split(".")
    try:
        parts[-1] = str(int(parts[-1]) + 1)
    except ValueError:
        return version + ".1"
    return ".".join(parts)
