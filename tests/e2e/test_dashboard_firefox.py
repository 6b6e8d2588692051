"""The dashboard in Firefox (Debian ``firefox-esr`` over WebDriver BiDi, see tests/e2e/firefox.py):
sign in, then every page loads with its main content rendered by its module and no JavaScript
error. Skipped, saying why, only when Firefox cannot be installed on this machine."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import IDLE_STATION
from tests.e2e.firefox import BidiError, Firefox, firefox, firefox_path
from tests.integration.harness import RunningCsms

ADMIN = "fox"
ADMIN_PASSWORD = "dashboard-firefox-password"
CARD = "DEMO-CARD-10"  # registered by the demo, used by none of its drivers


def pages(transaction: str) -> dict[str, str]:
    """Each page and a script expression that is true once its main content is rendered."""
    rows = "document.querySelectorAll({!r}).length > 0".format
    return {
        "/": "document.querySelectorAll('#stations tr[data-station]').length >= 3",
        "/stations/DEMO-1": (
            "document.querySelector('#identity dd') !== null && "
            "document.querySelector('#power-chart canvas') !== null"
        ),
        "/transactions": rows(f'#transactions tr[data-transaction="{transaction}"]'),
        f"/transactions/{transaction}": (
            "document.querySelector('#facts dd') !== null && "
            "document.querySelector('#energy-chart canvas') !== null"
        ),
        "/tokens": rows('tr[data-token="DEMO-CARD-1"]'),
        "/firmware": "document.getElementById('live').textContent === 'live' && "
        + rows("#images tr"),
        "/security-events": rows("#events tr"),
        "/audit": rows("#entries tr[data-entry]"),
        "/users": rows(f'tr[data-user="{ADMIN}"]'),
    }


async def a_transaction(running: RunningCsms) -> str:
    """Start a transaction on the idle station (the transaction pages need one) and return its id."""
    async with running.api() as client, asyncio.timeout(20):
        while True:  # 409 until the station has booted
            started = await client.post(
                f"/api/v1/stations/{IDLE_STATION}/commands/start",
                json={"id_token": CARD, "evse_id": 1},
            )
            if started.status_code != 409:
                break
            await asyncio.sleep(0.1)
        assert started.status_code == 200, started.text
        while True:  # the station reports the transaction a moment after accepting
            found = await client.get(
                "/api/v1/transactions", params={"station": IDLE_STATION, "limit": 1}
            )
            if items := found.json()["items"]:
                return str(items[0]["id"])
            await asyncio.sleep(0.1)


async def test_every_page_loads_in_firefox_without_errors(
    dashboard_csms: RunningCsms, tmp_path: Path
) -> None:
    executable = firefox_path()
    if executable is None:
        pytest.skip("Firefox is not installed and apt-get could not install firefox-esr")
    base = dashboard_csms.api_url
    async with dashboard_csms.api() as client:
        answer = await client.post(
            "/api/v1/users", json={"name": ADMIN, "role": "admin", "password": ADMIN_PASSWORD}
        )
        assert answer.status_code == 201, answer.text
    transaction = await a_transaction(dashboard_csms)

    async with firefox(executable, tmp_path / "profile") as browser:
        await browser.navigate(base + "/login")
        await browser.wait_for("document.getElementById('login-form') !== null")
        await browser.evaluate(
            f"""(() => {{
                document.getElementById('name').value = {json.dumps(ADMIN)};
                document.getElementById('password').value = {json.dumps(ADMIN_PASSWORD)};
                document.querySelector('#login-form button[type=submit]').click();
            }})()"""
        )
        await wait_through_navigation(browser, "location.pathname === '/'")
        for path, rendered in pages(transaction).items():
            await browser.navigate(base + path)
            who = await browser.wait_for("document.getElementById('who').textContent")
            assert who == f"{ADMIN} (admin)", (path, who)
            try:
                await browser.wait_for(rendered)
            except TimeoutError:
                state = await browser.evaluate(
                    "document.querySelector('main').innerText.slice(0, 500)"
                )
                raise AssertionError(f"{path}: not rendered ({rendered}): {state}") from None
            heading = await browser.evaluate("document.querySelector('h1').textContent")
            assert heading, path
            assert await browser.evaluate("document.getElementById('flash').hidden"), path
            assert browser.page_errors() == [], (path, browser.page_errors())


async def wait_through_navigation(browser: Firefox, expression: str) -> None:
    """Wait for ``expression`` while the page navigates (an evaluation may be cut by it)."""
    async with asyncio.timeout(15):
        while True:
            try:
                if await browser.evaluate(expression):
                    return
            except BidiError:
                pass  # the document was replaced mid-evaluation
            await asyncio.sleep(0.05)
