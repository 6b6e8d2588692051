"""The dashboard's fleet-level and admin pages in a real browser (Debian chromium through
Playwright): a firmware image uploaded and rolled out to simulated stations whose status is
watched live, fleet-wide security events, users and API tokens, the audit log, id token
editing and bulk import, and what each role sees (the API refusing the rest anyway).

One csms serves the whole module (the tests touch different things); each test has its own
browser context. Screenshots go to the artifacts directory (docs/dashboard/ for the docs)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from csms.rpc.versions import OcppVersion
from csms.simulator.fleet import FleetOptions, run_fleet
from csms.simulator.scenarios import Scenario
from tests.e2e.browser import chromium_path
from tests.e2e.conftest import ACCOUNT_PASSWORD, EXPECT_TIMEOUT_MS
from tests.integration.harness import (
    BOOT_2X,
    PASSWORD,
    RunningCsms,
    call,
    running_csms,
    settings_for,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

ACCOUNTS = {"ann": "admin", "ada": "operator", "vic": "viewer"}
FLEET_PREFIX = "FW-"  # FW-1 speaks OCPP 1.6, FW-2 2.0.1
SECURITY_STATION = "SEC-1"
STEPS_16 = "Downloading → Downloaded → Installing → Installed"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def admin_csms(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningCsms]:
    """csms with two simulated stations (fast firmware steps), one raw station, accounts."""
    settings = settings_for(tmp_path_factory.mktemp("admin"))
    settings = dataclasses.replace(
        settings,
        api=dataclasses.replace(settings.api, password_hash_memory=8192, password_hash_time=1),
    )
    async with running_csms(settings) as running:
        for n in (1, 2):
            await running.add_station(f"{FLEET_PREFIX}{n}")
        await running.add_station(SECURITY_STATION)
        async with running.api() as client:
            for name, role in ACCOUNTS.items():
                answer = await client.post(
                    "/api/v1/users", json={"name": name, "role": role, "password": ACCOUNT_PASSWORD}
                )
                assert answer.status_code == 201, answer.text
        stop = asyncio.Event()
        options = FleetOptions(
            url=running.ocpp_url,
            count=2,
            id_prefix=FLEET_PREFIX,
            versions=(OcppVersion.V16, OcppVersion.V201),
            evses=1,
            password=PASSWORD.decode(),
            scenario=Scenario.BOOT,
            step_delay=0.2,
        )
        fleet = asyncio.create_task(run_fleet(options, stop))
        try:
            yield running
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(fleet, timeout=10)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_browser() -> AsyncIterator[Browser]:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium_path()), args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@contextlib.asynccontextmanager
async def signed_in(browser: Browser, base: str, name: str) -> AsyncIterator[Page]:
    """A new browser context signed in as ``name``, on the fleet page."""
    context: BrowserContext = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(base + "/login")
    await page.get_by_label("Account name").fill(name)
    await page.get_by_label("Password").fill(ACCOUNT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(base + "/")
    await expect(page.locator("#who")).to_have_text(f"{name} ({ACCOUNTS[name]})")
    try:
        yield page
    finally:
        await context.close()
    assert errors == [], errors


async def fetch(page: Page, method: str, path: str, body: Any = None) -> int:
    """The status of an API call made by the page with its session (and CSRF header)."""
    status = await page.evaluate(
        """async ([method, path, body]) => {
            const csrf = (document.cookie.split('; ').find((c) => c.startsWith('csms_csrf='))
              || '=').split('=')[1];
            const init = {method, headers: {'X-CSRF-Token': csrf}};
            if (body !== null) {
              init.headers['Content-Type'] = 'application/json';
              init.body = JSON.stringify(body);
            }
            return (await fetch(path, init)).status;
        }""",
        [method, path, body],
    )
    return int(status)


async def test_operator_uploads_firmware_rolls_it_out_and_watches_its_status(
    admin_csms: RunningCsms, module_browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    base = admin_csms.api_url
    image = tmp_path / "fw-2.1.0.bin"
    image.write_bytes(b"\x7fFIRMWARE" * 4096)
    async with signed_in(module_browser, base, "ada") as page:
        await page.get_by_role("link", name="Firmware").click()
        await expect(page.locator("#live")).to_have_text("live")
        await page.get_by_label("Firmware image").set_input_files(image)
        await page.get_by_role("button", name="Upload").click()
        await expect(page.locator("#upload-outcome")).to_have_text(
            "fw-2.1.0.bin: uploaded (36.0 KiB)"
        )
        await expect(page.locator('tr[data-image="fw-2.1.0.bin"]')).to_be_visible()

        # Pick the stations from a filtered list.
        await page.get_by_label("Filter stations").fill(FLEET_PREFIX)
        await expect(page.locator("#station-list li")).to_have_count(2)
        await page.get_by_label("Filter stations").fill(f"{FLEET_PREFIX}1")
        await expect(page.locator("#station-list li")).to_have_count(1)
        await page.get_by_role("checkbox", name=re.compile(rf"^{FLEET_PREFIX}1 ")).check()
        await page.get_by_label("Filter stations").fill(f"{FLEET_PREFIX}2")
        await expect(
            page.get_by_role("checkbox", name=re.compile(rf"^{FLEET_PREFIX}2 "))
        ).to_be_visible()
        await expect(page.locator("#station-list li")).to_have_count(1)
        await page.get_by_role("button", name="Select all shown").click()
        await expect(page.locator("#selected-count")).to_have_text("2 stations selected")
        await page.get_by_role("button", name="Roll out to the selected stations").click()
        await expect(page.locator("#rollout-outcome")).to_have_text("Rolling out to 2 stations")

        # Each station's status follows its FirmwareStatusNotifications, without reloading.
        v16 = page.locator(f'#status tr[data-station="{FLEET_PREFIX}1"]')
        v201 = page.locator(f'#status tr[data-station="{FLEET_PREFIX}2"]')
        await expect(v16.locator("td.answer")).to_have_text("Accepted")
        await expect(v201.locator("td.answer")).to_have_text("Accepted")
        await expect(v16.locator("td.steps")).to_have_text(STEPS_16)
        await expect(v16.locator("td.fw-status")).to_have_text("Installed")
        # 2.0.1 (L01): InstallRebooting, a reboot, then Installed.
        await expect(v201.locator("td.fw-status")).to_have_text("Installed")
        await expect(v201.locator("td.steps")).to_have_text(
            re.compile(r"^Downloading → Downloaded → Installing → InstallRebooting → Installed$")
        )
        await page.screenshot(path=artifacts / "firmware.png", full_page=True)

        # A reload shows the latest rollout from the stored requests.
        await page.reload()
        await expect(v16.locator("td.fw-status")).to_have_text("Installed")
        await expect(v16.locator("td.steps")).to_have_text(re.compile(STEPS_16 + "$"))


async def test_security_events_are_listed_filtered_and_arrive_live(
    admin_csms: RunningCsms, module_browser: Browser, artifacts: Path
) -> None:
    base = admin_csms.api_url

    async def notify(ws: Any, n: int, kind: str, when: str) -> None:
        payload = {"type": kind, "timestamp": when, "techInfo": f"e2e {n}"}
        assert (await call(ws, f"s{n}", "SecurityEventNotification", payload))[0] == 3

    async with (
        signed_in(module_browser, base, "vic") as page,
        admin_csms.connect(SECURITY_STATION, subprotocols=["ocpp2.0.1"]) as ws,
    ):
        assert (await call(ws, "b", "BootNotification", BOOT_2X))[2]["status"] == "Accepted"
        await notify(ws, 1, "SettingSystemTime", "2026-01-01T10:00:00Z")
        await notify(ws, 2, "TamperDetectionActivated", "2026-01-02T10:00:00Z")
        await page.get_by_role("link", name="Security events").click()
        rows = page.locator("#events tr[data-event]")
        await expect(page.locator('#events tr[data-type="SettingSystemTime"]')).to_be_visible()
        await expect(page.locator("#live")).to_have_text("live")
        # Live: a new event shows up at the top.
        await notify(ws, 3, "InvalidMessages", "2026-01-03T10:00:00Z")
        await expect(rows.first.locator("td.type")).to_have_text("InvalidMessages")
        # Filters: by type, by station, by time.
        await page.get_by_label("Type").fill("TamperDetectionActivated")
        await page.get_by_role("button", name="Apply").click()
        await expect(rows).to_have_count(1)
        await expect(rows.first.locator("td.type")).to_have_text("TamperDetectionActivated")
        await page.get_by_label("Type").fill("")
        await page.get_by_label("Station").fill(SECURITY_STATION)
        await page.get_by_label("From").fill("2026-01-01T12:00")
        await page.get_by_label("Until").fill("2026-01-03T00:00")
        await page.get_by_role("button", name="Apply").click()
        await expect(rows).to_have_count(1)
        await expect(rows.first.locator("td.type")).to_have_text("TamperDetectionActivated")
        await page.get_by_label("From").fill("")
        await page.get_by_label("Until").fill("")
        await page.get_by_role("button", name="Apply").click()
        await expect(rows).to_have_count(3)
        await page.screenshot(path=artifacts / "security-events.png", full_page=True)


async def test_admin_manages_users_and_api_tokens_and_reads_the_audit_log(
    admin_csms: RunningCsms, module_browser: Browser, artifacts: Path
) -> None:
    base = admin_csms.api_url
    async with signed_in(module_browser, base, "ann") as page:
        await page.get_by_role("link", name="Users").click()
        # An account with a role; then disabled.
        await page.get_by_label("Account name").fill("olga")
        await page.get_by_label("Role", exact=True).select_option("viewer")
        await page.get_by_label("Password").fill("olga-e2e-password-1")
        await page.get_by_role("button", name="Create account").click()
        await expect(page.locator("#outcome")).to_have_text("olga: account created (viewer)")
        olga = page.locator('tr[data-user="olga"]')
        await expect(olga.locator("td.role")).to_have_text("viewer")
        await olga.get_by_role("button", name="Disable olga").click()
        await expect(olga.locator("td.state")).to_have_text("disabled")

        # An API token for another account: its secret shown once, then it works until revoked.
        await page.get_by_label("Token name").fill("e2e-reporting")
        await page.get_by_label("For account").select_option("ada")
        await page.get_by_role("button", name="Create token").click()
        await expect(page.locator("#secret")).to_be_visible()
        secret = await page.locator("#secret-value").inner_text()
        assert secret
        async with admin_csms.api(authenticated=False) as client:
            me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
            assert me.status_code == 200 and me.json()["name"] == "ada", me.text
        await page.screenshot(path=artifacts / "users.png", full_page=True)
        # Keyboard: the secret's button has the focus; Enter dismisses it.
        await expect(page.get_by_role("button", name="I have copied it")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#secret")).to_be_hidden()
        assert await page.locator("#secret-value").inner_text() == ""
        token = page.locator('tr[data-api-token="e2e-reporting"]')
        await token.get_by_role("button", name="Revoke e2e-reporting").click()
        await expect(token.locator("td.state")).to_have_text("revoked")
        async with admin_csms.api(authenticated=False) as client:
            me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
            assert me.status_code == 401, me.text

        # The audit log names who did it.
        await page.get_by_role("link", name="Audit log").click()
        await page.get_by_label("Account").fill("ann")
        await page.get_by_label("Path starts with").fill("/api/v1/users")
        await page.get_by_role("button", name="Apply").click()
        entries = page.locator("#entries tr[data-entry]")
        await expect(entries).to_have_count(2)  # POST /users, PATCH /users/olga
        await expect(entries.first.locator("td.mono").first).to_have_text(
            "PATCH /api/v1/users/olga"
        )
        await page.get_by_label("Account").fill("")
        await page.get_by_label("Path starts with").fill("")
        await page.get_by_role("button", name="Apply").click()
        await page.screenshot(path=artifacts / "audit.png", full_page=True)


async def test_operator_edits_id_tokens_and_imports_a_file_with_row_errors(
    admin_csms: RunningCsms, module_browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    base = admin_csms.api_url
    good_and_bad = tmp_path / "cards.csv"
    good_and_bad.write_text(
        "id_token,type,status,expiry_date,group_id_token,language,evse_ids\n"
        "E2E-IMPORT-1,ISO14443,Accepted,,FLEET-A,de,\n"
        "E2E-IMPORT-2,Bogus,Accepted,,,,\n"
        "E2E-IMPORT-3,ISO14443,Sometimes,,,,\n"
    )
    records = tmp_path / "more.json"
    records.write_text('[{"id_token": "E2E-IMPORT-4", "type": "eMAID", "language": "fr"}]')
    async with signed_in(module_browser, base, "ada") as page:
        await page.get_by_role("link", name="Id tokens").click()
        # Register with group, language and expiry.
        await page.get_by_label("Id token").fill("E2E-EDIT-1")
        await page.get_by_label("Type").select_option("ISO14443")
        await page.locator("#new-group").fill("FLEET-B")
        await page.get_by_label("Language", exact=True).fill("en")
        await page.get_by_role("button", name="Register").click()
        await expect(page.locator("#outcome")).to_have_text("E2E-EDIT-1: registered")
        row = page.locator('tr[data-token="E2E-EDIT-1"]')
        await expect(row.locator("td.group")).to_have_text("FLEET-B")
        await expect(row.locator("td.language")).to_have_text("en")

        # Edit: Escape leaves the dialog with nothing changed.
        await row.get_by_role("button", name="Edit E2E-EDIT-1").click()
        await expect(page.get_by_label("New status")).to_be_focused()
        await page.keyboard.press("Escape")
        await expect(page.locator("#edit")).to_be_hidden()
        await expect(row.locator("td.group")).to_have_text("FLEET-B")
        # Edit: a past expiry makes it Expired; group and language change.
        await row.get_by_role("button", name="Edit E2E-EDIT-1").click()
        await page.get_by_label("New expiry").fill("2020-01-01T00:00")
        await page.get_by_label("New group").fill("FLEET-C")
        await page.get_by_label("New language").fill("nl")
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("#outcome")).to_have_text("E2E-EDIT-1: saved")
        await expect(row.locator("td.status")).to_have_text("Expired")
        await expect(row.locator("td.group")).to_have_text("FLEET-C")
        await expect(row.locator("td.language")).to_have_text("nl")

        # Bulk import, all or nothing: the rows refused, nothing stored.
        await page.get_by_label("CSV or JSON file").set_input_files(good_and_bad)
        await page.get_by_role("button", name="Import", exact=True).click()
        errors = page.locator("#import-errors tbody tr")
        await expect(errors).to_have_count(2)
        await expect(errors.nth(0).locator("th")).to_have_text("2")
        await expect(errors.nth(0)).to_contain_text("type")
        await expect(errors.nth(1).locator("th")).to_have_text("3")
        await expect(errors.nth(1)).to_contain_text("status")
        await expect(page.locator('tr[data-token="E2E-IMPORT-1"]')).to_have_count(0)
        # Best effort: the valid row is stored, the others listed.
        await page.get_by_label("If a row is invalid").select_option("best-effort")
        await page.get_by_role("button", name="Import", exact=True).click()
        await expect(page.locator("#import-outcome")).to_have_text(
            "cards.csv: 1 new, 0 updated, 2 rejected"
        )
        await expect(errors).to_have_count(2)
        imported = page.locator('tr[data-token="E2E-IMPORT-1"]')
        await expect(imported.locator("td.group")).to_have_text("FLEET-A")
        await expect(imported.locator("td.language")).to_have_text("de")
        await page.screenshot(path=artifacts / "tokens-import.png", full_page=True)
        # A JSON file.
        await page.get_by_label("CSV or JSON file").set_input_files(records)
        await page.get_by_role("button", name="Import", exact=True).click()
        await expect(page.locator("#import-outcome")).to_have_text(
            "more.json: 1 new, 0 updated, 0 rejected"
        )
        await expect(page.locator("#import-errors")).to_be_hidden()
        await expect(page.locator('tr[data-token="E2E-IMPORT-4"] td.language')).to_have_text("fr")


async def test_admin_pages_are_hidden_from_non_admins_and_refused_by_the_api(
    admin_csms: RunningCsms, module_browser: Browser
) -> None:
    base = admin_csms.api_url
    admin_only = ("Audit log", "Users")
    async with signed_in(module_browser, base, "ann") as page:
        for name in admin_only:
            await expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
        assert await fetch(page, "GET", "/api/v1/audit") == 200
    for name in ("ada", "vic"):
        async with signed_in(module_browser, base, name) as page:
            await expect(page.get_by_role("link", name="Firmware")).to_be_visible()
            for link in admin_only:
                await expect(page.get_by_role("link", name=link, exact=True)).to_be_hidden()
            # Typed in: the page says so and shows nothing; the API refuses anyway.
            for path, what in (("/audit", "the audit log"), ("/users", "the accounts")):
                await page.goto(base + path)
                await expect(page.locator("#admins-only")).to_contain_text(
                    f"Only admins see {what}"
                )
            assert await fetch(page, "GET", "/api/v1/audit") == 403
            assert await fetch(page, "GET", "/api/v1/users") == 403
            body = {"name": "mallory", "role": "admin", "password": "mallory-password-123"}
            assert await fetch(page, "POST", "/api/v1/users", body) == 403
            assert await fetch(page, "PATCH", "/api/v1/users/ann", {"enabled": False}) == 403
    async with signed_in(module_browser, base, "vic") as page:
        await page.get_by_role("link", name="Firmware").click()
        await expect(page.locator("#images")).to_be_visible()
        await expect(page.locator("#upload")).to_be_hidden()
        await expect(page.locator("#rollout")).to_be_hidden()
        firmware = {"stations": [f"{FLEET_PREFIX}1"], "params": {"firmware_id": "x",
                    "retrieve_date": "2026-01-01T00:00:00Z"}}  # fmt: skip
        assert await fetch(page, "POST", "/api/v1/commands/update-firmware", firmware) == 403
        await page.get_by_role("link", name="Id tokens").click()
        await expect(page.locator("#import")).to_be_hidden()
        assert await page.get_by_role("button", name=re.compile("^Edit")).count() == 0


async def test_pages_poll_when_the_event_stream_is_refused(
    admin_csms: RunningCsms, module_browser: Browser
) -> None:
    """Too many streams (503): the firmware and security pages say they refresh every 5 s, and
    a new security event shows up within that."""
    async with signed_in(module_browser, admin_csms.api_url, "vic") as page:
        await page.route(re.compile(r"/api/v1/events\?"), lambda route: route.fulfill(status=503))
        for link in ("Firmware", "Security events"):
            await page.get_by_role("link", name=link).click()
            await expect(page.locator("#live")).to_have_text("refreshing every 5 s")
        async with admin_csms.connect(SECURITY_STATION, subprotocols=["ocpp2.0.1"]) as ws:
            assert (await call(ws, "b", "BootNotification", BOOT_2X))[2]["status"] == "Accepted"
            payload = {"type": "MemoryExhaustion", "timestamp": "2026-01-04T10:00:00Z"}
            assert (await call(ws, "p", "SecurityEventNotification", payload))[0] == 3
        newest = page.locator("#events tr[data-event]").first.locator("td.type")
        await expect(newest).to_have_text("MemoryExhaustion", timeout=8000)
