"""OCPP 2.0.1 and 2.1 answers to the CSMS, by the use cases of 2.0.1 Part 2 (B provisioning ...
P data transfer) and the 2.1 additions (tariffs, DER control, battery swap, periodic streams),
which the simulator answers as a station without such hardware or configuration does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from csms.rpc import OcppVersion
from csms.simulator import certificates, iso15118
from csms.simulator.configuration import SetResult
from csms.simulator.dialect import (
    VENDOR,
    Answer,
    Followup,
    Handler,
    Payload,
    Progress,
    Reboot,
    Send,
    SendStatus,
    StartCharging,
    StopCharging,
    StopReason,
    Trigger,
    format_time,
)
from csms.simulator.events import monitor_events, notify_event
from csms.simulator.state import Reservation, Status

if TYPE_CHECKING:
    from csms.simulator.station import SimStation


def _status(value: str) -> Payload:
    return {"status": value}


def _ok(value: bool, yes: str = "Accepted", no: str = "Rejected") -> Answer:
    return Answer(_status(yes if value else no))


def request_start(station: SimStation, p: Payload) -> Answer:
    """F01/F02 RequestStartTransaction: Accepted if the EVSE (or any) can start charging."""
    evse_id = p.get("evseId")
    evse = station.state.evse(evse_id) if evse_id else station.state.free_evse()
    tag = p["idToken"]["idToken"]
    if (
        evse is None
        or evse.transaction is not None
        or not evse.operative
        or evse.status is Status.FAULTED
        or (
            evse.status is Status.RESERVED
            and (evse.reservation is None or evse.reservation.id_tag != tag)
        )
    ):
        return Answer(_status("Rejected"))
    return Answer(_status("Accepted"), (StartCharging(evse.id, tag, int(p["remoteStartId"])),))


def request_stop(station: SimStation, p: Payload) -> Answer:
    """F03 RequestStopTransaction: Accepted if the transaction runs here."""
    tx = station.state.transaction(p["transactionId"])
    if tx is None:
        return Answer(_status("Rejected"))
    return Answer(_status("Accepted"), (StopCharging(tx.evse_id, StopReason.REMOTE),))


def reset(station: SimStation, p: Payload) -> Answer:
    """B11/B12: OnIdle waits for running transactions (Scheduled); Immediate ends them."""
    txs = station.state.transactions()
    evse_id = p.get("evseId")
    if evse_id is not None and station.state.evse(evse_id) is None:
        return Answer(_status("Rejected"))
    if p["type"] == "OnIdle" and txs:
        return Answer(_status("Scheduled"))
    stops = tuple(StopCharging(tx.evse_id, StopReason.HARD_RESET) for tx in txs)
    return Answer(_status("Accepted"), (*stops, Reboot(hard=True)))


def unlock(station: SimStation, p: Payload) -> Answer:
    """F05: refused while an authorised transaction runs (OngoingAuthorizedTransaction)."""
    evse = station.state.evse(p["evseId"])
    if evse is None or p["connectorId"] != 1:
        return Answer(_status("UnknownConnector"))
    if evse.transaction is not None:
        return Answer(_status("OngoingAuthorizedTransaction"))
    evse.plugged = False
    return Answer(_status("Unlocked"))


def change_availability(station: SimStation, p: Payload) -> Answer:
    """G03/G04: Scheduled while a transaction runs on an affected EVSE."""
    operative = p["operationalStatus"] == "Operative"
    evse_ref = p.get("evse")
    targets = (
        list(station.state.evses.values())
        if not evse_ref or evse_ref["id"] == 0
        else [e for e in (station.state.evse(evse_ref["id"]),) if e]
    )
    if not targets:
        return Answer(_status("Rejected"))
    scheduled = False
    followups: list[Followup] = []
    for evse in targets:
        if not operative and evse.transaction is not None:
            evse.pending_inoperative = True
            scheduled = True
            continue
        evse.operative = operative
        evse.pending_inoperative = False
        if evse.status in (Status.AVAILABLE, Status.UNAVAILABLE):
            evse.status = Status.AVAILABLE if operative else Status.UNAVAILABLE
        followups.append(SendStatus(evse.id))
    return Answer(_status("Scheduled" if scheduled else "Accepted"), tuple(followups))


def _component_key(item: Payload) -> tuple[str, str, str | None]:
    return item["component"]["name"], item["variable"]["name"], item["variable"].get("instance")


def get_variables(station: SimStation, p: Payload) -> Answer:
    """B06: each variable's Actual value, or UnknownComponent/UnknownVariable."""
    results = []
    for item in p["getVariableData"]:
        component, name, instance = _component_key(item)
        result: Payload = {"component": item["component"], "variable": item["variable"]}
        attribute = item.get("attributeType", "Actual")
        if "attributeType" in item:
            result["attributeType"] = attribute
        variable = station.config.find(component, name, instance)
        if variable is None:
            known = station.config.has_component(component)
            result["attributeStatus"] = "UnknownVariable" if known else "UnknownComponent"
        elif attribute != "Actual":
            result["attributeStatus"] = "NotSupportedAttributeType"
        else:
            result["attributeStatus"] = "Accepted"
            result["attributeValue"] = variable.value[:2500]
        results.append(result)
    return Answer({"getVariableResult": results})


