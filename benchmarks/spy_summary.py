"""Summaries of a py-spy profile in its ``raw`` (collapsed) format: where one worker's CPU goes.

Each line of the input is ``frame;frame;...;leaf COUNT`` with frames ``function (file:line)``.
:func:`summarize` gives the top functions by their own samples and by samples under them, and
the share of each area (ours by package, the libraries by name), so two builds' profiles compare
at a glance. ``python benchmarks/spy_summary.py OUT`` prints it.
"""

from __future__ import annotations

import collections
import re
import sys
from typing import Any

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")
# The areas, first match wins: the path fragment and its name.
_AREAS = (
    ("csms/cli", "csms (event loop, native)"),
    ("csms/cluster/", "csms.cluster"),
    ("csms/server/", "csms.server"),
    ("csms/rpc/", "csms.rpc"),
    ("csms/blocks/", "csms.blocks"),
    ("csms/messages/", "csms.messages"),
    ("csms/storage/", "csms.storage"),
    ("csms/events/", "csms.events"),
    ("csms/domain/", "csms.domain"),
    ("csms/", "csms (other)"),
    ("nats/", "nats-py"),
    ("sqlalchemy/", "sqlalchemy"),
    ("asyncpg/", "asyncpg"),
    ("websockets/", "websockets"),
    ("uvloop/", "uvloop"),
    ("asyncio/runners", "csms (event loop, native)"),
    ("asyncio/", "asyncio"),
    ("logging/", "logging"),
)


def _parse(line: str) -> tuple[list[tuple[str, str]], int] | None:
    stack, _, count = line.rpartition(" ")
    if not stack or not count.isdigit():
        return None
    frames = []
    for raw in stack.split(";"):
        match = _FRAME.match(raw)
        frames.append((match["func"], match["file"]) if match else (raw, ""))
    return frames, int(count)


def _area(frames: list[tuple[str, str]]) -> str:
    """The area of the innermost frame that belongs to a known one (else the leaf's file)."""
    for _func, path in reversed(frames):
        for fragment, name in _AREAS:
            if path.startswith(fragment) or "/" + fragment in path:
                return name
    return "other"


def summarize(text: str, top: int = 30) -> tuple[str, dict[str, Any]]:
    """A readable report and its figures (shares in % of all samples)."""
    own: collections.Counter[str] = collections.Counter()
    under: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    total = 0
    for line in text.splitlines():
        parsed = _parse(line.strip())
        if parsed is None:
            continue
        frames, count = parsed
        total += count
        names = [f"{func} ({path.rsplit('/', 2)[-1] if path else '?'})" for func, path in frames]
        own[names[-1]] += count
        for name in set(names):
            under[name] += count
        areas[_area(frames)] += count

    def pct(n: int) -> float:
        return round(100.0 * n / total, 1) if total else 0.0

    summary = {
        "samples": total,
        "areas_pct": {k: pct(v) for k, v in areas.most_common()},
        "own_pct": {k: pct(v) for k, v in own.most_common(top)},
        "under_pct": {k: pct(v) for k, v in under.most_common(top)},
    }
    lines = [f"{total} samples", "", "by area (innermost known frame):"]
    lines += [f"  {v:5.1f}%  {k}" for k, v in summary["areas_pct"].items()]
    lines += ["", "own samples:"]
    lines += [f"  {v:5.1f}%  {k}" for k, v in summary["own_pct"].items()]
    lines += ["", "samples under (inclusive):"]
    lines += [f"  {v:5.1f}%  {k}" for k, v in summary["under_pct"].items()]
    return "\n".join(lines) + "\n", summary


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as file:
        sys.stdout.write(summarize(file.read())[0])
