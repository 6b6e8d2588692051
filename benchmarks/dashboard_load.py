"""The OCPP benchmark's calls/s with dashboards open vs none, in the same run (issue 10).

One csms started the way ``benchmarks/run.py`` starts it (the same command line, pinned to the
first CPU), and ``run.py``'s closed-loop load (``loadgen.py load``, pinned to the second CPU)
for each mix (heartbeat16, metervalues16) in alternating rounds: with no dashboard, then with
``--dashboards`` signed-in dashboards each showing the fleet page and the busiest station page
(station 0 of the mix: every station is equally busy) in headless chromium, then the other order
in the next round, so that drift over the run hits both sides alike. Chromium runs on the load
generator's CPU, so what is measured is the server's extra work for the dashboards' event
streams and API reads (its CPU per call is reported too), not chromium competing with csms.

    .venv/bin/python benchmarks/dashboard_load.py                      # 2 rounds, 200 stations
    .venv/bin/python benchmarks/dashboard_load.py --rounds 1 --duration 5 --stations 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import httpx
import psutil
from playwright.async_api import Browser, BrowserContext, async_playwright, expect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import run  # run as a script, like the other benchmarks

TOKEN: Final = "dashboard-load-api-token-0123456789"
ACCOUNT: Final = "bench"
PASSWORD: Final = "dashboard-load-password-0123"
TAG: Final = "DASH"
MIXES: Final = ("heartbeat16", "metervalues16")


def browser_cpu_seconds(server_pid: int) -> float:
    """CPU seconds used so far by this process's children but the server and loadgen (that is,
    chromium and Playwright's driver)."""
    server = psutil.Process(server_pid)
    skip = {server_pid, *(p.pid for p in server.children(recursive=True))}
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            if child.pid in skip or "loadgen.py" in " ".join(child.cmdline()):
                continue
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue
    return total


def busiest_station(mix: str) -> str:
    """The id loadgen gives station 0 of ``mix`` with ``--tag DASH``."""
    return f"b{TAG}-{mix[:2]}00000"


