"""NotifyEvent on the station side (2.0.1 G05/N07; 2.1 keeps the message and adds ``severity``).

A 2.x station sends NotifyEvent as real firmware does:

* **AvailabilityState** of each connector, alongside its StatusNotification, whenever it changed
  since the last one sent (and once after each boot): component Connector on its EVSE, trigger
  Delta, HardWiredNotification, the new ConnectorStatusEnumType value (2.0.1 Part 2 appendices
  §3 "AvailabilityState: replicates ConnectorStatus values reported in StatusNotification";
  Part 6 Booted state: StatusNotification then NotifyEvent AvailabilityState).
* **Monitors** set by SetVariableMonitoring (N04), evaluated when SetVariables changes their
  variable (the simulator's variables change no other way): UpperThreshold/LowerThreshold trip
  (Alerting) when the value crosses the threshold and clear when it crosses back; Delta trips when
  a numeric value moved by at least the monitor's value since it was set or last tripped, a
  non-numeric one on any change (2.0.1 Part 2 MonitorEnumType). Monitors with ``transaction``
  only count while a transaction runs; Periodic monitors are not evaluated.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from csms.rpc.versions import OcppVersion
from csms.simulator.dialect import Payload, format_time

if TYPE_CHECKING:
    from csms.simulator.state import Evse
    from csms.simulator.station import SimStation

__all__ = ["availability_event", "monitor_events", "notify_event"]

_MAX_VALUE = 2500  # EventDataType.actualValue maxLength


def notify_event(station: SimStation, events: list[Payload], now: datetime) -> tuple[str, Payload]:
    """One NotifyEventRequest carrying ``events`` (a single part: seqNo 0, no tbc)."""
    return "NotifyEvent", {"generatedAt": format_time(now), "seqNo": 0, "eventData": events}


def _event(station: SimStation, now: datetime, **fields: Any) -> Payload:
    event_id = station.state.next_event_id
    station.state.next_event_id += 1
    return {"eventId": event_id, "timestamp": format_time(now), **fields}


def availability_event(
    station: SimStation, evse: Evse, now: datetime
) -> tuple[str, Payload] | None:
    """The NotifyEvent for the connector's AvailabilityState if it changed since the last one
    (2.x only); it is then taken as sent."""
    if station.version is OcppVersion.V16:
        return None
    state = station.dialect.wire_status(evse)
    if state == evse.reported_availability:
        return None
    evse.reported_availability = state
    event = _event(
        station,
        now,
        trigger="Delta",
        actualValue=state,
        eventNotificationType="HardWiredNotification",
        component={"name": "Connector", "evse": {"id": evse.id, "connectorId": 1}},
        variable={"name": "AvailabilityState"},
    )
    if evse.transaction is not None:
        event["transactionId"] = evse.transaction.transaction_id
    return notify_event(station, [event], now)


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _cleared(monitor: Payload, baseline: str, old: str, new: str) -> bool | None:
    """The event's ``cleared`` flag: False when the monitor trips, True when a threshold alert
    ends (the value crossed back); None when there is nothing to report."""
    kind, limit = monitor["type"], float(monitor["value"])
    old_n, new_n, base_n = _number(old), _number(new), _number(baseline)
    if kind == "Delta":
        if base_n is None or new_n is None:
            return False if new != baseline else None
        return False if abs(new_n - base_n) >= limit else None
    if kind not in ("UpperThreshold", "LowerThreshold") or old_n is None or new_n is None:
        return None
    sign = 1.0 if kind == "UpperThreshold" else -1.0  # beyond: above, or below
    before, after = sign * (old_n - limit) > 0, sign * (new_n - limit) > 0
    if before == after:
        return None
    return not after


def monitor_events(
    station: SimStation,
    key: tuple[str, str, str | None],
    old: str,
    new: str,
    now: datetime,
) -> list[Payload]:
    """The events of the monitors on variable ``key`` after its value went from ``old`` to ``new``."""
    if old == new:
        return []
    running = bool(station.state.transactions())
    events = []
    for mid, monitor in station.state.monitors.items():
        component, variable = monitor["component"], monitor["variable"]
        if (component["name"], variable["name"], variable.get("instance")) != key:
            continue
        if monitor.get("transaction") and not running:
            continue
        if int(monitor["severity"]) > station.state.monitoring_level:  # N05.FR.02
            continue
        baseline = station.state.monitor_baselines.get(mid, old)
        cleared = _cleared(monitor, baseline, old, new)
        if cleared is None:
            continue
        if monitor["type"] == "Delta":
            station.state.monitor_baselines[mid] = new
        event = _event(
            station,
            now,
            trigger="Delta" if monitor["type"] == "Delta" else "Alerting",
            actualValue=new[:_MAX_VALUE],
            cleared=cleared,
            variableMonitoringId=mid,
            eventNotificationType="CustomMonitor",
            component=component,
            variable=variable,
        )
        if station.version is OcppVersion.V21:  # 2.0.1's EventDataType has no severity
            event["severity"] = int(monitor["severity"])
        events.append(event)
    return events
