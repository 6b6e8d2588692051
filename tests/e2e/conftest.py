"""Fixtures of the dashboard's end-to-end tests: a csms with demo stations, accounts, a browser."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright, expect

from csms.rpc.versions import OcppVersion
from csms.simulator.fleet import FleetOptions, run_fleet
from csms.simulator.scenarios import Scenario
from tests.e2e.browser import chromium_path
from tests.integration.harness import PASSWORD, RunningCsms, running_csms, settings_for

ACCOUNTS = {"ada": "operator", "vic": "viewer"}
ACCOUNT_PASSWORD = "dashboard-e2e-password"
DEMO_STATIONS = 3
IDLE_STATION = "E2E-1"  # stays idle until the test starts a transaction on it


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where screenshots go: $CSMS_E2E_ARTIFACTS (docs/dashboard regenerates the docs' images),
    else the test's temporary directory."""
    target = Path(os.environ.get("CSMS_E2E_ARTIFACTS") or tmp_path / "artifacts")
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture
async def dashboard_csms(tmp_path: Path) -> AsyncIterator[RunningCsms]:
    """csms with the demo fleet, an idle 2.0.1 station metering every second, and accounts."""
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings,
        api=dataclasses.replace(settings.api, password_hash_memory=8192, password_hash_time=1),
    )
    async with running_csms(settings) as running:
        await running.csms.start_demo(DEMO_STATIONS)
        await running.add_station(IDLE_STATION)
        await running.add_station("E2E-AUTH")  # offline until the test connects it
        async with running.api() as client:
            for name, role in ACCOUNTS.items():
                answer = await client.post(
                    "/api/v1/users", json={"name": name, "role": role, "password": ACCOUNT_PASSWORD}
                )
                assert answer.status_code == 201, answer.text
        stop = asyncio.Event()
        options = FleetOptions(
            url=running.ocpp_url,
            count=1,
            id_prefix="E2E-",
            versions=(OcppVersion.V201,),
            evses=1,
            meter_interval=1.0,
            password=PASSWORD.decode(),
            scenario=Scenario.BOOT,
        )
        fleet = asyncio.create_task(run_fleet(options, stop))
        try:
            yield running
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(fleet, timeout=10)


EXPECT_TIMEOUT_MS = 20_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium_path()), args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()
