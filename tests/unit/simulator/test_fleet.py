"""Building a fleet: identities, version mix, shared validators, RFID tags."""

from __future__ import annotations

import pytest

from csms.container import DEMO_TAGS, demo_tags
from csms.domain.tokens import expand_token_pattern
from csms.rpc.versions import OcppVersion
from csms.simulator import FleetOptions, SimStation, StationSpec, Stats, build_fleet
from csms.simulator.fleet import shared_tags_warning
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


def test_15j_stations_in_a_fleet_run_the_16_logic_with_one_shared_mapping() -> None:
    options = FleetOptions(url="ws://h/", count=3, versions=("1.5", OcppVersion.V16))
    agents = build_fleet(options, Stats())
    assert [a.station.protocol for a in agents] == ["1.5", "1.6", "1.5"]
    assert [a.station.version for a in agents] == [OcppVersion.V16] * 3
    assert agents[1].station.ocpp15 is None
    assert agents[0].station.ocpp15 is agents[2].station.ocpp15  # the WSDLs parsed once
    with pytest.raises(ValueError, match="give version"):
        SimStation(StationSpec("X", OcppVersion.V201, json15=True))


def test_soap_stations_in_a_fleet_run_the_16_logic_with_one_codec_per_version() -> None:
    options = FleetOptions(
        url="ws://h/", soap_url="http://h:9001/", count=5, versions=("1.5s", "1.6s", "1.5")
    )
    agents = build_fleet(options, Stats())
    assert [a.station.protocol for a in agents] == ["1.5s", "1.6s", "1.5", "1.5s", "1.6s"]
    assert [a.station.version for a in agents] == [OcppVersion.V16] * 5
    codecs = [a.station.soap_codec for a in agents]
    assert codecs[2] is None  # 1.5J
    assert codecs[0] is codecs[3] and codecs[1] is codecs[4]  # the WSDL schemas compiled once
    assert [c.version for c in (codecs[0], codecs[1]) if c is not None] == ["1.5", "1.6"]
    assert agents[0].options.soap_url == "http://h:9001/"
    with pytest.raises(ValueError, match="give version"):
        SimStation(StationSpec("X", OcppVersion.V201, soap="1.6"))
    with pytest.raises(ValueError, match="not both"):
        SimStation(StationSpec("X", OcppVersion.V16, soap="1.6", json15=True))


def test_rfid_tags_are_stable_or_taken_from_the_options() -> None:
    (agent,) = build_fleet(FleetOptions(url="ws://h/", count=1), Stats())
    evse = agent.station.state.evses[1]
    assert rfid_tag(agent, evse) == rfid_tag(agent, evse)
    assert rfid_tag(agent, evse).startswith("RFID-")
    tags = ("A", "B", "C", "D", "E")
    tagged = build_fleet(FleetOptions(url="ws://h/", count=3, evses=2, id_tags=tags), Stats())
    handed = [rfid_tag(a, e) for a in tagged for e in a.station.state.evses.values()]
    assert handed == ["A", "B", "C", "D", "E", "A"]  # one per EVSE, round-robin


def test_tag_patterns_give_every_station_its_own_tag() -> None:
    options = FleetOptions(
        url="ws://h/", count=3, first=5, evses=2, id_tags=("T-{n}", "E-{n}-{evse}")
    )
    agents = build_fleet(options, Stats())
    handed = [rfid_tag(a, e) for a in agents for e in a.station.state.evses.values()]
    # Round-robin over the list as before, each pattern filled in for its station and EVSE.
    assert handed == ["T-5", "E-5-2", "T-6", "E-6-2", "T-7", "E-7-2"]
    assert shared_tags_warning(options) is None


def test_fewer_plain_tags_than_stations_is_warned() -> None:
    shared = shared_tags_warning(FleetOptions(url="ws://h/", count=50, id_tags=("ONE",)))
    assert shared is not None and "ConcurrentTx" in shared and "TAG-{n}" in shared
    assert shared_tags_warning(FleetOptions(url="ws://h/", count=2, id_tags=("A", "B"))) is None
    assert shared_tags_warning(FleetOptions(url="ws://h/", count=2)) is None  # made up: distinct
    with pytest.raises(ValueError, match="only"):
        expand_token_pattern("T-{station}", n=1)


def test_demo_drivers_never_share_a_tag() -> None:
    """`csms serve --demo N`: one tag per EVSE of every station, so no demo driver is refused
    with ConcurrentTx because another station's driver holds the same card."""
    for count in (1, 3, 5, 6, 40):
        tags = demo_tags(count)
        assert tags[:10] == DEMO_TAGS
        options = FleetOptions(url="ws://h/", count=count, id_tags=tags)
        agents = build_fleet(options, Stats())
        handed = [rfid_tag(a, e) for a in agents for e in a.station.state.evses.values()]
        assert len(set(handed)) == len(handed) == 2 * count
        assert shared_tags_warning(options) is None