def set_variables(station: SimStation, p: Payload) -> Answer:
    """B05: each write Accepted, Rejected (readonly or bad value) or Unknown*; then a NotifyEvent
    if a change tripped a monitor (N07, see :mod:`~csms.simulator.events`)."""
    results = []
    tripped: list[Payload] = []
    now = station.clock()
    for item in p["setVariableData"]:
        key = _component_key(item)
        component, name, instance = key
        result: Payload = {"component": item["component"], "variable": item["variable"]}
        if "attributeType" in item:
            result["attributeType"] = item["attributeType"]
        if item.get("attributeType", "Actual") != "Actual":
            result["attributeStatus"] = "NotSupportedAttributeType"
        else:
            variable = station.config.find(component, name, instance)
            old = variable.value if variable is not None else ""
            outcome = station.config.set(component, name, item["attributeValue"], instance)
            result["attributeStatus"] = outcome.value
            if variable is not None and outcome is SetResult.ACCEPTED:
                tripped.extend(monitor_events(station, key, old, variable.value, now))
        results.append(result)
    then = (Send(*notify_event(station, tripped, now)),) if tripped else ()
    return Answer({"setVariableResult": results}, then)


def _report_data(station: SimStation) -> list[Payload]:
    data = []
    for v in station.config:
        variable: Payload = {"name": v.name}
        if v.instance:
            variable["instance"] = v.instance
        data.append(
            {
                "component": {"name": v.component},
                "variable": variable,
                "variableAttribute": [
                    {
                        "type": "Actual",
                        "value": v.value[:2500],
                        "mutability": "ReadOnly" if v.readonly else "ReadWrite",
                    }
                ],
                "variableCharacteristics": {
                    "dataType": v.kind.value if v.kind.value != "integer" else "decimal",
                    "supportsMonitoring": False,
                },
            }
        )
    return data


def get_base_report(station: SimStation, p: Payload) -> Answer:
    """B07: Accepted, then one NotifyReport with every variable."""
    report = {
        "requestId": p["requestId"],
        "generatedAt": format_time(station.clock()),
        "seqNo": 0,
        "tbc": False,
        "reportData": _report_data(station),
    }
    return Answer(_status("Accepted"), (Send("NotifyReport", report),))


def get_report(station: SimStation, p: Payload) -> Answer:
    """B08: like GetBaseReport, filtered by the components asked for (EmptyResultSet if none)."""
    wanted = {cv["component"]["name"] for cv in p.get("componentVariable") or []}
    data = [d for d in _report_data(station) if not wanted or d["component"]["name"] in wanted]
    if not data:
        return Answer(_status("EmptyResultSet"))
    report = {
        "requestId": p["requestId"],
        "generatedAt": format_time(station.clock()),
        "seqNo": 0,
        "tbc": False,
        "reportData": data,
    }
    return Answer(_status("Accepted"), (Send("NotifyReport", report),))


