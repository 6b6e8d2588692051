"""Charging-profile payloads per OCPP version (the only version-specific part of the block).

1.6 §6.13/6.14, §6.21/6.22, §6.43/6.44, §7.8–7.14: ``connectorId``, ``csChargingProfiles`` with
``chargingProfileId`` and an integer ``transactionId``, purpose ``ChargePointMaxProfile``, limits
with at most one decimal. 2.0.1/2.1 K01/K08/K10: ``evseId``, ``chargingProfile`` with ``id``, a
list of schedules each with an ``id``, a string ``transactionId``, purpose
``ChargingStationMaxProfile``; ClearChargingProfile takes ``chargingProfileId`` or
``chargingProfileCriteria``; GetCompositeSchedule answers with ``schedule``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from csms.blocks.timefmt import format_datetime, parse_datetime, station_time
from csms.domain.composite import CompositePeriod, CompositeSchedule
from csms.domain.errors import InvalidPayload
from csms.domain.smartcharging import (
    ChargingProfile,
    ChargingProfileKind,
    ChargingProfilePurpose,
    ChargingRateUnit,
    ChargingSchedule,
    ChargingSchedulePeriod,
    ClearCriteria,
    RecurrencyKind,
)
from csms.rpc import OcppVersion

__all__ = [
    "check_target",
    "clear_criteria_from_request",
    "clear_payload",
    "composite_from_response",
    "composite_request",
    "profile_from_request",
    "profile_payload",
    "purpose_name",
]

Payload = dict[str, Any]

_PURPOSE_16 = {ChargingProfilePurpose.STATION_MAX: "ChargePointMaxProfile"}


def purpose_name(purpose: ChargingProfilePurpose, version: OcppVersion) -> str:
    """The wire name of a purpose (1.6 calls the station-wide cap ChargePointMaxProfile)."""
    if version is OcppVersion.V16:
        return _PURPOSE_16.get(purpose, purpose.value)
    return purpose.value


def _limit(value: float, version: OcppVersion) -> float | int:
    if version is OcppVersion.V16:
        value = round(value, 1)  # 1.6 decimal: "at most one digit fraction" (§7.14)
    return int(value) if float(value).is_integer() else value


def check_target(evse_id: int, profile: ChargingProfile) -> None:
    """Refuse what no station may accept (1.6 §3.13.1; 2.0.1 K01.FR.16/FR.03).

    Raises:
        InvalidPayload: a station-wide cap not on 0, or a TxProfile on 0.
    """
    if evse_id < 0:
        raise InvalidPayload("evse/connector id must be >= 0")
    if profile.purpose is ChargingProfilePurpose.STATION_MAX and evse_id != 0:
        raise InvalidPayload("a ChargePointMaxProfile can only be set on connector/EVSE 0")
    if profile.purpose is ChargingProfilePurpose.TX and evse_id == 0:
        raise InvalidPayload("a TxProfile can only be set on a connector/EVSE > 0")


def _schedule(schedule: ChargingSchedule, version: OcppVersion) -> Payload:
    data: Payload = {}
    if version is not OcppVersion.V16:
        data["id"] = schedule.id
    if schedule.duration is not None:
        data["duration"] = schedule.duration
    if schedule.start_schedule is not None:
        data["startSchedule"] = format_datetime(schedule.start_schedule)
    data["chargingRateUnit"] = schedule.charging_rate_unit.value
    periods = []
    for period in schedule.periods:
        item: Payload = {"startPeriod": period.start_period}
        item["limit"] = _limit(period.limit, version)
        if period.number_phases is not None:
            item["numberPhases"] = period.number_phases
        periods.append(item)
    data["chargingSchedulePeriod"] = periods
    if schedule.min_charging_rate is not None:
        data["minChargingRate"] = _limit(schedule.min_charging_rate, version)
    return data


def profile_payload(evse_id: int, profile: ChargingProfile, version: OcppVersion) -> Payload:
    """A SetChargingProfile request.

    Raises:
        InvalidPayload: a 1.6 transactionId that is not an integer.
    """
    body: Payload = {
        "chargingProfileId" if version is OcppVersion.V16 else "id": profile.id,
        "stackLevel": profile.stack_level,
        "chargingProfilePurpose": purpose_name(profile.purpose, version),
        "chargingProfileKind": profile.kind.value,
    }
    if profile.transaction_id is not None:
        if version is OcppVersion.V16:
            try:
                body["transactionId"] = int(profile.transaction_id)
            except ValueError:
                raise InvalidPayload("a 1.6 transactionId is an integer") from None
        else:
            body["transactionId"] = profile.transaction_id
    if profile.recurrency_kind is not None:
        body["recurrencyKind"] = profile.recurrency_kind.value
    if profile.valid_from is not None:
        body["validFrom"] = format_datetime(profile.valid_from)
    if profile.valid_to is not None:
        body["validTo"] = format_datetime(profile.valid_to)
    schedule = _schedule(profile.schedule, version)
    if version is OcppVersion.V16:
        body["chargingSchedule"] = schedule
        return {"connectorId": evse_id, "csChargingProfiles": body}
    body["chargingSchedule"] = [schedule]
    return {"evseId": evse_id, "chargingProfile": body}


def _purpose(name: object) -> ChargingProfilePurpose:
    return ChargingProfilePurpose(
        "ChargingStationMaxProfile" if name == "ChargePointMaxProfile" else str(name)
    )


def _schedule_from(data: Payload) -> ChargingSchedule:
    start = data.get("startSchedule")
    minimum = data.get("minChargingRate")
    return ChargingSchedule(
        charging_rate_unit=ChargingRateUnit(data["chargingRateUnit"]),
        periods=tuple(
            ChargingSchedulePeriod(
                start_period=int(p["startPeriod"]),
                limit=float(p["limit"]),
                number_phases=p.get("numberPhases"),
            )
            for p in data["chargingSchedulePeriod"]
        ),
        duration=data.get("duration"),
        start_schedule=parse_datetime(start) if isinstance(start, str) else None,
        min_charging_rate=float(minimum) if minimum is not None else None,
        id=int(data.get("id", 1)),
    )


def profile_from_request(payload: Payload, version: OcppVersion) -> tuple[int, ChargingProfile]:
    """The EVSE and profile a (schema-valid) SetChargingProfile request spells: the inverse of
    :func:`profile_payload`, for one sent through the generic call.

    Raises:
        KeyError, TypeError, ValueError: csms cannot represent it (e.g. a 2.x purpose other than
            the three csms sets, or several schedules).
    """
    if version is OcppVersion.V16:
        evse_id, body = int(payload["connectorId"]), payload["csChargingProfiles"]
        profile_id, schedule = body["chargingProfileId"], body["chargingSchedule"]
    else:
        evse_id, body = int(payload["evseId"]), payload["chargingProfile"]
        profile_id, schedules = body["id"], body["chargingSchedule"]
        if len(schedules) != 1:
            raise ValueError("csms keeps profiles with one schedule")
        schedule = schedules[0]
    recurrency = body.get("recurrencyKind")
    valid_from, valid_to = body.get("validFrom"), body.get("validTo")
    transaction_id = body.get("transactionId")
    return evse_id, ChargingProfile(
        id=int(profile_id),
        stack_level=int(body["stackLevel"]),
        purpose=_purpose(body["chargingProfilePurpose"]),
        kind=ChargingProfileKind(body["chargingProfileKind"]),
        schedule=_schedule_from(schedule),
        recurrency_kind=RecurrencyKind(recurrency) if recurrency is not None else None,
        valid_from=parse_datetime(valid_from) if isinstance(valid_from, str) else None,
        valid_to=parse_datetime(valid_to) if isinstance(valid_to, str) else None,
        transaction_id=str(transaction_id) if transaction_id is not None else None,
    )


def clear_criteria_from_request(payload: Payload, version: OcppVersion) -> ClearCriteria:
    """The criteria a ClearChargingProfile request spells: the inverse of :func:`clear_payload`."""
    if version is OcppVersion.V16:
        profile_id, found = payload.get("id"), payload
        evse_id = found.get("connectorId")
    else:
        profile_id = payload.get("chargingProfileId")
        found = payload.get("chargingProfileCriteria") or {}
        evse_id = found.get("evseId")
    purpose = found.get("chargingProfilePurpose")
    return ClearCriteria(
        profile_id=profile_id,
        evse_id=evse_id,
        purpose=_purpose(purpose) if purpose is not None else None,
        stack_level=found.get("stackLevel"),
    )


def clear_payload(criteria: ClearCriteria, version: OcppVersion) -> Payload:
    """A ClearChargingProfile request (no field: clear every profile, 1.6 errata 3.25)."""
    purpose = purpose_name(criteria.purpose, version) if criteria.purpose is not None else None
    if version is OcppVersion.V16:
        fields = {
            "id": criteria.profile_id,
            "connectorId": criteria.evse_id,
            "chargingProfilePurpose": purpose,
            "stackLevel": criteria.stack_level,
        }
        return {k: v for k, v in fields.items() if v is not None}
    payload: Payload = {}
    if criteria.profile_id is not None:
        payload["chargingProfileId"] = criteria.profile_id
    found = {
        "evseId": criteria.evse_id,
        "chargingProfilePurpose": purpose,
        "stackLevel": criteria.stack_level,
    }
    found = {k: v for k, v in found.items() if v is not None}
    if found:
        payload["chargingProfileCriteria"] = found
    return payload


def composite_request(
    evse_id: int, duration: int, unit: ChargingRateUnit | None, version: OcppVersion
) -> Payload:
    """A GetCompositeSchedule request."""
    payload: Payload = {
        "connectorId" if version is OcppVersion.V16 else "evseId": evse_id,
        "duration": duration,
    }
    if unit is not None:
        payload["chargingRateUnit"] = unit.value
    return payload


def composite_from_response(
    payload: Payload,
    version: OcppVersion,
    *,
    evse_id: int,
    duration: int,
    received_at: datetime,
) -> CompositeSchedule | None:
    """The schedule in a GetCompositeSchedule answer; None when it holds none (e.g. Rejected).

    1.6: periods are relative to ``scheduleStart`` (§6.22), else to the schedule's
    ``startSchedule``, else to when the station got the request (``received_at``); a schedule
    without a duration covers the requested one. 2.x: ``schedule`` carries all of these.
    """
    if version is OcppVersion.V16:
        schedule = payload.get("chargingSchedule")
        if schedule is None:
            return None
        start_text = payload.get("scheduleStart") or schedule.get("startSchedule")
        length = schedule.get("duration", duration)
        evse = payload.get("connectorId", evse_id)
    else:
        schedule = payload.get("schedule")
        if schedule is None:
            return None
        start_text = schedule["scheduleStart"]
        length = schedule["duration"]
        evse = schedule["evseId"]
    start = station_time(start_text, received_at)
    periods = tuple(
        CompositePeriod(
            int(p["startPeriod"]),
            float(p["limit"]) if p.get("limit") is not None else None,
            p.get("numberPhases"),
        )
        for p in sorted(schedule["chargingSchedulePeriod"], key=lambda p: p["startPeriod"])
    )
    return CompositeSchedule(
        evse, start, int(length), ChargingRateUnit(schedule["chargingRateUnit"]), periods
    )
