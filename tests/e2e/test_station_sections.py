"""The station page's sections driven in a real browser (Debian chromium through Playwright):
charging profiles in force cleared from the page and the composite schedule charted; a
reservation made and cancelled; a firmware update and a log upload with their progress arriving
live; the message log filtered and tailing live; a station's security events, its connection
history growing live with the disconnect's reason, and a viewer without the forms. Each
section's screenshot is written to the artifacts directory (docs/dashboard/ when regenerating
the docs)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import IDLE_STATION
from tests.e2e.test_dashboard import AUTH_STATION, CARD, TIMEOUT_MS, sign_in
from tests.integration.harness import BOOT_16, RunningCsms, call

PROFILE = {
    "id": 71,
    "stack_level": 1,
    "purpose": "TxDefaultProfile",
    "kind": "Absolute",
    "schedule": {
        "charging_rate_unit": "W",
        "periods": [{"start_period": 0, "limit": 11000.0}, {"start_period": 1800, "limit": 7400.0}],
        "start_schedule": datetime.now(UTC).replace(microsecond=0).isoformat(),
    },
}


async def station_page(browser: Browser, running: RunningCsms, name: str, station: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    await sign_in(page, running.api_url, name)
    await page.goto(f"{running.api_url}/stations/{station}")
    await expect(page.locator("#live")).to_have_text("live")
    return page


async def test_profiles_reservations_transfers_and_message_log(
    dashboard_csms: RunningCsms, browser: Browser, artifacts: Path
) -> None:
    async with dashboard_csms.api() as client:
        base = f"/api/v1/stations/{IDLE_STATION}/commands"
        answer = await client.post(
            f"{base}/set-charging-profile", json={"evse_id": 1, "profile": PROFILE}
        )
        assert answer.json() == {"status": "Accepted"}, answer.text
        image = await client.post("/api/v1/firmware", params={"filename": "fw-2.bin"}, content=b"x")
        assert image.status_code == 201, image.text
        firmware_id = image.json()["id"]
    page = await station_page(browser, dashboard_csms, "ada", IDLE_STATION)

    # Charging profiles: the one in force, the composite schedule charted, then cleared.
    section = page.locator("#profiles")
    await expect(section.locator('tr[data-profile="71"]')).to_contain_text("TxDefaultProfile")
    await expect(section.locator('tr[data-profile="71"]')).to_contain_text("11.00 kW")
    await page.get_by_role("button", name="Get composite schedule").click()
    await expect(page.locator("#composite-outcome")).to_have_text(
        re.compile(r"^EVSE 1: Accepted by the station")
    )
    chart = page.locator("#composite-chart")
    await expect(chart).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    await expect(chart).to_have_attribute("data-unit", "W")
    await expect(chart.locator("canvas")).to_have_count(1)
    await section.screenshot(path=artifacts / "station-profiles.png")
    await page.get_by_role("button", name="Clear profile 71").click()
    await expect(page.locator("#profiles-outcome")).to_have_text(
        "profile 71: Accepted by the station"
    )
    await expect(section.locator("#profiles-list")).to_have_text("No profile in force.")

    # Reservations: reserve EVSE 1 for a card, then cancel it.
    await page.get_by_label("EVSE (0: any)").fill("1")
    await page.locator("#reserve-token").fill(CARD)
    await page.get_by_role("button", name="Reserve", exact=True).click()
    outcome = page.locator("#reservations-outcome")
    await expect(outcome).to_have_text(re.compile(rf"^reservation \d+ for {CARD}: Accepted"))
    reservation = (await outcome.inner_text()).split()[1]
    row = page.locator(f'tr[data-reservation="{reservation}"]')
    await expect(row.locator("td.status")).to_have_text("Accepted")
    await page.locator("#reservations").screenshot(path=artifacts / "station-reservations.png")
    await row.get_by_role("button", name=f"Cancel reservation {reservation}").click()
    await expect(row.locator("td.status")).to_have_text("Cancelled")

    # Message log: the exchanges just made, filtered; the tail shows new ones without a reload.
    messages = page.locator("#messages-list")
    await page.get_by_label("live tail").check()  # off when the page opens; on: reads anew
    await expect(messages.locator('tr[data-action="ReserveNow"]')).to_have_count(1)
    await page.get_by_label("Action", exact=True).fill("CancelReservation")
    await page.get_by_role("button", name="Filter").click()
    await expect(messages.locator("tr")).to_have_count(1)
    await expect(messages.locator("tr th")).to_have_text("CancelReservation")
    await page.get_by_label("Action", exact=True).fill("")
    await page.get_by_label("Direction").select_option("out")
    await page.get_by_role("button", name="Filter").click()
    await expect(messages.locator('tr[data-action="StatusNotification"]')).to_have_count(0)
    await expect(messages.locator('tr[data-action="ReserveNow"]')).to_have_count(1)
    await page.evaluate("window.notReloaded = true")
    async with dashboard_csms.api() as client:
        answer = await client.post(f"{base}/trigger", json={"requested": "Heartbeat"})
        assert answer.status_code == 200, answer.text
    await expect(messages.locator('tr[data-action="TriggerMessage"]')).to_have_count(1)
    assert await page.evaluate("window.notReloaded") is True
    await messages.locator('tr[data-action="TriggerMessage"] summary').click()
    await expect(messages.locator('tr[data-action="TriggerMessage"] pre')).to_contain_text(
        "Heartbeat"
    )
    await page.locator("#messages").screenshot(path=artifacts / "station-messages.png")
    # Firmware and logs: the station's status notifications arrive live as progress.
    await page.get_by_label("Image").select_option(firmware_id)
    await page.get_by_role("button", name="Update firmware").click()
    await expect(page.locator("#transfers-outcome")).to_have_text(
        re.compile(r"^firmware update: Accepted by the station \(request \d+\)")
    )
    firmware = page.locator("#transfers-list tr").filter(has_text="firmware")
    await expect(firmware.locator("td.progress")).to_contain_text("Downloading → Downloaded")
    await page.get_by_role("button", name="Upload log").click()
    logs = page.locator("#transfers-list tr").filter(has_text="DiagnosticsLog")
    await expect(logs.locator("td.progress")).to_contain_text("Accepted → Uploading")
    await expect(firmware.locator("td.progress")).to_contain_text("Downloaded → Installing")
    await page.locator("#transfers").screenshot(path=artifacts / "station-transfers.png")

    await page.context.close()


async def test_security_events_and_connection_history_live_and_a_viewer(
    dashboard_csms: RunningCsms, browser: Browser, artifacts: Path
) -> None:
    async with dashboard_csms.connect(AUTH_STATION) as ws:
        assert (await call(ws, "b", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        event = {"type": "TamperDetectionActivated", "timestamp": datetime.now(UTC).isoformat(),
                 "techInfo": "enclosure opened"}  # fmt: skip
        await call(ws, "s", "SecurityEventNotification", event)
        await ws.send('[2,"x","NotAnAction",{}]')  # answered with a CALLERROR
        await ws.recv()
        await ws.close(code=1000, reason="maintenance")
    page = await station_page(browser, dashboard_csms, "ada", AUTH_STATION)

    security = page.locator("#security-list")
    await expect(security.locator("tr th")).to_have_text("TamperDetectionActivated")
    await expect(security.locator("tr")).to_contain_text("enclosure opened")
    await page.locator("#security").screenshot(path=artifacts / "station-security.png")
    connections = page.locator("#connections-list tr")
    await expect(connections).to_have_count(2)
    await expect(connections.first.locator("td.reason")).to_have_text(
        "1000 normal closure: maintenance"
    )
    # Live: the station comes back while the page is open.
    async with dashboard_csms.connect(AUTH_STATION) as ws:
        await expect(connections).to_have_count(3)
        await expect(connections.first).to_contain_text("connected")
        await expect(connections.first).to_contain_text("1.6")
    await expect(connections).to_have_count(4)
    await page.locator("#connections").screenshot(path=artifacts / "station-connections.png")

    # The message log's "errors only": the unknown action and its CALLERROR.
    await page.get_by_label("errors only").check()
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("#messages-list tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("NotAnAction")
    await expect(rows.first).to_contain_text("error (NotImplemented)")
    await page.context.close()

    # A viewer sees every section but none of their forms or buttons.
    viewer = await station_page(browser, dashboard_csms, "vic", IDLE_STATION)
    await expect(viewer.locator("#messages-list tr").first).to_be_visible()
    for hidden in ("#reserve-form", "#transfer-forms", "#composite-form"):
        await expect(viewer.locator(hidden)).to_be_hidden()
    assert await viewer.get_by_role("button", name=re.compile("^(Clear|Cancel)")).count() == 0
    await viewer.context.close()
