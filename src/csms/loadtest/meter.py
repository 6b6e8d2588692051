"""Process limits and the CSMS's own resource use (when it runs on this machine).

psutil (a runtime dependency) is imported only when ``--server-pid`` is given: a run against a
remote CSMS does not pay for it.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from typing import Any


def raise_nofile_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; return the soft limit now in force.

    Every station is one file descriptor; the default soft limit (often 1,024) would cap a run.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        return soft
    return target


@dataclass
class ServerMeter:
    """Samples the server process (and its children): resident memory and CPU time."""

    pid: int
    _proc: Any = None
    rss_start: int = 0
    rss_peak: int = 0
    rss_now: int = 0
    cpu_start: float = 0.0
    cpu_now: float = 0.0
    wall_start: float = 0.0
    wall_now: float = 0.0
    util_now: float = 0.0
    exited: bool = False
    mark_wall: float | None = None
    mark_cpu: float = 0.0
    samples: list[tuple[float, int, float]] = field(default_factory=list)

    def start(self) -> None:
        """Take the baseline (raises RuntimeError if psutil is missing or the pid is gone)."""
        try:
            import psutil  # type: ignore[import-untyped,unused-ignore]  # noqa: PLC0415
        except ImportError as exc:
            raise RuntimeError(
                "--server-pid needs psutil: reinstall csms (pip install -e .)"
            ) from exc
        try:
            self._proc = psutil.Process(self.pid)
        except psutil.Error as exc:
            raise RuntimeError(f"no process {self.pid}: {exc}") from exc
        self.wall_start = self.wall_now = time.monotonic()
        self.rss_start = self.rss_peak = self.rss_now = self._rss()
        self.cpu_start = self.cpu_now = self._cpu()

    def _members(self) -> list[Any]:
        import psutil  # type: ignore[import-untyped,unused-ignore]  # noqa: PLC0415

        try:
            return [self._proc, *self._proc.children(recursive=True)]
        except psutil.Error:
            return [self._proc]

    def _rss(self) -> int:
        import psutil  # type: ignore[import-untyped,unused-ignore]  # noqa: PLC0415

        total = 0
        for member in self._members():
            try:
                total += member.memory_info().rss
            except psutil.Error:
                continue
        return total

    def _cpu(self) -> float:
        import psutil  # type: ignore[import-untyped,unused-ignore]  # noqa: PLC0415

        total = 0.0
        for member in self._members():
            try:
                t = member.cpu_times()
            except psutil.Error:
                continue
            total += t.user + t.system
        return total

    def sample(self) -> None:
        """Read memory and CPU now; CPU utilisation is over the time since the last sample."""
        if self._proc is None or self.exited:
            return
        if not self._proc.is_running():  # restarted or stopped: keep the last readings
            self.exited = True
            return
        wall, cpu = time.monotonic(), self._cpu()
        if wall > self.wall_now:
            self.util_now = (cpu - self.cpu_now) / (wall - self.wall_now)
        self.wall_now, self.cpu_now = wall, cpu
        self.rss_now = self._rss()
        self.rss_peak = max(self.rss_peak, self.rss_now)
        self.samples.append((round(wall - self.wall_start, 2), self.rss_now, round(cpu, 3)))

    def mark(self) -> None:
        """Start of the measured window: CPU per CALL is counted from here."""
        if self._proc is not None and self.mark_wall is None:
            self.mark_wall, self.mark_cpu = time.monotonic(), self._cpu()

    def summary(self, connections: int, calls: int, measured: float) -> dict[str, Any]:
        """Figures for the report: memory growth per held connection (at the last sample, taken
        while connected), CPU utilisation, and CPU per CALL answered in the measured window."""
        cpu = self.cpu_now - self.cpu_start
        wall = self.wall_now - self.wall_start
        growth = self.rss_now - self.rss_start
        window_cpu = self.cpu_now - self.mark_cpu if self.mark_wall is not None else 0.0
        window_wall = self.wall_now - self.mark_wall if self.mark_wall is not None else 0.0
        return {
            "pid": self.pid,
            "exited_during_run": self.exited,
            "rss_start_mib": round(self.rss_start / 2**20, 1),
            "rss_end_mib": round(self.rss_now / 2**20, 1),
            "rss_peak_mib": round(self.rss_peak / 2**20, 1),
            "rss_growth_kib_per_connection": (
                round(growth / connections / 1024, 2) if connections else None
            ),
            "cpu_s": round(cpu, 3),
            "cpu_util_avg": round(cpu / wall, 3) if wall > 0 else None,
            "measured_cpu_util": round(window_cpu / window_wall, 3) if window_wall > 0 else None,
            # The meter's window starts at the first sample after the warm-up, so it is shorter
            # than the measured window: scale its utilisation to the calls of the whole window.
            "measured_cpu_us_per_call": (
                round(window_cpu / window_wall * measured / calls * 1e6, 1)
                if calls and window_wall > 0
                else None
            ),
            "samples": self.samples[-600:],
        }