def trigger(station: SimStation, p: Payload) -> Answer:
    """F06 TriggerMessage: the messages the simulator can send are Accepted."""
    message = p["requestedMessage"]
    evse_ref = p.get("evse")
    evse_id = evse_ref["id"] if evse_ref else None
    if evse_id and station.state.evse(evse_id) is None:
        return Answer(_status("Rejected"))
    supported = {
        "BootNotification",
        "Heartbeat",
        "StatusNotification",
        "MeterValues",
        "TransactionEvent",
        "FirmwareStatusNotification",
        "LogStatusNotification",
        "SignChargingStationCertificate",  # A02: a SignCertificate with a new CSR follows
        "SignV2GCertificate",
    }
    if message not in supported:
        return Answer(_status("NotImplemented"))
    return Answer(_status("Accepted"), (Trigger(message, evse_id),))


def set_charging_profile(station: SimStation, p: Payload) -> Answer:
    """K01: a TxProfile needs a running transaction on that EVSE; others are stored."""
    profile = p["chargingProfile"]
    evse_id = int(p["evseId"])
    evses = (
        list(station.state.evses.values())
        if evse_id == 0
        else [e for e in (station.state.evse(evse_id),) if e]
    )
    if not evses:
        return Answer(_status("Rejected"))
    if profile["chargingProfilePurpose"] == "TxProfile" and (
        evse_id == 0 or evses[0].transaction is None
    ):
        return Answer(_status("Rejected"))
    now = evses[0].meter.last or 0.0
    for evse in evses:
        evse.profiles[int(profile["id"])] = profile
        evse.apply_profiles()
        if evse.transaction is not None:
            evse.meter.set_power(evse.effective_power(), now)
    then: tuple[Followup, ...] = ()
    if profile["chargingProfilePurpose"] == "TxProfile" and evses[0].iso15118:
        # K15.FR.10: the ISO 15118 EV adopts the CSMS's schedule and the station reports it.
        schedule = iso15118.ev_schedule(evses[0], profile, station.clock())
        if schedule is not None:
            then = (Send("NotifyEVChargingSchedule", schedule),)
    return Answer(_status("Accepted"), then)


def clear_charging_profile(station: SimStation, p: Payload) -> Answer:
    """K10: remove the profiles matching the id or every criterion; Unknown if none matched."""
    pid_wanted = p.get("chargingProfileId")
    criteria = p.get("chargingProfileCriteria") or {}
    removed = False
    for evse in station.state.evses.values():
        if criteria.get("evseId") not in (None, 0, evse.id):
            continue
        for pid, profile in list(evse.profiles.items()):
            if pid_wanted is not None and pid != pid_wanted:
                continue
            purpose = criteria.get("chargingProfilePurpose")
            if purpose not in (None, profile["chargingProfilePurpose"]):
                continue
            if criteria.get("stackLevel") not in (None, profile["stackLevel"]):
                continue
            del evse.profiles[pid]
            removed = True
        evse.apply_profiles()
    return Answer(_status("Accepted" if removed else "Unknown"))


def get_charging_profiles(station: SimStation, p: Payload) -> Answer:
    """K09: Accepted and one ReportChargingProfiles per EVSE with profiles, or NoProfiles."""
    criteria = p["chargingProfile"]
    reports: list[Followup] = []
    for evse in station.state.evses.values():
        if p.get("evseId") not in (None, 0, evse.id):
            continue
        profiles = [
            profile
            for pid, profile in evse.profiles.items()
            if criteria.get("chargingProfilePurpose") in (None, profile["chargingProfilePurpose"])
            and criteria.get("stackLevel") in (None, profile["stackLevel"])
            and (not criteria.get("chargingProfileId") or pid in criteria["chargingProfileId"])
        ]
        if profiles:
            reports.append(
                Send(
                    "ReportChargingProfiles",
                    {
                        "requestId": p["requestId"],
                        "chargingLimitSource": "CSO",
                        "evseId": evse.id,
                        "chargingProfile": profiles,
                    },
                )
            )
    if not reports:
        return Answer(_status("NoProfiles"))
    return Answer(_status("Accepted"), tuple(reports))


def composite_schedule(station: SimStation, p: Payload) -> Answer:
    """K08: the limit in force now, as one period over the asked duration."""
    evse_id = int(p["evseId"])
    evse = station.state.evse(evse_id) if evse_id else next(iter(station.state.evses.values()))
    if evse is None:
        return Answer(_status("Rejected"))
    unit = p.get("chargingRateUnit", "W")
    watts = evse.effective_power()
    limit = watts if unit == "W" else round(watts / (230.0 * 3), 1)
    return Answer(
        {
            "status": "Accepted",
            "schedule": {
                "evseId": evse_id,
                "duration": int(p["duration"]),
                "scheduleStart": format_time(station.clock()),
                "chargingRateUnit": unit,
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            },
        }
    )


