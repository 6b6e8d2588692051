"""Turn merged stats into the progress line, the final text report and the ``--json`` document."""

from __future__ import annotations

import os
import platform
from typing import Any

from csms.loadtest.soap import SOAP_PREFIX
from csms.loadtest.stats import RunStats

_BAR = 24


def progress_line(elapsed: float, stats: RunStats, rate: float, server: str, tty: bool) -> str:
    """One status line: connections held, stations accepted, CALLs/s, errors, server use."""
    total = max(stats.stations, 1)
    held = f"{stats.open_now}/{stats.stations} open"
    body = (
        f"{held}  {stats.accepted_now} accepted  {rate:,.0f} CALL/s  "
        f"{stats.errors_total} errors  {_timeouts(stats)} timeouts  {stats.disconnects} lost"
        f"{server}"
    )
    if not tty:
        return f"t={elapsed:7.1f}s  {body}"
    filled = round(_BAR * min(stats.open_now, total) / total)
    return f"\r[{'#' * filled}{'.' * (_BAR - filled)}] {elapsed:6.1f}s {body}\x1b[K"


def _timeouts(stats: RunStats) -> int:
    return sum(a.timeouts for a in stats.actions.values()) + stats.connect.timeouts


def build_result(
    config: dict[str, Any],
    stats: RunStats,
    *,
    elapsed: float,
    measured: float,
    workers: int,
    start_wall: float,
    open_while_running: int,
    accepted_while_running: int,
    server: dict[str, Any] | None,
) -> dict[str, Any]:
    """The JSON report: options, machine, connections, per-action figures, episodes, server."""
    actions: dict[str, Any] = {}
    for name, a in sorted(stats.actions.items()):
        actions[name] = {
            "sent": a.sent,
            "answered": a.answered,
            "errors": dict(a.errors),
            "timeouts": a.timeouts,
            "unanswered_at_close": a.unanswered_at_close,
            "resent": a.resent,
            "lost": a.lost,
            "calls_per_s": round(a.measured / measured, 2) if measured > 0 else 0.0,
            "latency_ms": a.latency.summary_ms(),
        }
    measured_calls = sum(a.measured for a in stats.actions.values())
    soap_calls = sum(a.measured for n, a in stats.actions.items() if n.startswith(SOAP_PREFIX))
    episodes = [
        {
            "start_s": round(e.start - start_wall, 3),
            "end_s": None if e.end is None else round(e.end - start_wall, 3),
            "seconds": None if e.end is None else round(e.end - e.start, 3),
            "boots_accepted": e.boots,
        }
        for e in stats.episodes
    ]
    errors = {f"connect:{k}": v for k, v in stats.connect.errors.items()}
    for name, a in stats.actions.items():
        errors.update({f"{name}:{k}": v for k, v in a.errors.items()})
    return {
        "tool": "csms loadtest",
        "config": config,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "workers": workers,
        "start_wall": start_wall,
        "elapsed_s": round(elapsed, 3),
        "measured_s": round(measured, 3),
        "stations": stats.stations,
        "connections": {
            "attempts": stats.connect.sent,
            "opened": stats.connect.answered,
            "failed": dict(stats.connect.errors),
            "timeouts": stats.connect.timeouts,
            "held_while_running": open_while_running,
            "peak": stats.open_peak,
            "lost_while_running": stats.disconnects,
            "handshake_ms": stats.connect.latency.summary_ms(),
        },
        "boot": {
            "statuses": dict(stats.boot_status),
            "all_accepted_after_s": (
                None
                if stats.all_accepted_at is None
                else round(stats.all_accepted_at - start_wall, 3)
            ),
            "accepted_at_end": accepted_while_running,
        },
        "episodes": episodes,
        "calls_per_s": round(measured_calls / measured, 2) if measured > 0 else 0.0,
        # The SOAP stations' share (their actions are the soap:<action> rows).
        "soap_calls_per_s": round(soap_calls / measured, 2) if measured > 0 else 0.0,
        "actions": actions,
        "errors": errors,
        "errors_total": stats.errors_total,
        "timeouts_total": _timeouts(stats),
        "unanswered_at_close": sum(a.unanswered_at_close for a in stats.actions.values()),
        # Transaction CALLs unanswered at a lost connection: sent again after reboot, or lost.
        "resent": sum(a.resent for a in stats.actions.values()),
        "lost": sum(a.lost for a in stats.actions.values()),
        "retry_after": {
            "refusals": stats.connect.errors["http_503"] + stats.connect.errors["http_429"],
            "honoured": config.get("honour_retry_after", True),
            "waits": stats.retry_after_waits,
            "wait_s_total": round(stats.retry_after_wait_s, 3),
            "wait_s_max": round(stats.retry_after_max_s, 3),
        },
        "late_replies": stats.late_replies,
        "bad_frames": stats.bad_frames,
        "server_calls": stats.server_calls,
        "server": server,
    }


