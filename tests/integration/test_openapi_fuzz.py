"""schemathesis against a real csms on loopback: every operation of the OpenAPI document, with
generated requests and a valid credential. No 5xx, every status code documented, every response
body as documented (schema and media type).

The operations are those of the document the running app serves (``app.openapi()`` at
``/openapi.json``), built by the container with every optional router attached, so routes added
later are fuzzed without touching this test. Bounded and deterministic: a few derandomized
examples per operation, well under a minute in total.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from csms.container import Csms
from tests.integration.harness import API_TOKEN, settings_for

# Examples per operation: enough to hit each documented refusal (404, 409, 422) at least once.
EXAMPLES = int(os.environ.get("CSMS_FUZZ_EXAMPLES", "6"))
# What "as documented" means here. Not schemathesis's positive_data_acceptance (a schema-valid
# request must not get 4xx): the API refuses with a documented 422 what its OpenAPI schema cannot
# express, e.g. an opaque cursor it did not issue, or an OCPP payload that breaks the official OCPP
# schema of the action (the generic call's body is any JSON object in the document).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@contextlib.contextmanager
def csms_in_a_thread(tmp_path: Path) -> Iterator[str]:
    """Run csms on its own event loop in a thread (schemathesis's client is synchronous); yield
    the API's base URL."""
    started = threading.Event()
    failure: list[BaseException] = []
    url: list[str] = []
    stop: list[asyncio.Event] = []
    loop = asyncio.new_event_loop()

    async def main() -> None:
        csms = Csms(settings_for(tmp_path))
        try:
            await csms.start()
        except BaseException as exc:
            failure.append(exc)
            started.set()
            raise
        try:
            assert csms.store is not None
            url.append(f"http://127.0.0.1:{csms.api_port}")
            stop.append(asyncio.Event())
            started.set()
            await stop[0].wait()
        finally:
            await csms.close()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    assert started.wait(30), "csms did not start"
    if failure:
        raise failure[0]
    try:
        yield url[0]
    finally:
        loop.call_soon_threadsafe(stop[0].set)
        thread.join(30)
        loop.close()


def _operations(schema: Any) -> list[Any]:
    operations = []
    for result in schema.get_all_operations():
        operations.append(result.ok())
    return operations


def _summary(exc: BaseException) -> str:
    """The failure's titles and its reproducing curl line."""
    lines = [line.strip() for line in str(exc).splitlines()]
    keep = [line for line in lines if line.startswith(("- ", "[", "curl", "`"))]
    return " | ".join(keep)[:600] or repr(exc)[:600]


@pytest.mark.timeout(180)
def test_every_operation_answers_as_documented(tmp_path: Path) -> None:
    with csms_in_a_thread(tmp_path) as base_url:
        document = requests.get(f"{base_url}/openapi.json", timeout=10).json()
        schema = schemathesis.openapi.from_dict(document)
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        session = requests.Session()
        operations = _operations(schema)
        assert len(operations) >= 40, "every optional router is attached"
        failures: dict[str, str] = {}
        for operation in operations:

            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def run(case: Any) -> None:
                case.call_and_validate(
                    base_url=base_url,
                    session=session,
                    headers=headers,
                    checks=CHECKS,
                    timeout=15,
                )

            try:
                run()
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # every failing operation, all reported together
                failures[operation.label] = _summary(exc)
        assert not failures, "\n".join(f"{k}: {v}" for k, v in sorted(failures.items()))
