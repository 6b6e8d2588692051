"""The dashboard driven in a real browser (Debian chromium through Playwright): sign in, the demo
fleet live, a transaction started and stopped from the station page with its power chart, the
transaction list and detail, a viewer without command buttons, an ended session. Each page's
screenshot is written to the artifacts directory (docs/dashboard/ when regenerating the docs)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import ACCOUNT_PASSWORD, DEMO_STATIONS, IDLE_STATION
from tests.integration.harness import BOOT_16, RunningCsms, call

TIMEOUT_MS = 20_000
AUTH_STATION = "E2E-AUTH"  # a bare 1.6 station the test drives itself
NEW_TAG = "04E2E0001"
CARD = "DEMO-CARD-10"  # registered by the demo and used by none of its drivers (3 stations)


async def sign_in(page: Page, base: str, name: str) -> None:
    await page.goto(base + "/")
    await expect(page).to_have_url(re.compile(r"/login\?expired=1&next=%2F$"))
    await page.get_by_label("Account name").fill(name)
    await page.get_by_label("Password").fill(ACCOUNT_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(base + "/")


async def authorize(running: RunningCsms, id_tag: str) -> str:
    """What a 1.6 station is answered for ``id_tag``."""
    async with running.connect(AUTH_STATION) as ws:
        assert (await call(ws, "b", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        answer = await call(ws, "a", "Authorize", {"idTag": id_tag})
    return str(answer[2]["idTagInfo"]["status"])


async def change_availability(running: RunningCsms, availability: str) -> None:
    async with running.api() as client:
        answer = await client.post(
            f"/api/v1/stations/{IDLE_STATION}/commands/change-availability",
            json={"availability": availability, "evse_id": 1},
        )
        assert answer.json()["status"] == "Accepted", answer.text


async def test_operator_signs_in_watches_the_fleet_and_charges(
    dashboard_csms: RunningCsms, browser: Browser, artifacts: Path
) -> None:
    base = dashboard_csms.api_url
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()

    # Sign in: an unauthenticated visit lands on the sign-in page.
    await page.goto(base + "/login")
    await page.screenshot(path=artifacts / "login.png")
    await sign_in(page, base, "ada")
    await expect(page.locator("#who")).to_have_text("ada (operator)")

    # The fleet: every demo station appears online, without reloading the page.
    await expect(page.locator("#live")).to_have_text("live")  # the event stream is open
    for n in range(1, DEMO_STATIONS + 1):
        row = page.locator(f'tr[data-station="DEMO-{n}"]')
        await expect(row.locator(".badge").first).to_have_text("online")
    await expect(page.locator("#count-online")).to_have_text(str(DEMO_STATIONS + 1))
    await expect(page.locator('tr[data-station="DEMO-1"] .connectors .badge')).not_to_have_count(0)
    await page.get_by_label("Search").fill("DEMO-2")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#stations tr")).to_have_count(1)
    await page.get_by_label("Search").fill("")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("#stations tr")).to_have_count(DEMO_STATIONS + 2)  # + E2E-AUTH
    await page.screenshot(path=artifacts / "fleet.png", full_page=True)

    # Live: a status change made elsewhere shows up on the open page, which is not reloaded.
    await page.evaluate("window.notReloaded = true")
    idle = page.locator(f'tr[data-station="{IDLE_STATION}"] .connectors')
    await expect(idle).to_have_text("1/1 Available")
    await change_availability(dashboard_csms, "Inoperative")
    await expect(idle).to_have_text("1/1 Unavailable")
    await change_availability(dashboard_csms, "Operative")
    await expect(idle).to_have_text("1/1 Available")
    assert await page.evaluate("window.notReloaded") is True

    # The station page: start for a token, watch the power chart get points, stop.
    series_reads: list[str] = []
    page.on(
        "request",
        lambda r: series_reads.append(r.url) if "/meter-values?" in r.url else None,
    )
    await page.get_by_role("link", name=IDLE_STATION).click()
    await expect(page.locator('tr[data-evse="1"]')).to_be_visible()
    await page.get_by_label("Id token").fill(CARD)
    await page.get_by_role("button", name="Start", exact=True).click()
    await expect(page.locator("#outcome")).to_have_text("start: Accepted by the station")
    chart = page.locator("#power-chart")
    await expect(chart).to_have_attribute("data-points", re.compile(r"^([3-9]|\d\d+)$"))
    await expect(page.locator('tr[data-evse="1"] a')).to_have_text(re.compile(r"^v2-"))
    first = int(await chart.get_attribute("data-points") or 0)
    await expect(chart).not_to_have_attribute("data-points", str(first))  # it keeps moving
    # Once it has points, a refresh reads what came since the newest (a minute of overlap), not
    # the whole hour downsampled again.
    refreshes = [parse_qs(urlsplit(u).query) for u in series_reads]
    since = [q for q in refreshes if "points" not in q]
    assert since, series_reads
    newest_from = datetime.fromisoformat(since[-1]["from"][0].replace("Z", "+00:00"))
    assert datetime.now(UTC) - newest_from < timedelta(minutes=5)
    assert all(q["points"] == ["300"] for q in refreshes if "points" in q)
    await page.screenshot(path=artifacts / "station.png", full_page=True)
    transaction = await page.locator('tr[data-evse="1"] a').inner_text()
    await expect(page.locator("#stop-tx option")).to_have_count(1)
    await page.get_by_role("button", name="Stop", exact=True).click()
    await expect(page.locator("#outcome")).to_have_text("stop: Accepted by the station")

    # The transaction list: the stopped transaction with its energy.
    await page.get_by_role("link", name="Transactions").click()
    await page.get_by_label("Station").fill(IDLE_STATION)
    row = page.locator(f'tr[data-transaction="{transaction}"]')
    for _ in range(40):  # the station reports the end a moment after accepting the stop
        await page.get_by_role("button", name="Apply").click()
        await expect(row).to_be_visible()
        if (await row.locator("td").last.inner_text()).startswith("ended"):
            break
        await page.wait_for_timeout(250)
    await expect(row.locator("td").last).to_have_text(re.compile(r"^ended"))
    await expect(row.locator("td.energy")).to_have_text(re.compile(r"^\d+(\.\d+)? k?Wh$"))
    await page.get_by_label("Station").fill("")
    await page.get_by_role("button", name="Apply").click()
    await page.screenshot(path=artifacts / "transactions.png", full_page=True)

    # Its detail: power and energy charts, the CSV export.
    await page.get_by_role("link", name=transaction).click()
    await expect(page.locator("#power-chart")).to_have_attribute(
        "data-points", re.compile(r"[1-9]")
    )
    await expect(page.locator("#energy-chart")).to_have_attribute(
        "data-points", re.compile(r"[1-9]")
    )
    csv = await page.locator("#csv").get_attribute("href")
    assert csv is not None
    exported = await page.request.get(base + csv)
    assert exported.ok
    lines = (await exported.text()).strip().splitlines()
    assert len(lines) == 2, lines  # the header and this transaction
    assert transaction in lines[1]
    await page.screenshot(path=artifacts / "transaction.png", full_page=True)

    # Id tokens: register one, block it; a station's Authorize is then refused.
    await page.get_by_role("link", name="Id tokens").click()
    await page.get_by_label("Id token").fill(NEW_TAG)
    await page.get_by_label("Type").select_option("ISO14443")
    await page.get_by_role("button", name="Register").click()
    await expect(page.locator("#outcome")).to_have_text(f"{NEW_TAG}: registered")
    row = page.locator(f'tr[data-token="{NEW_TAG}"]')
    await expect(row.locator("td.status")).to_have_text("Accepted")
    assert await authorize(dashboard_csms, NEW_TAG) == "Accepted"
    await row.get_by_role("button", name=f"Block {NEW_TAG}").click()
    await expect(row.locator("td.status")).to_have_text("Blocked")
    assert await authorize(dashboard_csms, NEW_TAG) == "Blocked"
    await page.screenshot(path=artifacts / "tokens.png", full_page=True)
    await context.close()


async def test_viewer_sees_no_command_buttons_and_an_ended_session_signs_in_again(
    dashboard_csms: RunningCsms, browser: Browser, artifacts: Path
) -> None:
    base = dashboard_csms.api_url
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    await sign_in(page, base, "vic")
    await page.goto(base + "/stations/DEMO-1")
    await expect(page.locator("#identity dd").first).not_to_have_text("")
    await expect(page.locator("#commands")).to_be_hidden()
    assert await page.get_by_role("button", name="Start").count() == 0
    assert await page.get_by_role("button", name="Reset").count() == 0
    # The API refuses a viewer anyway (the page only hides what it could not do).
    status = await page.evaluate(
        """async () => {
            const csrf = document.cookie.split('; ').find((c) => c.startsWith('csms_csrf='));
            const r = await fetch('/api/v1/stations/DEMO-1/commands/clear-cache', {method: 'POST',
              headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf.split('=')[1]},
              body: '{}'});
            return r.status;
        }"""
    )
    assert status == 403
    await page.screenshot(path=artifacts / "station-viewer.png", full_page=True)
    await page.goto(base + "/tokens")
    await expect(page.locator('tr[data-token="DEMO-CARD-1"]')).to_be_visible()
    await expect(page.locator("#create")).to_be_hidden()
    assert await page.get_by_role("button", name=re.compile("^(Block|Unblock)")).count() == 0

    # The session ends (here: its cookie is gone): the next page sends the viewer to sign in.
    await context.clear_cookies()
    await page.reload()
    await expect(page).to_have_url(re.compile(r"/login\?expired=1&next=%2Ftokens$"))
    await expect(page.locator("#expired")).to_be_visible()
    await context.close()


async def test_operator_edits_a_16_key_and_a_2x_variable(
    dashboard_csms: RunningCsms, browser: Browser, artifacts: Path
) -> None:
    base = dashboard_csms.api_url
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, base, "ada")
    for station, setting in (
        ("DEMO-1", "MeterValueSampleInterval"),  # OCPP 1.6: ChangeConfiguration
        ("DEMO-2", "SampledDataCtrlr/TxUpdatedInterval"),  # 2.0.1: SetVariables
    ):
        await page.goto(f"{base}/stations/{station}")
        await expect(page.locator("#identity dd").first).not_to_have_text("")
        await page.get_by_role("button", name="Read from the station").click()
        row = page.locator(f'tr[data-setting="{setting}"]')
        await expect(row).to_be_visible()
        await row.get_by_role("button", name=f"Edit {setting}").click()
        await page.get_by_label("Value", exact=True).fill("15")
        await page.get_by_role("button", name="Set", exact=True).click()
        outcome = page.locator("#configuration-outcome")
        await expect(outcome).to_have_text(f"{setting}: accepted by the station")
        await expect(row.locator("td.desired")).to_have_text(re.compile(r"^15 \(Accepted"))
        await expect(row.locator("td.reported")).to_have_text("15")
    await page.locator("#configuration").screenshot(path=artifacts / "configuration.png")
    await context.close()
