"""The dashboard's live updates: delay from an OCPP message to the change on the fleet page.

Starts a real csms (SQLite, the HTTP API with the dashboard and the event stream), connects one
1.6 station over a raw WebSocket, opens the fleet page in the Debian chromium (Playwright) signed
in as an operator, and sends ``--samples`` StatusNotifications alternating Available/Charging,
one every ``--interval`` seconds. The delay is from just before the frame is sent (wall clock)
to the moment a MutationObserver in the page sees the station's connector badge change
(``Date.now()``; same machine, same clock): csms storing the status, the event bus, the SSE
stream, the page's throttled reload of its cursor page, and the DOM update.

    .venv/bin/python benchmarks/dashboard_live_latency.py                # 40 samples
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
import orjson
from playwright.async_api import async_playwright
from websockets.asyncio.client import connect

from csms.config import (
    ApiSettings,
    DatabaseSettings,
    ServerSettings,
    Settings,
    UnknownStationPolicy,
)
from csms.container import Csms

TOKEN = "benchmark-api-token-0123456789abcdef"
PASSWORD = "benchmark-password-0123"
STATION = "LAT-1"
OBSERVE = """() => {
  window.changes = [];
  const cell = document.querySelector('tr[data-station="LAT-1"]').parentElement;
  new MutationObserver(() => {
    const row = document.querySelector('tr[data-station="LAT-1"] .connectors');
    if (row) window.changes.push([Date.now(), row.textContent]);
  }).observe(cell, {childList: true, subtree: true, characterData: true});
}"""


async def _call(ws: Any, n: int, action: str, payload: dict[str, Any]) -> None:
    await ws.send(orjson.dumps([2, str(n), action, payload]).decode())
    await ws.recv()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            server=dataclasses.replace(
                ServerSettings(),
                port=0,
                security_profile=0,
                unknown_stations=UnknownStationPolicy.ACCEPT,
            ),
            database=DatabaseSettings(url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"),
            api=dataclasses.replace(ApiSettings(), port=0, token=TOKEN),
        )
        settings = dataclasses.replace(
            settings, files=dataclasses.replace(settings.files, data_dir=tmp)
        )
        csms = Csms(settings)
        await csms.start()
        delays: list[float] = []
        try:
            base = f"http://127.0.0.1:{csms.api_port}"
            async with httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}
            ) as client:
                answer = await client.post(
                    "/api/v1/users",
                    json={"name": "bench", "role": "operator", "password": PASSWORD},
                )
                answer.raise_for_status()
            url = f"ws://127.0.0.1:{csms.ocpp_port}/ocpp/{STATION}"
            async with connect(url, subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
                boot = {"chargePointVendor": "bench", "chargePointModel": "latency"}
                await _call(ws, 0, "BootNotification", boot)
                status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
                await _call(ws, 1, "StatusNotification", status)
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(
                        executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                        args=["--no-sandbox"],
                    )
                    page = await browser.new_page(bypass_csp=True)  # for the probes below
                    await page.goto(base + "/login")
                    await page.get_by_label("Account name").fill("bench")
                    await page.get_by_label("Password").fill(PASSWORD)
                    await page.get_by_role("button", name="Sign in").click()
                    await page.wait_for_selector(f'tr[data-station="{STATION}"] .connectors .badge')
                    await page.wait_for_function(
                        "document.getElementById('live').textContent === 'live'"
                    )
                    await page.evaluate(OBSERVE)
                    for n in range(args.samples):
                        word = "Charging" if n % 2 == 0 else "Available"
                        seen = await page.evaluate("window.changes.length")
                        sent = time.time() * 1000
                        await _call(ws, n + 2, "StatusNotification", {**status, "status": word})
                        await page.wait_for_function(
                            f"window.changes.slice({seen}).some(c => c[1].includes('{word}'))"
                        )
                        changes = await page.evaluate(f"window.changes.slice({seen})")
                        shown = next(t for t, text in changes if word in text)
                        delays.append(shown - sent)
                        await asyncio.sleep(args.interval)
                    await browser.close()
        finally:
            await csms.close()
    delays.sort()
    return {
        "samples": len(delays),
        "p50_ms": round(statistics.median(delays), 1),
        "p99_ms": round(delays[max(0, int(len(delays) * 0.99) - 1)], 1),
        "max_ms": round(delays[-1], 1),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--interval", type=float, default=1.2)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
