"""No station message the schemas describe is answered InternalError (issue 7 finding 7).

Property-based: payloads are drawn from the official request schema of every station-to-CSMS action
csms handles in 1.6, 2.0.1 and 2.1 (tests/schema_payloads.py), with the edge values that used to
fail on every retry, and go through the real Dispatcher with every block and a real store (SQLite,
and PostgreSQL with fewer examples: it is where 32-bit columns failed).
Every answer must be a CALLRESULT or a CALLERROR other than InternalError, for strict and lenient
stations, and nothing may raise. A new handler that reads a time or an integer on its own is caught
here. Bounded and derandomized, so CI runs the same examples in a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csms.blocks.context import CallContext
from csms.blocks.dispatch import Dispatcher
from csms.config import DatabaseSettings, FilesSettings, Settings
from csms.container import build_dispatcher, build_router, build_security_block
from csms.domain.model import RegistrationStatus, Station
from csms.messages import SchemaKind, actions
from csms.messages.schemas import load_schema
from csms.rpc import ALL_VERSIONS, CallErrorReply, ErrorCode, OcppVersion
from csms.server.registry import ConnectionRegistry
from csms.storage import SqliteSynchronous, Store, open_store
from tests.postgres import PostgresServer
from tests.schema_payloads import payloads
from tests.templates import copy_sqlite_template

# Per version; derandomized, so the same payloads every run.
EXAMPLES = {"sqlite": 150, "postgres": 100}
STATION = "FUZZ"


async def _open(url: str, tmp_path: Path) -> tuple[Store, Dispatcher]:
    base = Settings()
    config = dataclasses.replace(
        base,
        database=dataclasses.replace(DatabaseSettings(), url=url),
        files=dataclasses.replace(FilesSettings(), data_dir=str(tmp_path / "data")),
    )
    store = await open_store(url, sqlite_synchronous=SqliteSynchronous.NORMAL)
    await store.stations.add(Station(id=STATION, registration_status=RegistrationStatus.ACCEPTED))
    # Every block csms runs: each keyword of build_router named like a repository of the store
    # gets it, so a block added later is fuzzed without touching this test.
    keywords = [
        name
        for name, parameter in inspect.signature(build_router).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and hasattr(store, name)
    ]
    repositories = {name: getattr(store, name) for name in keywords}
    security = build_security_block(store.security, ConnectionRegistry(), config)
    router = build_router(
        store.stations,
        store.transactions,
        config,
        **{**repositories, "security": security},
    )
    return store, build_dispatcher(router)


def _cases(version: OcppVersion, dispatcher: Dispatcher) -> st.SearchStrategy[Any]:
    handled = sorted(
        name
        for name, info in actions(version).items()
        if info.direction.from_station
        and not info.unconfirmed
        and dispatcher.router.handler(version, name) is not None
    )
    assert handled, version
    schemas = {name: load_schema(version, name, SchemaKind.REQUEST) for name in handled}
    return st.sampled_from(handled).flatmap(
        lambda name: st.tuples(st.just(name), payloads(schemas[name] or {}), st.booleans())
    )


async def _answer(
    dispatcher: Dispatcher, version: OcppVersion, action: str, payload: Any, lenient: bool
) -> None:
    ctx = CallContext(STATION, version, RegistrationStatus.ACCEPTED, lenient=lenient)
    try:
        await dispatcher.handle_call(ctx, action, payload)
    except CallErrorReply as exc:
        assert exc.code is not ErrorCode.INTERNAL_ERROR, (action, payload, exc.description)


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: v.value)
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_no_schema_described_payload_is_answered_internal_error(
    backend: str, version: OcppVersion, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    stack = contextlib.AsyncExitStack()
    with asyncio.Runner() as runner:
        try:
            if backend == "sqlite":
                copy_sqlite_template(tmp_path / "csms.db")  # migrated to head once per process
                url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
            else:
                server: PostgresServer = request.getfixturevalue("postgres_server")
                template: str = request.getfixturevalue("postgres_template")
                url = runner.run(stack.enter_async_context(server.database(template=template)))
            store, dispatcher = runner.run(_open(url, tmp_path))
            stack.push_async_callback(store.aclose)

            @settings(
                max_examples=EXAMPLES[backend],
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(_cases(version, dispatcher))
            def answered(case: tuple[str, Any, bool]) -> None:
                runner.run(_answer(dispatcher, version, *case))

            answered()
        finally:
            runner.run(stack.aclose())
