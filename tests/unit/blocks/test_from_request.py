"""The generic call reads a payload with the typed command's ``from_request``: the exact inverse
of ``request`` (or of the block's payload builder), for every version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from csms.blocks.provisioning.commands import (
    ChangeConfiguration,
    GetConfiguration,
    GetVariables,
    SetVariables,
)
from csms.blocks.reservation.commands import ReserveNow
from csms.blocks.smartcharging import payloads
from csms.domain.commands import VariableRef
from csms.domain.errors import CommandNotAllowed
from csms.domain.reservations import Reservation, ReservationStatus
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
from csms.rpc import ALL_VERSIONS, OcppVersion

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("connector_id", [0, 2])
def test_reserve_now_round_trips(version: OcppVersion, connector_id: int) -> None:
    reservation = Reservation(
        reservation_id=41,
        station_id="CP",
        connector_id=connector_id,
        id_token="TAG",
        expiry_date=NOW,
        status=ReservationStatus.REQUESTED,
        parent_id_token="GROUP",
        created_at=NOW,
        updated_at=NOW,
    )
    _, payload = ReserveNow(reservation).request(version)
    assert ReserveNow.from_request(version, "CP", payload, NOW).reservation == reservation
    typed = ReserveNow(reservation, token_type="eMAID")
    _, payload = typed.request(version)
    assert ReserveNow.from_request(version, "CP", payload, NOW) == (
        typed if version.is_2x else ReserveNow(reservation)
    )


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize("purpose", list(ChargingProfilePurpose))
def test_charging_profile_round_trips(
    version: OcppVersion, purpose: ChargingProfilePurpose
) -> None:
    evse_id = 0 if purpose is ChargingProfilePurpose.STATION_MAX else 1
    profile = ChargingProfile(
        id=5,
        stack_level=2,
        purpose=purpose,
        kind=ChargingProfileKind.RECURRING,
        recurrency_kind=RecurrencyKind.DAILY,
        schedule=ChargingSchedule(
            charging_rate_unit=ChargingRateUnit.W,
            periods=(ChargingSchedulePeriod(0, 11000.0), ChargingSchedulePeriod(3600, 7400.5, 1)),
            duration=86400,
            start_schedule=NOW,
            min_charging_rate=1000.0,
        ),
        valid_from=NOW,
        valid_to=NOW,
        transaction_id="77" if purpose is ChargingProfilePurpose.TX else None,
    )
    payload = payloads.profile_payload(evse_id, profile, version)
    assert payloads.profile_from_request(payload, version) == (evse_id, profile)


@pytest.mark.parametrize("version", ALL_VERSIONS)
@pytest.mark.parametrize(
    "criteria",
    [
        ClearCriteria(),
        ClearCriteria(profile_id=3),
        ClearCriteria(evse_id=1, purpose=ChargingProfilePurpose.STATION_MAX, stack_level=0),
    ],
)
def test_clear_criteria_round_trip(version: OcppVersion, criteria: ClearCriteria) -> None:
    payload = payloads.clear_payload(criteria, version)
    assert payloads.clear_criteria_from_request(payload, version) == criteria


def test_a_profile_csms_cannot_represent_is_refused() -> None:
    payload = {
        "evseId": 0,
        "chargingProfile": {
            "id": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "ChargingStationExternalConstraints",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [],
        },
    }
    with pytest.raises(ValueError):
        payloads.profile_from_request(payload, OcppVersion.V201)


def test_configuration_commands_round_trip() -> None:
    ref = VariableRef("EVSE", "Power", evse_id=1, connector_id=2, attribute_type="MaxSet")
    for command in (
        GetVariables((ref,)),
        SetVariables(((ref, "11000"),)),
    ):
        _, payload = command.request(OcppVersion.V201)
        assert type(command).from_request(payload) == command
    for command16 in (GetConfiguration(("A", "B")), GetConfiguration()):
        _, payload = command16.request(OcppVersion.V16)
        assert GetConfiguration.from_request(payload) == command16
    _, payload = ChangeConfiguration("HeartbeatInterval", "60").request(OcppVersion.V16)
    assert ChangeConfiguration.from_request(payload) == ChangeConfiguration(
        "HeartbeatInterval", "60"
    )
    with pytest.raises(CommandNotAllowed):
        ChangeConfiguration.from_request({"key": "AuthorizationKey", "value": "x"})
