"""Many simulated stations at once: ``csms simulate`` and ``csms serve --demo``.

:func:`build_fleet` makes the agents (identities ``<prefix><n>``, versions taken round-robin from
the mix); :func:`run_fleet` runs them with their scenario until ``stop`` is set, reporting progress
through a callback: one redrawn line on a terminal, plain log lines otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from ssl import SSLContext

from csms.domain.tokens import expand_token_pattern
from csms.messages import MessageValidator
from csms.messages.ocpp15 import Ocpp15Json
from csms.messages.soap.station import StationCodec
from csms.rpc.versions import OcppVersion
from csms.simulator.agent import AgentOptions, StationAgent
from csms.simulator.scenarios import Scenario, Timing, run_scenario
from csms.simulator.station import OCPP15J, SOAP_VERSIONS, SimStation, StationSpec
from csms.simulator.stats import Stats

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FleetOptions:
    """Everything ``csms simulate`` takes (times in seconds)."""

    url: str
    count: int = 1
    id_prefix: str = "SIM-"
    first: int = 1
    # OCPP versions, or OCPP15J ("1.5") for OCPP 1.5 over JSON, or "1.5s"/"1.6s" for SOAP.
    versions: Sequence[str] = (OcppVersion.V16, OcppVersion.V201, OcppVersion.V21)
    evses: int = 2
    heartbeat_interval: float | None = None  # None: what the CSMS says in BootNotification
    meter_interval: float = 10.0
    password: str | None = None
    ssl: ssl.SSLContext | None = None
    scenario: Scenario = Scenario.CHARGE
    timing: Timing = field(default_factory=Timing)
    response_delay: float = 0.0
    backoff: tuple[float, float, int] = (3.0, 5.0, 5)
    call_timeout: float = 30.0
    step_delay: float = 1.0
    # Start the stations this many seconds apart (a whole fleet at once is a reconnect storm).
    ramp: float = 0.05
    id_tags: tuple[str, ...] = ()
    seed: int | None = None
    # SOAP stations: the CSMS's CentralSystemService URL (default ``url``) and the address their
    # own ChargePointService endpoints listen on (and announce as WS-Addressing From).
    soap_url: str | None = None
    soap_host: str = "127.0.0.1"
    soap_ssl: SSLContext | None = None  # for an https:// soap_url


def build_fleet(options: FleetOptions, stats: Stats) -> list[StationAgent]:
    """Create (not start) the agents."""
    wanted = options.versions
    on_16 = (OCPP15J, *SOAP_VERSIONS)  # the wire versions that run the 1.6 station logic
    validators = {
        v: MessageValidator(v)
        for v in {OcppVersion.V16 if w in on_16 else OcppVersion(w) for w in wanted}
    }
    # Parsed or compiled once, shared by the 1.5J and 1.5s stations and the SOAP ones.
    ocpp15 = Ocpp15Json() if OCPP15J in wanted or "1.5s" in wanted else None
    codecs = {
        w: StationCodec(SOAP_VERSIONS[w], ocpp15=ocpp15) for w in set(wanted) if w in SOAP_VERSIONS
    }
    agents = []
    for n in range(options.count):
        wire = wanted[n % len(wanted)]
        version = OcppVersion.V16 if wire in on_16 else OcppVersion(wire)
        spec = StationSpec(
            identity=f"{options.id_prefix}{options.first + n}",
            version=version,
            json15=wire == OCPP15J,
            soap=SOAP_VERSIONS.get(wire),
            evses=options.evses,
            heartbeat_interval=options.heartbeat_interval or 60.0,
            meter_interval=options.meter_interval,
            backoff=options.backoff,
        )
        agent_options = AgentOptions(
            url=options.url,
            password=options.password,
            ssl=options.ssl,
            call_timeout=options.call_timeout,
            response_delay=options.response_delay,
            fixed_heartbeat=options.heartbeat_interval is not None,
            step_delay=options.step_delay,
            charge_time=options.timing.charge,
            id_tags=_tags_of(options.id_tags, n, options.evses, options.first + n),
            seed=None if options.seed is None else options.seed + n,
            soap_url=options.soap_url,
            soap_host=options.soap_host,
            soap_ssl=options.soap_ssl,
        )
        station = SimStation(
            spec, validator=validators[version], ocpp15=ocpp15, soap_codec=codecs.get(wire)
        )
        agents.append(StationAgent(station, agent_options, stats))
    return agents


def _tags_of(tags: Sequence[str], n: int, evses: int, number: int) -> tuple[str, ...]:
    """Station ``n``'s share of the tags: one per EVSE, round-robin over the list; a pattern
    names the station's ``number`` as ``{n}`` and the EVSE as ``{evse}`` (``TAG-{n}``: station
    SIM-7's driver taps TAG-7), so every station can have tags of its own."""
    if not tags:
        return ()
    return tuple(
        expand_token_pattern(tags[(n * evses + k) % len(tags)], n=number, evse=k + 1)
        for k in range(evses)
    )


def shared_tags_warning(options: FleetOptions) -> str | None:
    """Why drivers of different stations would tap the same tag (a CSMS then answers
    ConcurrentTx to all but one of their StartTransactions), or None."""
    tags = options.id_tags
    if not tags or any("{n}" in tag for tag in tags):
        return None
    sessions = options.count  # the charge scenarios use one EVSE per station at a time
    if len(tags) >= sessions:
        return None
    return (
        f"--id-tags: {len(tags)} tag(s) for {options.count} stations: drivers share tags and a "
        "CSMS refuses a tag already charging elsewhere (ConcurrentTx); give one tag per station, "
        "or a pattern such as 'TAG-{n}' (station number)"
    )


async def _one(agent: StationAgent, options: FleetOptions, delay: float) -> None:
    await asyncio.sleep(delay)
    async with asyncio.TaskGroup() as group:
        group.create_task(agent.run())
        group.create_task(run_scenario(agent, options.scenario, options.timing))


async def run_fleet(
    options: FleetOptions,
    stop: asyncio.Event,
    *,
    stats: Stats | None = None,
    report: Callable[[Stats], None] | None = None,
    report_every: float = 1.0,
) -> Stats:
    """Run the fleet until ``stop`` is set; call ``report`` every ``report_every`` seconds.

    Returns the counters as they were when ``stop`` was set.
    """
    stats = stats if stats is not None else Stats()
    agents = build_fleet(options, stats)
    warning = shared_tags_warning(options)
    if warning is not None:
        logger.warning("%s", warning)
    tasks = [
        asyncio.create_task(_one(agent, options, n * options.ramp))
        for n, agent in enumerate(agents)
    ]
    final = stats
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), report_every)
            if report is not None:
                report(stats)
        final = stats.snapshot()  # before the teardown disconnects everyone
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return final
