"""An ISO 15118 EV behind a simulated 2.x station: its charging needs, the schedule it returns,
and the certificate requests the station forwards for it (2.0.1 K15, K17, M02, M06).

* At a transaction's start the EV tells its needs: NotifyEVChargingNeeds (K15.FR.01) with AC
  three-phase parameters sized from the EVSE (evMaxCurrent from its maximum power), the energy
  it wants and a departure time.
* When the CSMS sets a TxProfile for that transaction, the EV adopts the CSMS's schedule as its
  own and the station reports it: NotifyEVChargingSchedule (K15.FR.10), a copy of the first
  schedule, so it is within the CSMS's limits by construction (K15.FR.07).
* For Plug & Charge the station asks the CSMS about the EV's contract certificate:
  GetCertificateStatus (M06, an OCSP request) and Get15118EVCertificate (M02, the EXI request
  passed through as base64; the simulator's is a placeholder, not real EXI).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from csms.rpc.versions import OcppVersion
from csms.simulator.dialect import Payload, format_time
from csms.simulator.meter import PHASES, VOLTS

if TYPE_CHECKING:
    from csms.simulator.state import Evse
    from csms.simulator.station import SimStation

__all__ = [
    "DEPARTURE",
    "ENERGY_WH",
    "certificate_status_request",
    "charging_needs",
    "ev_certificate_request",
    "ev_schedule",
]

ENERGY_WH = 20_000  # what the simulated EV asks for
DEPARTURE = timedelta(hours=4)  # when it leaves, from the transaction's start
MAX_SCHEDULE_TUPLES = 24
SCHEMA_2 = "urn:iso:15118:2:2013:MsgDef"


def charging_needs(station: SimStation, evse: Evse, now: datetime) -> Payload:
    """NotifyEVChargingNeeds for the EV on ``evse`` (2.0.1 and 2.1 alike)."""
    max_current = max(6, int(evse.max_power_w / (VOLTS * PHASES)))
    needs: Payload = {
        "requestedEnergyTransfer": "AC_three_phase",
        "departureTime": format_time(now + DEPARTURE),
        "acChargingParameters": {
            "energyAmount": ENERGY_WH,
            "evMinCurrent": 6,
            "evMaxCurrent": max_current,
            "evMaxVoltage": 400,
        },
    }
    payload: Payload = {
        "evseId": evse.id,
        "maxScheduleTuples": MAX_SCHEDULE_TUPLES,
        "chargingNeeds": needs,
    }
    if station.version is OcppVersion.V21:
        payload["timestamp"] = format_time(now)
    return payload


def ev_schedule(evse: Evse, profile: Payload, now: datetime) -> Payload | None:
    """NotifyEVChargingSchedule adopting the TxProfile's first schedule (None: it has none)."""
    schedules = profile.get("chargingSchedule") or []
    if not schedules:
        return None
    schedule = dict(schedules[0])
    time_base = schedule.pop("startSchedule", None) or format_time(now)
    schedule.pop("duration", None)  # the EV's schedule runs from timeBase to its departure
    return {"timeBase": time_base, "evseId": evse.id, "chargingSchedule": schedule}


def _hashes(seed: str) -> Payload:
    return {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": hashlib.sha256(b"name:" + seed.encode()).hexdigest(),
        "issuerKeyHash": hashlib.sha256(b"key:" + seed.encode()).hexdigest(),
        "serialNumber": hashlib.sha256(seed.encode()).hexdigest()[:40],
    }


def certificate_status_request(station: SimStation) -> Payload:
    """GetCertificateStatus (M06) for the EV's contract certificate of this station."""
    return {
        "ocspRequestData": {
            **_hashes(f"contract:{station.identity}"),
            "responderURL": "http://ocsp.example.invalid/",
        }
    }


def ev_certificate_request(station: SimStation) -> Payload:
    """Get15118EVCertificate (M02) Install, with a placeholder EXI request."""
    exi = base64.b64encode(f"CertificateInstallationReq:{station.identity}".encode()).decode()
    return {"iso15118SchemaVersion": SCHEMA_2, "action": "Install", "exiRequest": exi}
