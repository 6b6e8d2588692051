"""The OCPP version an operator command must be spelled in: the station's live session's."""

from __future__ import annotations

from csms.domain.errors import StationNotConnected
from csms.domain.ports import StationGateway
from csms.rpc import OcppVersion


def live_version(gateway: StationGateway, station_id: str) -> OcppVersion:
    """Return the negotiated version of the station's session.

    Raises:
        StationNotConnected: the station has no live session (commands are never queued).
    """
    version = gateway.ocpp_version(station_id)
    if version is None:
        raise StationNotConnected(f"station {station_id!r} is not connected")
    return OcppVersion(version)