def render_text(result: dict[str, Any]) -> list[str]:
    """The human-readable summary printed at the end of a run."""
    c = result["connections"]
    b = result["boot"]
    lines = [
        f"stations {result['stations']}  workers {result['workers']}  "
        f"elapsed {result['elapsed_s']:.1f}s  measured {result['measured_s']:.1f}s",
        f"connections: held {c['held_while_running']}  peak {c['peak']}  "
        f"attempts {c['attempts']}  opened {c['opened']}  failed {sum(c['failed'].values())}  "
        f"timeouts {c['timeouts']}  lost {c['lost_while_running']}",
        f"boot: {b['statuses']}  all accepted after {_seconds(b['all_accepted_after_s'])}",
    ]
    for e in result["episodes"]:
        lines.append(
            f"recovery: from {e['start_s']}s, all accepted again after {_seconds(e['seconds'])} "
            f"({e['boots_accepted']} boots)"
        )
    lines.append(f"throughput: {result['calls_per_s']:,.1f} CALL/s (measured window)")
    if any(name.startswith(SOAP_PREFIX) for name in result["actions"]):
        lines.append(f"SOAP: {result['soap_calls_per_s']:,.1f} CALL/s (the soap:<action> rows)")
    lines.append(
        f"{'action':<24}{'sent':>9}{'ok':>9}{'err':>6}{'t/o':>6}{'CALL/s':>9}"
        f"{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}  ms"
    )
    rows = [("(handshake)", _connect_row(c)), *result["actions"].items()]
    for name, a in rows:
        lat = a["latency_ms"]
        lines.append(
            f"{name:<24}{a['sent']:>9}{a['answered']:>9}{sum(a['errors'].values()):>6}"
            f"{a['timeouts']:>6}{a['calls_per_s']:>9.1f}{lat['p50']:>9.1f}{lat['p95']:>9.1f}"
            f"{lat['p99']:>9.1f}{lat['max']:>9.1f}"
        )
    lines.append(
        f"errors {result['errors_total']}  timeouts {result['timeouts_total']}  "
        f"unanswered at disconnect {result['unanswered_at_close']} "
        f"(resent {result['resent']}, lost {result['lost']})  "
        f"server CALLs {result['server_calls']}"
    )
    ra = result["retry_after"]
    if ra["refusals"]:
        lines.append(
            f"503/429 refusals {ra['refusals']}: {ra['waits']} Retry-After waits, "
            f"{ra['wait_s_total']}s in all, longest {ra['wait_s_max']}s"
        )
    if result["errors"]:
        lines.append("error kinds: " + ", ".join(f"{k}={v}" for k, v in result["errors"].items()))
    server = result["server"]
    if server:
        lines.append(
            f"server pid {server['pid']}: RSS {server['rss_start_mib']} -> {server['rss_end_mib']} "
            f"MiB (peak {server['rss_peak_mib']}), "
            f"{server['rss_growth_kib_per_connection']} KiB/connection, "
            f"CPU {server['cpu_util_avg']} cores avg, "
            f"{server['measured_cpu_us_per_call']} us/CALL (measured window)"
        )
    return lines


def _connect_row(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "sent": c["attempts"],
        "answered": c["opened"],
        "errors": c["failed"],
        "timeouts": c["timeouts"],
        "calls_per_s": 0.0,
        "latency_ms": c["handshake_ms"],
    }


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value}s"
