"""Building a fleet: identities, version mix, shared validators, RFID tags."""

from __future__ import annotations

from csms.rpc.versions import OcppVersion
from csms.simulator import FleetOptions, Stats, build_fleet
from csms.simulator.scenarios import rfid_tag


def test_fleet_identities_versions_and_validators() -> None:
    options = FleetOptions(
        url="ws://127.0.0.1:9000/ocpp",
        count=5,
        id_prefix="LAB-",
        first=10,
        versions=(OcppVersion.V16, OcppVersion.V16, OcppVersion.V21),
        heartbeat_interval=15.0,
    )
    agents = build_fleet(options, Stats())
    assert [a.identity for a in agents] == ["LAB-10", "LAB-11", "LAB-12", "LAB-13", "LAB-14"]
    assert [a.station.version.value for a in agents] == ["1.6", "1.6", "2.1", "1.6", "1.6"]
    assert agents[0].station.validator is agents[1].station.validator  # compiled once per version
    assert all(a.options.fixed_heartbeat and a.station.heartbeat_interval == 15.0 for a in agents)


def test_rfid_tags_are_stable_or_taken_from_the_options() -> None:
    (agent,) = build_fleet(FleetOptions(url="ws://h/", count=1), Stats())
    evse = agent.station.state.evses[1]
    assert rfid_tag(agent, evse) == rfid_tag(agent, evse)
    assert rfid_tag(agent, evse).startswith("RFID-")
    tags = ("A", "B", "C", "D", "E")
    tagged = build_fleet(FleetOptions(url="ws://h/", count=3, evses=2, id_tags=tags), Stats())
    handed = [rfid_tag(a, e) for a in tagged for e in a.station.state.evses.values()]
    assert handed == ["A", "B", "C", "D", "E", "A"]  # one per EVSE, round-robin
