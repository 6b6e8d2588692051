"""The cluster benchmark's CPU sampler counts each process's time once.

A reaped child's CPU time also appears in its parent's ``children_user``/``children_system``;
summing both over a process tree counted it twice, so the 100,000-station storm reported a load
generator using 2.1-2.6 of the machine's 2 cores when its workers exited (issue 11).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import psutil

REPO_ROOT = Path(__file__).resolve().parents[3]

# Burns ~0.4 s of CPU in a child, reaps it, then idles so the sampler sees the reaped child.
PARENT = """
import subprocess, sys, time
child = "import time\\nend = time.process_time() + 0.4\\nwhile time.process_time() < end: pass"
subprocess.run([sys.executable, "-c", child], check=True)
print("reaped", flush=True)
time.sleep(30)
"""


def _scale_cluster() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "csms_benchmarks_scale_cluster", REPO_ROOT / "benchmarks" / "scale_cluster.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_reaped_child_is_counted_once() -> None:
    bench = _scale_cluster()
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        proc = psutil.Process(parent.pid)
        sampler = bench.Sampler({"group": lambda: proc}, period=0.02)
        deadline = time.monotonic() + 20
        child_seen = False
        while time.monotonic() < deadline:  # sample while the child runs, until it is reaped
            sampler.read()
            children = proc.children()
            child_seen = child_seen or bool(children)
            if child_seen and not children:
                break
            time.sleep(0.02)
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "reaped"
        total = sampler.read()["group"]["cpu_s"]
        own = proc.cpu_times()
        # The child's 0.4 s once, plus the parent's own start-up; twice would be >= 0.8 s + own.
        assert total < 0.4 + own.user + own.system + 0.3, total
        assert total >= 0.3, total  # and the child's time was seen at all
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
