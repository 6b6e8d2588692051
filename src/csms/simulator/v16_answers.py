"""OCPP 1.6 answers to the Central System: OCPP 1.6 edition 2 §5 and the security whitepaper §5.

Each handler takes the station and the (schema-valid) request and returns the response payload with
the follow-ups a real Charge Point performs after answering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from csms.simulator import certificates
from csms.simulator.configuration import SetResult
from csms.simulator.dialect import (
    VENDOR,
    Answer,
    Handler,
    Payload,
    Progress,
    Reboot,
    SendStatus,
    StartCharging,
    StopCharging,
    StopReason,
    Trigger,
    format_time,
)
from csms.simulator.state import Evse, Reservation, Status

if TYPE_CHECKING:
    from csms.simulator.station import SimStation


def _status(value: str) -> Payload:
    return {"status": value}


def remote_start(station: SimStation, p: Payload) -> Answer:
    """§5.11: Accepted if the connector (or any, when none is given) can charge."""
    connector = p.get("connectorId")
    evse = station.state.evse(connector) if connector else station.state.free_evse()
    if evse is None or evse.transaction is not None or not evse.operative:
        return Answer(_status("Rejected"))
    if evse.status is Status.FAULTED:
        return Answer(_status("Rejected"))
    if evse.status is Status.RESERVED and (
        evse.reservation is None or evse.reservation.id_tag != p["idTag"]
    ):
        return Answer(_status("Rejected"))
    return Answer(_status("Accepted"), (StartCharging(evse.id, p["idTag"]),))


def remote_stop(station: SimStation, p: Payload) -> Answer:
    """§5.12: Accepted if a transaction with this id runs."""
    tx = station.state.transaction(str(p["transactionId"]))
    if tx is None:
        return Answer(_status("Rejected"))
    return Answer(_status("Accepted"), (StopCharging(tx.evse_id, StopReason.REMOTE),))


def reset(station: SimStation, p: Payload) -> Answer:
    """§5.14: always Accepted; transactions end with HardReset/SoftReset, then the station reboots."""
    hard = p["type"] == "Hard"
    stops = tuple(
        StopCharging(tx.evse_id, station.stop_reason_for_reset(hard))
        for tx in station.state.transactions()
    )
    return Answer(_status("Accepted"), (*stops, Reboot(hard)))


def unlock(station: SimStation, p: Payload) -> Answer:
    """§5.17: a running transaction is stopped first (reason UnlockCommand)."""
    evse = station.state.evse(p["connectorId"])
    if evse is None:
        return Answer(_status("NotSupported"))
    if evse.transaction is not None:
        return Answer(
            _status("Unlocked"),
            (StopCharging(evse.id, StopReason.UNLOCK), SendStatus(evse.id)),
        )
    evse.plugged = False
    return Answer(_status("Unlocked"))


def change_availability(station: SimStation, p: Payload) -> Answer:
    """§5.2: Scheduled while a transaction runs on an affected connector (applied at its end)."""
    operative = p["type"] == "Operative"
    connector = int(p["connectorId"])
    targets = (
        list(station.state.evses.values())
        if connector == 0
        else [e for e in (station.state.evse(connector),) if e]
    )
    if not targets:
        return Answer(_status("Rejected"))
    scheduled = False
    followups = []
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


def get_configuration(station: SimStation, p: Payload) -> Answer:
    """§5.8: the requested keys (all when none), unknown ones listed as unknownKey."""
    wanted = p.get("key") or []
    known, unknown = [], []
    if wanted:
        for name in wanted:
            variable = station.config.find("", name)
            if variable is None:
                unknown.append(name)
            else:
                known.append(variable)
    else:
        known = list(station.config)
    payload: Payload = {
        "configurationKey": [
            {"key": v.name, "readonly": v.readonly, "value": v.value[:500]} for v in known
        ]
    }
    if unknown:
        payload["unknownKey"] = unknown
    return Answer(payload)


def change_configuration(station: SimStation, p: Payload) -> Answer:
    """§5.3: NotSupported for an unknown key, Rejected for a readonly one or a bad value."""

    result = station.config.set("", p["key"], p["value"])
    if result in (SetResult.UNKNOWN_COMPONENT, SetResult.UNKNOWN_VARIABLE):
        return Answer(_status("NotSupported"))
    return Answer(_status(result.value))


def trigger(station: SimStation, p: Payload) -> Answer:
    """§5.17 TriggerMessage (and the security extension's ExtendedTriggerMessage)."""
    message = p["requestedMessage"]
    connector = p.get("connectorId")
    if connector is not None and connector != 0 and station.state.evse(connector) is None:
        return Answer(_status("Rejected"))
    if message == "SignChargePointCertificate":
        return Answer(_status("Rejected"))  # no CSR support in the simulator
    return Answer(_status("Accepted"), (Trigger(message, connector or None),))


def set_charging_profile(station: SimStation, p: Payload) -> Answer:
    """§5.16: TxProfile needs a transaction on the connector; others are stored and applied."""
    profile = p["csChargingProfiles"]
    connector = int(p["connectorId"])
    evses = (
        list(station.state.evses.values())
        if connector == 0
        else [e for e in (station.state.evse(connector),) if e]
    )
    if not evses:
        return Answer(_status("Rejected"))
    if profile["chargingProfilePurpose"] == "TxProfile" and (
        connector == 0 or evses[0].transaction is None
    ):
        return Answer(_status("Rejected"))
    return _store_profile(station, evses, int(profile["chargingProfileId"]), profile)


def _store_profile(
    station: SimStation, evses: list[Evse], profile_id: int, profile: Payload
) -> Answer:
    loop_now = evses[0].meter.last or 0.0
    for evse in evses:
        evse.profiles[profile_id] = profile
        evse.apply_profiles()
        if evse.transaction is not None:
            evse.meter.set_power(evse.effective_power(), loop_now)
    return Answer(_status("Accepted"))


def clear_charging_profile(station: SimStation, p: Payload) -> Answer:
    """§5.5: remove the profiles matching every given criterion; Unknown if none matched."""
    removed = False
    for evse in station.state.evses.values():
        if p.get("connectorId") not in (None, 0, evse.id):
            continue
        for pid, profile in list(evse.profiles.items()):
            if p.get("id") not in (None, pid):
                continue
            if p.get("chargingProfilePurpose") not in (None, profile["chargingProfilePurpose"]):
                continue
            if p.get("stackLevel") not in (None, profile["stackLevel"]):
                continue
            del evse.profiles[pid]
            removed = True
        evse.apply_profiles()
    return Answer(_status("Accepted" if removed else "Unknown"))


def composite_schedule(station: SimStation, p: Payload) -> Answer:
    """§5.7: the limit in force now, as one period over the asked duration."""
    connector = int(p["connectorId"])
    evse = station.state.evse(connector) if connector else next(iter(station.state.evses.values()))
    if evse is None:
        return Answer(_status("Rejected"))
    unit = p.get("chargingRateUnit", "W")
    watts = evse.effective_power()
    limit = watts if unit == "W" else round(watts / (230.0 * 3), 1)
    return Answer(
        {
            "status": "Accepted",
            "connectorId": connector,
            "scheduleStart": format_time(station.clock()),
            "chargingSchedule": {
                "duration": int(p["duration"]),
                "chargingRateUnit": unit,
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}],
            },
        }
    )