def reserve_now(station: SimStation, p: Payload) -> Answer:
    """H01: an EVSE-specific reservation (NonEvseSpecific is false: no evseId → Rejected)."""
    evse_id = p.get("evseId")
    evse = station.state.evse(evse_id) if evse_id else None
    if evse is None:
        return Answer(_status("Rejected"))
    if evse.status is Status.FAULTED:
        return Answer(_status("Faulted"))
    if not evse.operative:
        return Answer(_status("Unavailable"))
    if evse.transaction is not None or evse.plugged or evse.status is Status.RESERVED:
        return Answer(_status("Occupied"))
    evse.reservation = Reservation(
        int(p["id"]), evse.id, p["idToken"]["idToken"], p["expiryDateTime"]
    )
    evse.status = Status.RESERVED
    return Answer(_status("Accepted"), (SendStatus(evse.id),))


def cancel_reservation(station: SimStation, p: Payload) -> Answer:
    """H02: Accepted if the reservation exists."""
    rid = int(p["reservationId"])
    for evse in station.state.evses.values():
        if evse.reservation is not None and evse.reservation.reservation_id == rid:
            evse.reservation = None
            if evse.status is Status.RESERVED:
                evse.status = Status.AVAILABLE
            return Answer(_status("Accepted"), (SendStatus(evse.id),))
    return Answer(_status("Rejected"))


def send_local_list(station: SimStation, p: Payload) -> Answer:
    """D01: Full replaces, Differential updates (VersionMismatch if not newer)."""
    version = int(p["versionNumber"])
    state = station.state
    if p["updateType"] == "Full":
        state.local_list = {}
    elif version <= state.local_list_version:
        return Answer(_status("VersionMismatch"))
    for entry in p.get("localAuthorizationList") or []:
        tag = entry["idToken"]["idToken"]
        if entry.get("idTokenInfo") is None:
            state.local_list.pop(tag, None)
        else:
            state.local_list[tag] = entry["idTokenInfo"]
    state.local_list_version = version
    station.config.set("LocalAuthListCtrlr", "Entries", str(len(state.local_list)), force=True)
    return Answer(_status("Accepted"))


def get_local_list_version(station: SimStation, p: Payload) -> Answer:
    """D02."""
    return Answer({"versionNumber": station.state.local_list_version})


def update_firmware(station: SimStation, p: Payload) -> Answer:
    """L01: Downloading, Downloaded, (SignatureVerified), Installing, InstallRebooting, reboot
    (BootNotification FirmwareUpdate), then Installed, as Part 6 TC_L_01_CSMS plays it."""
    rid = int(p["requestId"])
    firmware = p["firmware"]
    signed = "signature" in firmware
    if signed and not certificates.looks_like_pem(firmware.get("signingCertificate", "")):
        return Answer(_status("InvalidCertificate"))
    steps = ["Downloading", "Downloaded"]
    if signed:
        steps.append("SignatureVerified")
    steps += ["Installing", "InstallRebooting"]
    payloads = tuple({"status": s, "requestId": rid} for s in steps)
    installed = ({"status": "Installed", "requestId": rid},)
    progress = Progress("FirmwareStatusNotification", payloads, True, after_boot=installed)
    return Answer(_status("Accepted"), (progress,))


def get_log(station: SimStation, p: Payload) -> Answer:
    """N01: the file name, then LogStatusNotification Uploading, Uploaded."""
    rid = int(p["requestId"])
    name = f"{p['logType']}-{station.identity}.log"[:255]
    steps = ({"status": "Uploading", "requestId": rid}, {"status": "Uploaded", "requestId": rid})
    return Answer(
        {"status": "Accepted", "filename": name}, (Progress("LogStatusNotification", steps),)
    )


