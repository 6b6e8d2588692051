"""Local list and charging-profile payloads, per version, valid against the official schemas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from csms.blocks.localauthlist import payloads as lists
from csms.blocks.smartcharging import payloads as profiles
from csms.domain.errors import InvalidPayload
from csms.domain.localauth import AuthorizationStatus, LocalListEntry, UpdateType
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
from csms.messages import MessageValidator
from csms.rpc import OcppVersion

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21
ALL = pytest.mark.parametrize("version", [V16, V201, V21])
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

ENTRIES = [
    LocalListEntry("TAG-1"),
    LocalListEntry("TAG-2", AuthorizationStatus.BLOCKED, expiry_date=T0, parent_id_token="GRP"),
    LocalListEntry("TAG-3", None),
]

PROFILE = ChargingProfile(
    id=7,
    stack_level=2,
    purpose=ChargingProfilePurpose.TX_DEFAULT,
    kind=ChargingProfileKind.RECURRING,
    recurrency_kind=RecurrencyKind.DAILY,
    valid_from=T0,
    valid_to=datetime(2027, 1, 1, tzinfo=UTC),
    schedule=ChargingSchedule(
        charging_rate_unit=ChargingRateUnit.W,
        periods=(ChargingSchedulePeriod(0, 11000, 3), ChargingSchedulePeriod(28800, 6000.04)),
        duration=86400,
        start_schedule=datetime(2013, 1, 1, tzinfo=UTC),
        min_charging_rate=1380.0,
    ),
)


@ALL
def test_send_local_list_requests_are_valid(version: OcppVersion) -> None:
    items = [lists.entry_payload(e, version) for e in ENTRIES]
    payload = lists.send_local_list_payload(3, UpdateType.DIFFERENTIAL, items, version)
    MessageValidator(version).validate_request("SendLocalList", payload)
    empty = lists.send_local_list_payload(4, UpdateType.FULL, [], version)
    MessageValidator(version).validate_request("SendLocalList", empty)
    assert "localAuthorizationList" not in empty  # 2.x: minItems 1; 1.6: empty means clear


def test_local_list_entries_per_version() -> None:
    assert lists.entry_payload(ENTRIES[1], V16) == {
        "idTag": "TAG-2",
        "idTagInfo": {
            "status": "Blocked",
            "expiryDate": "2026-12-01T12:00:00.000Z",
            "parentIdTag": "GRP",
        },
    }
    assert lists.entry_payload(ENTRIES[2], V16) == {"idTag": "TAG-3"}
    assert lists.entry_payload(ENTRIES[1], V201) == {
        "idToken": {"idToken": "TAG-2", "type": "ISO14443"},
        "idTokenInfo": {
            "status": "Blocked",
            "cacheExpiryDateTime": "2026-12-01T12:00:00.000Z",
            "groupIdToken": {"idToken": "GRP", "type": "Central"},
        },
    }
    typed = LocalListEntry("ABC", token_type="KeyCode")
    assert lists.entry_payload(typed, V21)["idToken"]["type"] == "KeyCode"
    assert lists.send_local_list_payload(1, UpdateType.FULL, [], V16) == {
        "listVersion": 1,
        "updateType": "Full",
    }
    assert lists.send_local_list_payload(1, UpdateType.FULL, [], V21)["versionNumber"] == 1


def test_identifiers_too_long_for_the_version_are_refused() -> None:
    entry = LocalListEntry("X" * 21)
    with pytest.raises(InvalidPayload):
        lists.entry_payload(entry, V16)
    assert lists.entry_payload(entry, V201)["idToken"]["idToken"] == "X" * 21


@ALL
def test_limits_are_read_per_version(version: OcppVersion) -> None:
    action, request = lists.limits_request(version)
    MessageValidator(version).validate_request(action, request)
    if version is V16:
        answer = {
            "configurationKey": [{"key": "SendLocalListMaxLength", "readonly": True, "value": "5"}]
        }
        expected: tuple[int | None, int | None] = (5, None)
    else:
        ctrlr = {"name": "LocalAuthListCtrlr"}
        answer = {
            "getVariableResult": [
                {
                    "attributeStatus": "Accepted",
                    "component": ctrlr,
                    "variable": {"name": "ItemsPerMessage"},
                    "attributeValue": "50",
                },
                {
                    "attributeStatus": "Accepted",
                    "component": ctrlr,
                    "variable": {"name": "BytesPerMessage"},
                    "attributeValue": "4000",
                },
            ]
        }
        expected = (50, 4000)
    MessageValidator(version).validate_response(action, answer)
    assert lists.limits_from_response(answer, version) == expected


def test_unreported_or_unreadable_limits_are_none() -> None:
    assert lists.limits_from_response({"unknownKey": ["SendLocalListMaxLength"]}, V16) == (
        None,
        None,
    )
    bad = {"configurationKey": [{"key": "SendLocalListMaxLength", "readonly": True, "value": "x"}]}
    assert lists.limits_from_response(bad, V16) == (None, None)
    rejected = {
        "getVariableResult": [
            {
                "attributeStatus": "UnknownVariable",
                "component": {"name": "LocalAuthListCtrlr"},
                "variable": {"name": "ItemsPerMessage"},
            }
        ]
    }
    assert lists.limits_from_response(rejected, V201) == (None, None)


@ALL
def test_set_charging_profile_requests_are_valid(version: OcppVersion) -> None:
    payload = profiles.profile_payload(1, PROFILE, version)
    MessageValidator(version).validate_request("SetChargingProfile", payload)


def test_set_charging_profile_per_version() -> None:
    v16 = profiles.profile_payload(1, PROFILE, V16)
    assert v16["connectorId"] == 1
    body = v16["csChargingProfiles"]
    assert body["chargingProfileId"] == 7
    assert body["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 11000, "numberPhases": 3},
        {"startPeriod": 28800, "limit": 6000},  # one decimal at most in 1.6
    ]
    v2 = profiles.profile_payload(1, PROFILE, V201)
    assert v2["evseId"] == 1
    assert v2["chargingProfile"]["id"] == 7
    assert v2["chargingProfile"]["chargingSchedule"][0]["id"] == 1
    cap = ChargingProfile(
        id=1,
        stack_level=0,
        purpose=ChargingProfilePurpose.STATION_MAX,
        kind=ChargingProfileKind.ABSOLUTE,
        schedule=PROFILE.schedule,
    )
    assert (
        profiles.profile_payload(0, cap, V16)["csChargingProfiles"]["chargingProfilePurpose"]
        == "ChargePointMaxProfile"
    )
    assert (
        profiles.profile_payload(0, cap, V21)["chargingProfile"]["chargingProfilePurpose"]
        == "ChargingStationMaxProfile"
    )


def test_profiles_that_no_station_may_accept_are_refused() -> None:
    cap = ChargingProfile(
        1, 0, ChargingProfilePurpose.STATION_MAX, ChargingProfileKind.ABSOLUTE, PROFILE.schedule
    )
    tx = ChargingProfile(
        2,
        0,
        ChargingProfilePurpose.TX,
        ChargingProfileKind.RELATIVE,
        PROFILE.schedule,
        transaction_id="abc",
    )
    with pytest.raises(InvalidPayload):
        profiles.check_target(1, cap)
    with pytest.raises(InvalidPayload):
        profiles.check_target(0, tx)
    with pytest.raises(InvalidPayload, match="integer"):
        profiles.profile_payload(1, tx, V16)
    assert profiles.profile_payload(1, tx, V201)["chargingProfile"]["transactionId"] == "abc"


@ALL
@pytest.mark.parametrize(
    "criteria",
    [
        ClearCriteria(),
        ClearCriteria(profile_id=3),
        ClearCriteria(evse_id=1, purpose=ChargingProfilePurpose.STATION_MAX, stack_level=0),
    ],
)
def test_clear_requests_are_valid(version: OcppVersion, criteria: ClearCriteria) -> None:
    MessageValidator(version).validate_request(
        "ClearChargingProfile", profiles.clear_payload(criteria, version)
    )


def test_clear_per_version() -> None:
    criteria = ClearCriteria(evse_id=0, purpose=ChargingProfilePurpose.STATION_MAX)
    assert profiles.clear_payload(criteria, V16) == {
        "connectorId": 0,
        "chargingProfilePurpose": "ChargePointMaxProfile",
    }
    assert profiles.clear_payload(criteria, V201) == {
        "chargingProfileCriteria": {
            "evseId": 0,
            "chargingProfilePurpose": "ChargingStationMaxProfile",
        }
    }
    assert profiles.clear_payload(ClearCriteria(), V21) == {}


@ALL
def test_composite_schedule_request_and_answer(version: OcppVersion) -> None:
    request = profiles.composite_request(1, 3600, ChargingRateUnit.A, version)
    MessageValidator(version).validate_request("GetCompositeSchedule", request)
    periods = [{"startPeriod": 600, "limit": 10}, {"startPeriod": 0, "limit": 16.5}]
    if version is V16:
        answer = {
            "status": "Accepted",
            "connectorId": 1,
            "scheduleStart": "2026-12-01T12:00:00Z",
            "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": periods},
        }
    else:
        answer = {
            "status": "Accepted",
            "schedule": {
                "evseId": 1,
                "duration": 3600,
                "scheduleStart": "2026-12-01T12:00:00Z",
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": periods,
            },
        }
    MessageValidator(version).validate_response("GetCompositeSchedule", answer)
    schedule = profiles.composite_from_response(
        answer, version, evse_id=1, duration=3600, received_at=T0
    )
    assert schedule is not None
    assert (schedule.start, schedule.duration, schedule.evse_id) == (T0, 3600, 1)
    assert [(p.start_period, p.limit) for p in schedule.periods] == [(0, 16.5), (600, 10.0)]
    rejected = profiles.composite_from_response(
        {"status": "Rejected"}, version, evse_id=1, duration=3600, received_at=T0
    )
    assert rejected is None
