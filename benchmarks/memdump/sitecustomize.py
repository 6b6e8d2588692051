"""Per-process memory attribution for benchmarks/scale_cluster.py ``--tracemalloc``.

Python imports ``sitecustomize`` at start-up from ``PYTHONPATH``, so with this directory on it
every ``csms serve`` worker (spawned interpreters inherit the environment) gets a SIGUSR1
handler when ``CSMS_BENCH_MEMDUMP`` names a directory. On the signal it writes
``<dir>/<pid>-<n>.json``: RSS (with ``CSMS_BENCH_MEMDUMP_TRIM``, also after ``malloc_trim(0)``),
tracemalloc's traced bytes (by ``file:line``, one frame:
``PYTHONTRACEMALLOC=1``) and its own overhead, glibc's ``mallinfo2`` (bytes malloc holds free
inside its arenas: fragmentation), and the objects the garbage collector tracks by type. The
driver diffs two dumps (before the fleet, after its steady window) and divides by N. Nothing
here runs unless both variables are set: a benchmark aid, never imported by csms.
"""

from __future__ import annotations

import os

_DIR = os.environ.get("CSMS_BENCH_MEMDUMP")


def _install(directory: str) -> None:
    import collections
    import contextlib
    import ctypes
    import gc
    import json
    import signal
    import tracemalloc
    from typing import Any

    class _MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            )
        ]

    def mallinfo() -> dict[str, int]:
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallinfo2.restype = _MallInfo2
            info = libc.mallinfo2()
        except (OSError, AttributeError):
            return {}
        return {name: int(getattr(info, name)) for name, _ in _MallInfo2._fields_}

    def rss() -> int:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def pymalloc() -> dict[str, int]:
        """pymalloc's totals (``sys._debugmallocstats``, written by C to fd 2): bytes in its
        arenas, in live blocks, free in used pools and in empty pools (its fragmentation)."""
        import re
        import sys
        import tempfile

        with tempfile.TemporaryFile() as tmp:
            saved = os.dup(2)
            try:
                os.dup2(tmp.fileno(), 2)
                sys._debugmallocstats()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode(errors="replace")
        wanted = {
            "arenas": r"# arenas allocated current\s*=\s*([\d,]+)",
            "allocated_blocks": r"# bytes in allocated blocks\s*=\s*([\d,]+)",
            "available_blocks": r"# bytes in available blocks\s*=\s*([\d,]+)",
            "unused_pools": r"(\d+) unused pools \*",
        }
        out = {}
        for key, pattern in wanted.items():
            match = re.search(pattern, text)
            if match:
                out[key] = int(match.group(1).replace(",", ""))
        return out

    seq = [0]

    def dump(_signum: int, _frame: Any) -> None:
        seq[0] += 1
        out: dict[str, Any] = {"pid": os.getpid(), "rss": rss(), "mallinfo2": mallinfo()}
        objects = gc.get_objects()
        out["gc_objects"] = len(objects) + gc.get_freeze_count()
        types = collections.Counter(type(o).__qualname__ for o in objects)
        del objects
        out["gc_types"] = dict(types.most_common(200))
        if tracemalloc.is_tracing():
            current, _peak = tracemalloc.get_traced_memory()
            out["traced"] = current
            out["tracemalloc_overhead"] = tracemalloc.get_tracemalloc_memory()
            stats = tracemalloc.take_snapshot().statistics("lineno")
            out["by_line"] = {
                f"{s.traceback[0].filename}:{s.traceback[0].lineno}": [s.size, s.count]
                for s in stats
                if s.size >= 4096
            }
        out["pymalloc"] = pymalloc()
        if os.environ.get("CSMS_BENCH_MEMDUMP_TRIM"):
            # What glibc would give back: malloc_trim(0) releases free pages inside its arenas.
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL("libc.so.6").malloc_trim(0)
            out["rss_after_trim"] = rss()
        path = os.path.join(directory, f"{os.getpid()}-{seq[0]}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as file:
            json.dump(out, file)
        os.replace(path + ".tmp", path)

    signal.signal(signal.SIGUSR1, dump)


if _DIR:
    _install(_DIR)