def customer_information(station: SimStation, p: Payload) -> Answer:
    """N09/N10: Accepted, then NotifyCustomerInformation only when a report was asked for (a
    clear alone is just done, Part 6 TC_N_32); the simulator stores no customer data."""
    if not p["report"] and not p["clear"]:
        return Answer(_status("Rejected"))
    if not p["report"]:
        return Answer(_status("Accepted"))
    note = {
        "data": "no customer data stored",
        "seqNo": 0,
        "tbc": False,
        "generatedAt": format_time(station.clock()),
        "requestId": p["requestId"],
    }
    return Answer(_status("Accepted"), (Send("NotifyCustomerInformation", note),))


def install_certificate(station: SimStation, p: Payload) -> Answer:
    """M05: Rejected if it is not a PEM certificate."""
    ok = certificates.install(station.state, p["certificateType"], p["certificate"])
    return _ok(ok)


def get_installed_certificate_ids(station: SimStation, p: Payload) -> Answer:
    """M03: the hash data chain of the installed certificates of the asked types, or NotFound."""
    found = certificates.of_types(station.state, p.get("certificateType"))
    if not found:
        return Answer(_status("NotFound"))
    chain = [
        {"certificateType": c.certificate_type, "certificateHashData": c.hash_data} for c in found
    ]
    return Answer({"status": "Accepted", "certificateHashDataChain": chain})


def delete_certificate(station: SimStation, p: Payload) -> Answer:
    """M04: NotFound when no installed certificate matches."""
    ok = certificates.delete(station.state, p["certificateHashData"])
    return _ok(ok, no="NotFound")


def certificate_signed(station: SimStation, p: Payload) -> Answer:
    """A02/A03: the signed chain becomes the station's (or, for V2G, the SECC's) certificate."""
    kind = p.get("certificateType", "ChargingStationCertificate")
    ok = certificates.install(station.state, kind, p["certificateChain"])
    return _ok(ok)


def data_transfer(station: SimStation, p: Payload) -> Answer:
    """P01: only the simulator's own vendor id is known; its data is echoed."""

    if p["vendorId"] != VENDOR:
        return Answer(_status("UnknownVendorId"))
    answer: Payload = {"status": "Accepted"}
    if "data" in p:
        answer["data"] = p["data"]
    return Answer(answer)


def get_transaction_status(station: SimStation, p: Payload) -> Answer:
    """E14: whether transaction messages wait in the offline queue, and if the tx still runs."""
    answer: Payload = {"messagesInQueue": station.messages_in_queue > 0}
    if "transactionId" in p:
        answer["ongoingIndicator"] = station.state.transaction(p["transactionId"]) is not None
    return Answer(answer)


def set_display_message(station: SimStation, p: Payload) -> Answer:
    """O01: stored; a message for an unknown transaction is refused."""
    message = p["message"]
    tx = message.get("transactionId")
    if tx is not None and station.state.transaction(tx) is None:
        return Answer(_status("UnknownTransaction"))
    station.state.display_messages[int(message["id"])] = message
    return Answer(_status("Accepted"))


def get_display_messages(station: SimStation, p: Payload) -> Answer:
    """O02: Accepted and NotifyDisplayMessages, or Unknown when nothing matches."""
    ids = p.get("id")
    found = [
        m
        for mid, m in station.state.display_messages.items()
        if (not ids or mid in ids)
        and p.get("priority") in (None, m["priority"])
        and p.get("state") in (None, m.get("state"))
    ]
    if not found:
        return Answer(_status("Unknown"))
    note = {"requestId": p["requestId"], "tbc": False, "messageInfo": found}
    return Answer(_status("Accepted"), (Send("NotifyDisplayMessages", note),))


def clear_display_message(station: SimStation, p: Payload) -> Answer:
    """O05."""
    found = station.state.display_messages.pop(int(p["id"]), None) is not None
    return _ok(found, no="Unknown")


def set_variable_monitoring(station: SimStation, p: Payload) -> Answer:
    """N04: monitors on known variables are stored with a fresh id."""
    results = []
    for item in p["setMonitoringData"]:
        component, name, instance = _component_key(item)
        result: Payload = {
            "type": item["type"],
            "severity": item["severity"],
            "component": item["component"],
            "variable": item["variable"],
        }
        if station.config.find(component, name, instance) is None:
            known = station.config.has_component(component)
            result["status"] = "UnknownVariable" if known else "UnknownComponent"
        else:
            mid = item.get("id") or station.state.next_monitor_id
            station.state.next_monitor_id = max(station.state.next_monitor_id, mid) + 1
            station.state.monitors[mid] = item
            station.state.monitor_baselines[mid] = station.config.get(component, name, instance)
            result["status"] = "Accepted"
            result["id"] = mid
        results.append(result)
    return Answer({"setMonitoringResult": results})


