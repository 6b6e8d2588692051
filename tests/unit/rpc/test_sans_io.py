"""The RPC core stays sans-I/O: no module in src/csms/rpc imports I/O, threads or a clock."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import csms.rpc

RPC_DIR = Path(csms.rpc.__file__).resolve().parent
FORBIDDEN = frozenset({"asyncio", "socket", "websockets", "sqlalchemy", "threading", "time"})


def imported_modules(source: str) -> set[str]:
    """Every absolute module name an ``import`` or ``from … import`` in ``source`` names."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def forbidden_imports(source: str) -> set[str]:
    """The imports in ``source`` whose top-level package is forbidden in the core."""
    return {name for name in imported_modules(source) if name.split(".")[0] in FORBIDDEN}


def rpc_modules() -> list[Path]:
    return sorted(RPC_DIR.rglob("*.py"))


def test_the_rpc_package_has_the_expected_modules() -> None:
    """session.py docstring: the core is frames, errors, events, session, versions and ids."""
    names = {path.name for path in rpc_modules()}
    assert {
        "__init__.py",
        "frames.py",
        "errors.py",
        "events.py",
        "session.py",
        "versions.py",
        "ids.py",
    } <= names


@pytest.mark.parametrize("path", rpc_modules(), ids=lambda p: p.name)
def test_rpc_module_imports_no_io_thread_or_clock_module(path: Path) -> None:
    """csms.rpc docstring: nothing here does I/O, reads a clock or imports asyncio."""
    assert forbidden_imports(path.read_text(encoding="utf-8")) == set()


@pytest.mark.parametrize(
    "source",
    [
        "import asyncio",
        "import asyncio.tasks",
        "import os, socket",
        "from time import monotonic",
        "from websockets.asyncio.server import serve",
        "from sqlalchemy import select",
        "import threading as t",
        "def f():\n    import time\n    return time.time()",
        "try:\n    import asyncio\nexcept ImportError:\n    pass",
    ],
)
def test_the_import_check_catches_every_import_form(source: str) -> None:
    """Guard for the check above: nested, aliased and from-imports are all found."""
    assert forbidden_imports(source)


def test_the_import_check_ignores_lookalikes() -> None:
    """Guard for the check above: modules merely named like a forbidden one are fine."""
    assert (
        forbidden_imports("import timeit\nfrom csms.rpc import session\nimport datetime") == set()
    )


def test_importing_the_core_loads_no_event_loop_or_socket_module() -> None:
    """csms.rpc docstring: importing the core (and its orjson dependency) stays I/O-free."""
    code = (
        "import sys, csms.rpc\n"
        "bad = {'asyncio', 'socket', 'websockets', 'sqlalchemy', 'threading'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_public_names_are_importable() -> None:
    """csms.rpc.__all__: every advertised name exists."""
    for name in csms.rpc.__all__:
        assert getattr(csms.rpc, name) is not None
