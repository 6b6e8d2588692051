"""The dashboard's fleet page with 10,000 stations: time to first meaningful paint.

Starts a real csms (SQLite in a temporary directory, the HTTP API with the dashboard) holding
``--stations`` registered stations (each with two connectors that reported a status), signs an
operator in with the Debian chromium through Playwright, and loads ``/`` ``--runs`` times. The
figure is the browser's own clock (``performance.now()``, from navigation start) when the first
page of station rows (with their connectors) and the counters are in the DOM: what an operator
sees, including the page's four API calls. Also reported: the same page's first contentful paint
(the header, before data) and the API's time for the page of 50 with connectors.

    .venv/bin/python benchmarks/dashboard_first_paint.py                 # 10,000 stations, 7 runs
    .venv/bin/python benchmarks/dashboard_first_paint.py --stations 1000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright

from csms.config import ApiSettings, DatabaseSettings, ServerSettings, Settings
from csms.container import Csms, utc_now
from csms.domain.model import RegistrationStatus, Station, StatusReport

TOKEN = "benchmark-api-token-0123456789abcdef"
PASSWORD = "benchmark-password-0123"
BATCH = 500


async def _fill(csms: Csms, count: int) -> None:
    assert csms.store is not None
    stations = csms.store.stations
    now = utc_now()
    for start in range(0, count, BATCH):
        ids = [f"CS-{n:05d}" for n in range(start, min(start + BATCH, count))]
        await asyncio.gather(
            *(stations.add(Station(i, RegistrationStatus.ACCEPTED, created_at=now)) for i in ids)
        )
        await asyncio.gather(
            *(
                stations.record_status(StatusReport(i, evse, 1, "Available", now))
                for i in ids
                for evse in (1, 2)
            )
        )


async def _measure(base: str, runs: int) -> dict[str, Any]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(base + "/login")
        await page.get_by_label("Account name").fill("bench")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_selector("#stations tr[data-station]")
        meaningful: list[float] = []
        contentful: list[float] = []
        for _ in range(runs):
            await page.goto(base + "/", wait_until="commit")
            await page.wait_for_selector("#stations tr[data-station] .connectors .badge")
            await page.wait_for_function(
                "document.getElementById('count-offline').textContent !== '–'"
            )
            meaningful.append(await page.evaluate("performance.now()"))
            contentful.append(
                await page.evaluate(
                    "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"
                )
            )
            rows = await page.locator("#stations tr").count()
            assert rows == 50, rows
        await browser.close()
    return {"meaningful_ms": meaningful, "fcp_ms": contentful}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            server=dataclasses.replace(ServerSettings(), port=0),
            database=DatabaseSettings(url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"),
            api=dataclasses.replace(ApiSettings(), port=0, token=TOKEN),
        )
        settings = dataclasses.replace(
            settings, files=dataclasses.replace(settings.files, data_dir=tmp)
        )
        csms = Csms(settings)
        await csms.start()
        try:
            started = time.perf_counter()
            await _fill(csms, args.stations)
            filled = time.perf_counter() - started
            base = f"http://127.0.0.1:{csms.api_port}"
            async with httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}
            ) as client:
                answer = await client.post(
                    "/api/v1/users",
                    json={"name": "bench", "role": "operator", "password": PASSWORD},
                )
                answer.raise_for_status()
                api_ms = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    (
                        await client.get("/api/v1/stations?limit=50&with_connectors=true")
                    ).raise_for_status()
                    api_ms.append(1000 * (time.perf_counter() - t0))
            figures = await _measure(base, args.runs)
        finally:
            await csms.close()
    return {
        "stations": args.stations,
        "runs": args.runs,
        "fill_s": round(filled, 1),
        "first_meaningful_paint_ms_median": round(statistics.median(figures["meaningful_ms"]), 1),
        "first_meaningful_paint_ms_max": round(max(figures["meaningful_ms"]), 1),
        "first_contentful_paint_ms_median": round(statistics.median(figures["fcp_ms"]), 1),
        "api_page_with_connectors_ms_median": round(statistics.median(api_ms), 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