def clear_variable_monitoring(station: SimStation, p: Payload) -> Answer:
    """N06."""
    results = [
        {"id": mid, "status": "Accepted" if station.state.monitors.pop(mid, None) else "NotFound"}
        for mid in p["id"]
    ]
    return Answer({"clearMonitoringResult": results})


def get_monitoring_report(station: SimStation, p: Payload) -> Answer:
    """N02: EmptyResultSet unless monitors were set, then NotifyMonitoringReport."""
    if not station.state.monitors:
        return Answer(_status("EmptyResultSet"))
    monitors = [
        {
            "component": m["component"],
            "variable": m["variable"],
            "variableMonitoring": [
                {
                    "id": mid,
                    "transaction": bool(m.get("transaction", False)),
                    "value": m["value"],
                    "type": m["type"],
                    "severity": m["severity"],
                    # 2.1 names who set the monitor; 2.0.1's schema has no such field.
                    **(
                        {"eventNotificationType": "CustomMonitor"}
                        if station.version is OcppVersion.V21
                        else {}
                    ),
                }
            ],
        }
        for mid, m in station.state.monitors.items()
    ]
    report = {
        "requestId": p["requestId"],
        "seqNo": 0,
        "tbc": False,
        "generatedAt": format_time(station.clock()),
        "monitor": monitors,
    }
    return Answer(_status("Accepted"), (Send("NotifyMonitoringReport", report),))


def set_monitoring_base(station: SimStation, p: Payload) -> Answer:
    """N03: FactoryDefault and HardWiredOnly remove the monitors the CSMS set (the simulator's
    are all custom; it has no preconfigured or hard-wired ones); All keeps them."""
    base = p["monitoringBase"]
    station.state.monitoring_base = base
    if base != "All":
        station.state.monitors.clear()
        station.state.monitor_baselines.clear()
    return Answer(_status("Accepted"))


def set_monitoring_level(station: SimStation, p: Payload) -> Answer:
    """N05: events of monitors with a severity above the level are no longer reported."""
    station.state.monitoring_level = int(p["severity"])
    return Answer(_status("Accepted"))


def _accept(station: SimStation, p: Payload) -> Answer:
    return Answer(_status("Accepted"))


def _reject(station: SimStation, p: Payload) -> Answer:
    return Answer(_status("Rejected"))


def _not_supported(station: SimStation, p: Payload) -> Answer:
    return Answer(_status("NotSupported"))


def _empty(station: SimStation, p: Payload) -> Answer:
    return Answer({})


def cost_updated(station: SimStation, p: Payload) -> Answer:
    """I02: show the running total cost (kept for tests and ``csms simulate`` logs)."""
    state = station.state
    total = float(p["totalCost"])
    state.costs[p["transactionId"]] = total
    state.cost_updates.append((p["transactionId"], total))
    del state.cost_updates[:-100]
    return Answer({})


# 2.1 additions


def change_transaction_tariff(station: SimStation, p: Payload) -> Answer:
    """I: the tariff of a running transaction is replaced; TxNotFound otherwise."""
    found = station.state.transaction(p["transactionId"]) is not None
    return _ok(found, no="TxNotFound")


def set_default_tariff(station: SimStation, p: Payload) -> Answer:
    """I: stored per EVSE (0 = all)."""
    tariff = p["tariff"]
    station.state.tariffs[tariff["tariffId"]] = {"evseId": p["evseId"], "tariff": tariff}
    return Answer(_status("Accepted"))


def get_tariffs(station: SimStation, p: Payload) -> Answer:
    """I: the default tariffs that apply to the EVSE, or NoTariff."""
    evse_id = p["evseId"]
    assignments: list[Payload] = []
    for tid, entry in station.state.tariffs.items():
        if evse_id in (0, entry["evseId"]) or entry["evseId"] == 0:
            assignment: Payload = {"tariffId": tid, "tariffKind": "DefaultTariff"}
            if entry["evseId"]:
                assignment["evseIds"] = [entry["evseId"]]
            assignments.append(assignment)
    if not assignments:
        return Answer(_status("NoTariff"))
    return Answer({"status": "Accepted", "tariffAssignments": assignments})