async def open_dashboard(
    browser: Browser, base: str, station: str, pages: str = "both"
) -> BrowserContext:
    """A signed-in dashboard with the fleet page and ``station``'s page open, both live
    (``pages``: ``fleet`` or ``station`` keeps only that one, to attribute the cost)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    fleet = await context.new_page()
    await fleet.goto(base + "/login")
    await fleet.get_by_label("Account name").fill(ACCOUNT)
    await fleet.get_by_label("Password").fill(PASSWORD)
    await fleet.get_by_role("button", name="Sign in").click()
    await fleet.wait_for_url(base + "/")
    opened = [fleet]
    if pages != "fleet":
        station_page = await context.new_page()
        await station_page.goto(f"{base}/stations/{station}")
        opened.append(station_page)
    if pages == "station":
        await fleet.close()
        opened.remove(fleet)
    for page in opened:
        await expect(page.locator("#live")).to_have_text("live", timeout=30_000)
    return context


async def load(
    options: run.Options,
    url: str,
    *,
    pid: int,
    cpu: int | None,
    mix: str,
    out: Path,
    pace: float = 0.0,
) -> dict[str, Any]:
    """One loadgen run (the arguments run.py's bench_server gives it)."""
    argv = [sys.executable, str(run.BENCH_DIR / "loadgen.py"), "load", "--url", url,
            "--call-timeout", str(options.call_timeout), "--server-pid", str(pid), "--mix", mix,
            "--stations", str(options.stations), "--warmup", str(options.warmup),
            "--duration", str(options.duration), "--tag", TAG, "--out", str(out)]  # fmt: skip
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    if pace:
        argv += ["--pace", str(pace)]
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=run.REPO_ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise run.BenchmarkError(f"loadgen failed ({proc.returncode}): {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(await asyncio.to_thread(out.read_bytes))
    return result


async def measure(
    args: argparse.Namespace,
    options: run.Options,
    launch: Any,
    *,
    pid: int,
    cpus: tuple[int | None, int | None],
    workdir: Path,
) -> dict[str, Any]:
    api_port = launch.argv[launch.argv.index("--api-port") + 1]
    base = f"http://{run.HOST}:{api_port}"
    url = f"ws://{run.HOST}:{launch.port}/ocpp"
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        for _ in range(300):  # the API listens a moment after the OCPP port
            try:
                if (await c.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        answer = await c.post(
            "/api/v1/users", json={"name": ACCOUNT, "role": "operator", "password": PASSWORD}
        )
        answer.raise_for_status()
    if cpus[1] is not None:  # chromium (a child of this process) shares the load generator's CPU
        os.sched_setaffinity(0, {cpus[1]})
    runs: list[dict[str, Any]] = []
    browser_share = 0.0
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium",
            args=["--no-sandbox"],
        )
        for round_no in range(args.rounds):
            for mix in args.mixes:
                order: tuple[int | str, ...] = (0, args.dashboards)
                if args.control:  # the burner takes the share the browsers just used
                    order = (0, args.dashboards, "burn")
                if round_no % 2:
                    order = order[1:] + order[:1]
                for condition in order:
                    count = condition if isinstance(condition, int) else 0
                    burner = start_burner(browser_share) if condition == "burn" else None
                    contexts = [
                        await open_dashboard(browser, base, busiest_station(mix), args.pages)
                        for _ in range(count)
                    ]
                    out = workdir / f"{mix}-{round_no}-{count}-{burner is not None}.json"
                    before, started = browser_cpu_seconds(pid), time.monotonic()
                    figures = await load(
                        options, url, pid=pid, cpu=cpus[1], mix=mix, out=out,
                        pace=args.pace.get(mix, 0.0),
                    )  # fmt: skip
                    browser_cpu = (browser_cpu_seconds(pid) - before) / (time.monotonic() - started)
                    for context in contexts:
                        await context.close()
                    if burner is not None:
                        burner.kill()
                        burner.wait()
                    elif count:
                        browser_share = max(browser_cpu, 0.0)
                    row = {"round": round_no, "mix": mix, "dashboards": count,
                           "burn": burner is not None,
                           "calls_per_s": figures["calls_per_s"],
                           "server_cpu_us_per_call": figures["server_cpu_us_per_call"],
                           "p99_ms": figures["latency_ms"]["p99"],
                           "errors": figures["errors_total"],
                           "server_cpu_share": round(figures["calls_per_s"]
                                                     * figures["server_cpu_us_per_call"] / 1e6, 3),
                           "browser_cpu_share": round(max(browser_cpu, 0.0), 3)}  # fmt: skip
                    runs.append(row)
                    print(json.dumps(row), flush=True)
        await browser.close()
    summary: dict[str, Any] = {}
    for mix in args.mixes:
        none = [
            r["calls_per_s"]
            for r in runs
            if r["mix"] == mix and r["dashboards"] == 0 and not r["burn"]
        ]
        some = [r["calls_per_s"] for r in runs if r["mix"] == mix and r["dashboards"] > 0]
        cpu0 = [
            r["server_cpu_us_per_call"]
            for r in runs
            if r["mix"] == mix and not r["dashboards"] and not r["burn"]
        ]
        burn = [r["server_cpu_us_per_call"] for r in runs if r["mix"] == mix and r["burn"]]
        cpu5 = [r["server_cpu_us_per_call"] for r in runs if r["mix"] == mix and r["dashboards"]]
        summary[mix] = {
            "calls_per_s_none": round(statistics.mean(none)),
            f"calls_per_s_{args.dashboards}_dashboards": round(statistics.mean(some)),
            "ratio": round(statistics.mean(some) / statistics.mean(none), 3),
            # What one server core could carry, from its CPU per call (the paced runs' figure:
            # the browsers' CPU then takes nothing from the rate csms is offered).
            "capacity_ratio": round(statistics.mean(cpu0) / statistics.mean(cpu5), 3),
            "server_cpu_us_per_call_none": round(statistics.mean(cpu0), 1),
            f"server_cpu_us_per_call_{args.dashboards}_dashboards": round(statistics.mean(cpu5), 1),
        }
        if burn:  # the same CPU share burnt on the browsers' core, no dashboard: the interference
            summary[mix]["capacity_ratio_burner_control"] = round(
                statistics.mean(cpu0) / statistics.mean(burn), 3
            )
            summary[mix]["server_cpu_us_per_call_burner"] = round(statistics.mean(burn), 1)
    return {"stations": options.stations, "duration_s": options.duration,
            "rounds": args.rounds, "dashboards": args.dashboards, "runs": runs,
            "summary": summary}  # fmt: skip


BURN: Final = """
import sys, time
share, period = float(sys.argv[1]), 0.01
while True:
    wall, cpu = time.perf_counter(), time.thread_time()
    while time.thread_time() - cpu < share * period:  # CPU time, not wall: preempted, it burns on
        pass
    time.sleep(max(0.0, (time.thread_time() - cpu) / share - (time.perf_counter() - wall)))
"""


def start_burner(share: float) -> subprocess.Popen[bytes]:
    """A process burning ``share`` of a CPU in 10 ms periods, on this process's CPU (the load
    generator's, where chromium runs): what the browsers' CPU costs csms with no dashboard."""
    return subprocess.Popen([sys.executable, "-c", BURN, str(min(max(share, 0.01), 0.95))])


def _paces(text: str) -> dict[str, float]:
    """``mix=seconds,...`` → {mix: seconds}."""
    out: dict[str, float] = {}
    for item in filter(None, text.split(",")):
        mix, _, value = item.partition("=")
        out[mix] = float(value)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dashboards", type=int, default=5)
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--pages", choices=("both", "fleet", "station"), default="both")
    parser.add_argument("--mixes", type=lambda v: tuple(v.split(",")), default=MIXES)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    parser.add_argument(
        "--pace",
        type=_paces,
        default={},
        help="paced load, e.g. heartbeat16=0.04,metervalues16=0.4: seconds each station waits "
        "after each reply (offered rate stations/pace); compare server CPU per call",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="add a control round per mix: no dashboard, a burner using the browsers' measured "
        "CPU share on their core (what chromium's mere presence costs csms on this machine)",
    )
    args = parser.parse_args()
    options = run.resolve_options(
        run.build_parser().parse_args(
            [
                "--servers",
                "csms",
                "--mixes",
                ",".join(MIXES),
                "--stations",
                str(args.stations),
                "--duration",
                str(args.duration),
                "--warmup",
                str(args.warmup),
            ]
        )
    )
    run.raise_nofile_limit()
    cpus = run.choose_cpus()
    os.environ["CSMS_API_TOKEN"] = TOKEN  # the server inherits it: the API's bearer token
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        launch = run.server_launch("csms", options, workdir)
        with run.running_server(launch, cpus[0]) as proc:
            report = asyncio.run(
                measure(args, options, launch, pid=proc.pid, cpus=cpus, workdir=workdir)
            )
    text = json.dumps(report["summary"], indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