def reserve_now(station: SimStation, p: Payload) -> Answer:
    """§5.13: connector 0 is not supported (ReserveConnectorZeroSupported false)."""

    evse = station.state.evse(int(p["connectorId"]))
    if evse is None:
        return Answer(_status("Rejected"))
    refusal = _reservation_refusal(evse)
    if refusal is not None:
        return Answer(_status(refusal))
    evse.reservation = Reservation(int(p["reservationId"]), evse.id, p["idTag"], p["expiryDate"])
    evse.status = Status.RESERVED
    return Answer(_status("Accepted"), (SendStatus(evse.id),))


def _reservation_refusal(evse: Evse) -> str | None:
    if evse.status is Status.FAULTED:
        return "Faulted"
    if not evse.operative:
        return "Unavailable"
    if evse.transaction is not None or evse.plugged or evse.status is Status.RESERVED:
        return "Occupied"
    return None


def cancel_reservation(station: SimStation, p: Payload) -> Answer:
    """§5.1: Accepted if the reservation exists; the connector becomes Available again."""
    rid = int(p["reservationId"])
    for evse in station.state.evses.values():
        if evse.reservation is not None and evse.reservation.reservation_id == rid:
            evse.reservation = None
            if evse.status is Status.RESERVED:
                evse.status = Status.AVAILABLE
            return Answer(_status("Accepted"), (SendStatus(evse.id),))
    return Answer(_status("Rejected"))


def send_local_list(station: SimStation, p: Payload) -> Answer:
    """§5.15: Full replaces, Differential updates (VersionMismatch if not newer)."""
    version = int(p["listVersion"])
    entries = p.get("localAuthorizationList") or []
    state = station.state
    if p["updateType"] == "Full":
        state.local_list = {}
    elif version <= state.local_list_version:
        return Answer(_status("VersionMismatch"))
    for entry in entries:
        info = entry.get("idTagInfo")
        if info is None:
            state.local_list.pop(entry["idTag"], None)
        else:
            state.local_list[entry["idTag"]] = info
    state.local_list_version = version
    return Answer(_status("Accepted"))


def get_local_list_version(station: SimStation, p: Payload) -> Answer:
    """§5.10: the version of the list (0 when empty)."""
    return Answer({"listVersion": station.state.local_list_version})


