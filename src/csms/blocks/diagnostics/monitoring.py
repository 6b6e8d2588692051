"""NotifyEvent and NotifyMonitoringReport (2.0.1 N07, G05, N02/N03; 2.1 keeps both).

Stations send NotifyEvent whenever a monitor trips or a hard-wired notification fires (a connector
fault, a tamper alarm, a periodic value): each event is stored once (per station, eventId and
timestamp, so a retried message adds nothing), its ``actualValue`` becomes the variable's Actual
value in the stored device model, and events with a severity of 2 or less (Danger, Hardware
Failure, System Failure; 2.0.1 Part 2 §3.77 severity levels) are logged as warnings. A 2.0.1
event carries no severity itself: it is the severity of the monitor named by
``variableMonitoringId``, when a monitoring report made it known. NotifyMonitoringReport parts
(the answer to GetMonitoringReport) are stored like NotifyReport parts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.provisioning.device_model import variable_key
from csms.blocks.routing import handles
from csms.blocks.timefmt import station_time
from csms.domain.devicemodel import (
    DeviceEvent,
    DeviceModelRepository,
    MonitorReportPart,
    VariableAttribute,
    VariableMonitor,
)
from csms.rpc import OcppVersion

__all__ = ["MonitoringBlock"]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)

# Severity 0-2: Danger, Hardware Failure, System Failure (2.0.1 Part 2 §3.77).
_ALARM_SEVERITY = 2


class MonitoringBlock:
    """Handlers of the monitoring part of the diagnostics block (2.x)."""

    def __init__(
        self, device_model: DeviceModelRepository, *, clock: Callable[[], datetime]
    ) -> None:
        self._device_model = device_model
        self._clock = clock

    @handles(V2, "NotifyEvent")
    async def notify_event(self, ctx: CallContext, payload: Payload) -> Payload:
        """N07.FR.xx / G05: store the events and their actual values; answer ``{}``."""
        now = self._clock()
        entries = payload.get("eventData", ())
        monitor_ids = [
            int(e["variableMonitoringId"])
            for e in entries
            if e.get("variableMonitoringId") is not None and e.get("severity") is None
        ]
        known = await self._device_model.monitor_severity(ctx.station_id, monitor_ids)
        events = []
        for e in entries:
            monitor = e.get("variableMonitoringId")
            severity = e.get("severity")
            if severity is None and monitor is not None:
                severity = known.get(int(monitor))
            events.append(
                DeviceEvent(
                    station_id=ctx.station_id,
                    event_id=int(e["eventId"]),
                    timestamp=station_time(e["timestamp"], now),
                    trigger=e["trigger"],
                    actual_value=e["actualValue"],
                    notification_type=e["eventNotificationType"],
                    key=variable_key(e["component"], e["variable"]),
                    cause=e.get("cause"),
                    tech_code=e.get("techCode"),
                    tech_info=e.get("techInfo"),
                    cleared=e.get("cleared"),
                    transaction_id=e.get("transactionId"),
                    variable_monitoring_id=monitor,
                    severity=severity,
                    received_at=now,
                )
            )
        await self._device_model.record_events(events)
        await self._device_model.record_values(
            ctx.station_id,
            [(ev.key, VariableAttribute(type="Actual", value=ev.actual_value)) for ev in events],
            source="NotifyEvent",
            at=now,
        )
        alarms = [ev for ev in events if ev.severity is not None and ev.severity <= _ALARM_SEVERITY]
        if alarms:  # a station can send these by the second: rate-limited per station
            ctx.limited(
                logging.WARNING,
                "device-alarm",
                "NotifyEvent: %d alarm(s), e.g. %s = %r (severity %d)",
                len(alarms),
                alarms[0].key.path(),
                alarms[0].actual_value,
                alarms[0].severity,
            )
        return {}

    @handles(V2, "NotifyMonitoringReport")
    async def notify_monitoring_report(self, ctx: CallContext, payload: Payload) -> Payload:
        """N02/N03: store every reported monitor; answer ``{}``."""
        now = self._clock()
        monitors = tuple(
            VariableMonitor(
                station_id=ctx.station_id,
                monitor_id=int(m["id"]),
                key=variable_key(entry["component"], entry["variable"]),
                transaction=bool(m["transaction"]),
                value=float(m["value"]),
                type=m["type"],
                severity=int(m["severity"]),
                reported_at=now,
            )
            for entry in payload.get("monitor", ())
            for m in entry.get("variableMonitoring", ())
        )
        part = MonitorReportPart(
            station_id=ctx.station_id,
            request_id=int(payload["requestId"]),
            seq_no=int(payload["seqNo"]),
            tbc=bool(payload.get("tbc", False)),
            generated_at=station_time(payload["generatedAt"], now),
            monitors=monitors,
        )
        await self._device_model.record_monitor_report(part, now)
        ctx.log.info(
            "NotifyMonitoringReport request %d part %d: %d monitors",
            part.request_id,
            part.seq_no,
            len(monitors),
        )
        return {}