def clear_tariffs(station: SimStation, p: Payload) -> Answer:
    """I: one result per tariff id asked for (or per tariff stored)."""
    ids: list[Any] = p.get("tariffIds") or list(station.state.tariffs)
    results: list[Payload] = []
    for tid in ids:
        found = station.state.tariffs.pop(tid, None) is not None
        results.append({"tariffId": tid, "status": "Accepted" if found else "NoTariff"})
    if not results:
        results.append({"status": "NoTariff"})
    return Answer({"clearTariffsResult": results})


def notify_allowed_energy_transfer(station: SimStation, p: Payload) -> Answer:
    """2.1 V2X: accepted for a running transaction."""
    return _ok(station.state.transaction(p["transactionId"]) is not None)


def use_priority_charging(station: SimStation, p: Payload) -> Answer:
    """2.1 K: the simulator has no PriorityCharging profile."""
    if station.state.transaction(p["transactionId"]) is None:
        return Answer(_status("Rejected"))
    return Answer(_status("NoProfile"))


_ANSWERS_201: dict[str, Handler] = {
    "CancelReservation": cancel_reservation,
    "CertificateSigned": certificate_signed,
    "ChangeAvailability": change_availability,
    "ClearCache": _accept,
    "ClearChargingProfile": clear_charging_profile,
    "ClearDisplayMessage": clear_display_message,
    "ClearVariableMonitoring": clear_variable_monitoring,
    "CostUpdated": cost_updated,
    "CustomerInformation": customer_information,
    "DataTransfer": data_transfer,
    "DeleteCertificate": delete_certificate,
    "GetBaseReport": get_base_report,
    "GetChargingProfiles": get_charging_profiles,
    "GetCompositeSchedule": composite_schedule,
    "GetDisplayMessages": get_display_messages,
    "GetInstalledCertificateIds": get_installed_certificate_ids,
    "GetLocalListVersion": get_local_list_version,
    "GetLog": get_log,
    "GetMonitoringReport": get_monitoring_report,
    "GetReport": get_report,
    "GetTransactionStatus": get_transaction_status,
    "GetVariables": get_variables,
    "InstallCertificate": install_certificate,
    "PublishFirmware": _reject,  # only a Local Controller publishes firmware (L03)
    "RequestStartTransaction": request_start,
    "RequestStopTransaction": request_stop,
    "ReserveNow": reserve_now,
    "Reset": reset,
    "SendLocalList": send_local_list,
    "SetChargingProfile": set_charging_profile,
    "SetDisplayMessage": set_display_message,
    "SetMonitoringBase": set_monitoring_base,
    "SetMonitoringLevel": set_monitoring_level,
    "SetNetworkProfile": _accept,
    "SetVariableMonitoring": set_variable_monitoring,
    "SetVariables": set_variables,
    "TriggerMessage": trigger,
    "UnlockConnector": unlock,
    "UnpublishFirmware": lambda station, p: Answer(_status("NoFirmware")),
    "UpdateFirmware": update_firmware,
}

_ANSWERS_21_NEW: dict[str, Handler] = {
    "AFRRSignal": _reject,  # no V2X
    "AdjustPeriodicEventStream": _reject,  # no streams open
    "ChangeTransactionTariff": change_transaction_tariff,
    "ClearDERControl": _not_supported,
    "ClearTariffs": clear_tariffs,
    "GetDERControl": _not_supported,
    "GetPeriodicEventStream": _empty,
    "GetTariffs": get_tariffs,
    "NotifyAllowedEnergyTransfer": notify_allowed_energy_transfer,
    "NotifyWebPaymentStarted": _empty,
    "RequestBatterySwap": _reject,  # not a battery-swap station
    "SetDERControl": _not_supported,
    "SetDefaultTariff": set_default_tariff,
    "UpdateDynamicSchedule": _reject,  # no Dynamic profile installed
    "UsePriorityCharging": use_priority_charging,
}

ANSWERS_201 = _ANSWERS_201
ANSWERS_21 = _ANSWERS_201 | _ANSWERS_21_NEW