def update_firmware(station: SimStation, p: Payload) -> Answer:
    """§5.19: an empty conf, then FirmwareStatusNotification Downloading ... Installed, reboot."""
    steps = ("Downloading", "Downloaded", "Installing", "Installed")
    return Answer(
        {},
        (Progress("FirmwareStatusNotification", tuple({"status": s} for s in steps), True),),
    )


def get_diagnostics(station: SimStation, p: Payload) -> Answer:
    """§5.9: the file name, then DiagnosticsStatusNotification Uploading, Uploaded."""
    name = f"diagnostics-{station.identity}.log"[:255]
    steps = ({"status": "Uploading"}, {"status": "Uploaded"})
    return Answer({"fileName": name}, (Progress("DiagnosticsStatusNotification", steps),))


def data_transfer(station: SimStation, p: Payload) -> Answer:
    """§5.6: only the simulator's own vendor id is known; its data is echoed back."""

    if p["vendorId"] != VENDOR:
        return Answer(_status("UnknownVendorId"))
    answer: Payload = {"status": "Accepted"}
    if "data" in p:
        answer["data"] = p["data"]
    return Answer(answer)


def clear_cache(station: SimStation, p: Payload) -> Answer:
    """§5.4: the simulator keeps no authorization cache; clearing it always succeeds."""
    return Answer(_status("Accepted"))


# security whitepaper edition 2 §5


def get_log(station: SimStation, p: Payload) -> Answer:
    """§5.9 GetLog: the file name, then LogStatusNotification Uploading, Uploaded."""
    rid = int(p["requestId"])
    name = f"{p['logType']}-{station.identity}.log"[:255]
    steps = ({"status": "Uploading", "requestId": rid}, {"status": "Uploaded", "requestId": rid})
    return Answer(
        {"status": "Accepted", "filename": name}, (Progress("LogStatusNotification", steps),)
    )


def signed_update_firmware(station: SimStation, p: Payload) -> Answer:
    """§5.18: SignedFirmwareStatusNotification Downloading ... Installed (A02 flow), reboot."""
    rid = int(p["requestId"])
    if not certificates.looks_like_pem(p["firmware"]["signingCertificate"]):
        return Answer(_status("InvalidCertificate"))
    steps = ("Downloading", "Downloaded", "SignatureVerified", "Installing", "Installed")
    return Answer(
        _status("Accepted"),
        (
            Progress(
                "SignedFirmwareStatusNotification",
                tuple({"status": s, "requestId": rid} for s in steps),
                True,
            ),
        ),
    )


def install_certificate(station: SimStation, p: Payload) -> Answer:
    """§5.10 InstallCertificate: Rejected if it is not a PEM certificate."""
    ok = certificates.install(station.state, p["certificateType"], p["certificate"])
    return Answer(_status("Accepted" if ok else "Rejected"))


def get_installed_certificate_ids(station: SimStation, p: Payload) -> Answer:
    """§5.8: the hash data of the installed certificates of that type, or NotFound."""
    found = certificates.of_types(station.state, [p["certificateType"]])
    if not found:
        return Answer(_status("NotFound"))
    return Answer({"status": "Accepted", "certificateHashData": [c.hash_data for c in found]})


def delete_certificate(station: SimStation, p: Payload) -> Answer:
    """§5.5 DeleteCertificate: NotFound when no installed certificate matches."""
    ok = certificates.delete(station.state, p["certificateHashData"])
    return Answer(_status("Accepted" if ok else "NotFound"))


def certificate_signed(station: SimStation, p: Payload) -> Answer:
    """§5.2 CertificateSigned: the chain is installed as the station's own certificate."""
    ok = certificates.install(station.state, "ChargePointCertificate", p["certificateChain"])
    return Answer(_status("Accepted" if ok else "Rejected"))


ANSWERS: dict[str, Handler] = {
    "CancelReservation": cancel_reservation,
    "CertificateSigned": certificate_signed,
    "ChangeAvailability": change_availability,
    "ChangeConfiguration": change_configuration,
    "ClearCache": clear_cache,
    "ClearChargingProfile": clear_charging_profile,
    "DataTransfer": data_transfer,
    "DeleteCertificate": delete_certificate,
    "ExtendedTriggerMessage": trigger,
    "GetCompositeSchedule": composite_schedule,
    "GetConfiguration": get_configuration,
    "GetDiagnostics": get_diagnostics,
    "GetInstalledCertificateIds": get_installed_certificate_ids,
    "GetLocalListVersion": get_local_list_version,
    "GetLog": get_log,
    "InstallCertificate": install_certificate,
    "RemoteStartTransaction": remote_start,
    "RemoteStopTransaction": remote_stop,
    "ReserveNow": reserve_now,
    "Reset": reset,
    "SendLocalList": send_local_list,
    "SetChargingProfile": set_charging_profile,
    "SignedUpdateFirmware": signed_update_firmware,
    "TriggerMessage": trigger,
    "UnlockConnector": unlock,
    "UpdateFirmware": update_firmware,
}
