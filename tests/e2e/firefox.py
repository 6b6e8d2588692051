"""Firefox for the dashboard's smoke test, driven over WebDriver BiDi with a small typed client.

Playwright's own Firefox build cannot be downloaded here (only PyPI, Debian and npm are
reachable), and Debian packages no geckodriver; but Debian's ``firefox-esr`` speaks WebDriver
BiDi itself when started with ``--remote-debugging-port`` (Firefox 129+ serves BiDi only on that
port). So: the Debian package (installed with apt-get when missing, as tests/e2e/browser.py does
for chromium), a fresh profile, and JSON commands over one WebSocket (W3C WebDriver BiDi:
session.new, browsingContext.navigate, script.evaluate, log.entryAdded events).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from tests.system_packages import apt_get_install, install_lock

CANDIDATES = ("firefox-esr", "firefox")
LISTENING = re.compile(rb"WebDriver BiDi listening on (ws://\S+)")
# A quiet, offline profile: no first-run pages, updates, telemetry or remote settings.
PREFS = {
    "app.update.disabledForTesting": True,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "services.settings.server": "data:,",
    "network.captive-portal-service.enabled": False,
}


class BidiError(RuntimeError):
    """The browser answered a command with an error, or could not be started."""


def find_firefox() -> Path | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return Path(found)
    return None


def firefox_path() -> Path | None:
    """Firefox, installing Debian's ``firefox-esr`` when missing and possible; else None."""
    found = find_firefox()
    if found is not None or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    with install_lock():  # the other test process may be installing a package right now
        if find_firefox() is None:
            try:
                apt_get_install("firefox-esr")
            except subprocess.CalledProcessError:
                return None
    return find_firefox()


@dataclass
class Firefox:
    """One headless Firefox and its BiDi session, with one browsing context (tab)."""

    ws: ClientConnection
    context: str = ""
    realm: str = ""  # the document script.evaluate last ran in
    # JavaScript errors and console.error, by the realm (document) they happened in: a fetch
    # cut short by leaving a page fails in the page left, which is no error of the next one.
    errors: list[tuple[str, str]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _waiting: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)

    async def command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send a command and return its result (raise BidiError with the browser's message)."""
        command_id = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = answer
        frame = orjson.dumps({"id": command_id, "method": method, "params": params}).decode()
        await self.ws.send(frame)  # a text frame: BiDi ignores binary ones
        return await asyncio.wait_for(answer, timeout=30)

    async def read(self) -> None:
        """Dispatch answers to their commands and keep the log entries that are errors."""
        async for raw in self.ws:
            message = orjson.loads(raw)
            if message.get("type") == "event":
                entry = message["params"]
                if message["method"] == "log.entryAdded" and entry.get("level") == "error":
                    self.errors.append((entry.get("source", {}).get("realm", ""), entry["text"]))
                continue
            answer = self._waiting.pop(message.get("id", -1), None)
            if answer is None or answer.done():
                continue
            if message.get("type") == "error":
                answer.set_exception(BidiError(f"{message['error']}: {message.get('message')}"))
            else:
                answer.set_result(message["result"])

    async def navigate(self, url: str) -> None:
        await self.command(
            "browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"}
        )

    async def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` (awaited when a promise): a string, number, boolean,
        or None; anything else as its BiDi remote value."""
        result = await self.command(
            "script.evaluate",
            {
                "expression": expression,
                "target": {"context": self.context},
                "awaitPromise": True,
                "resultOwnership": "none",
            },
        )
        self.realm = result.get("realm", "")
        if result["type"] == "exception":
            raise BidiError(result["exceptionDetails"]["text"])
        value = result["result"]
        if value["type"] in ("string", "number", "boolean"):
            return value["value"]
        return None if value["type"] in ("null", "undefined") else value

    def page_errors(self) -> list[str]:
        """The errors of the document shown (the realm of the last evaluation)."""
        return [text for realm, text in self.errors if realm == self.realm]

    async def wait_for(self, expression: str, *, timeout: float = 15.0) -> Any:
        """Evaluate ``expression`` until it is truthy (the page's module fills it in)."""
        async with asyncio.timeout(timeout):
            while not (value := await self.evaluate(expression)):  # noqa: ASYNC110 - nothing to await
                await asyncio.sleep(0.05)
        return value


@contextlib.asynccontextmanager
async def firefox(executable: Path, profile: Path) -> AsyncIterator[Firefox]:
    """Start a headless Firefox with a fresh ``profile`` and open a BiDi session on it."""
    _write_profile(profile)
    process = await asyncio.create_subprocess_exec(
        str(executable), "--headless", "--no-remote", "--profile", str(profile),
        "--remote-debugging-port", "0", "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    reader: asyncio.Task[None] | None = None
    try:
        assert process.stderr is not None
        async with asyncio.timeout(60):
            while not (found := LISTENING.search(await process.stderr.readline())):
                if process.stderr.at_eof():
                    raise BidiError("firefox exited before it listened for WebDriver BiDi")
        drain = asyncio.create_task(_drain(process.stderr))
        async with connect(found.group(1).decode() + "/session", max_size=None) as ws:
            browser = Firefox(ws)
            reader = asyncio.create_task(browser.read())
            await browser.command("session.new", {"capabilities": {}})
            tree = await browser.command("browsingContext.getTree", {"maxDepth": 0})
            browser.context = tree["contexts"][0]["context"]
            await browser.command("session.subscribe", {"events": ["log.entryAdded"]})
            yield browser
            with contextlib.suppress(BidiError, TimeoutError):
                await browser.command("session.end", {})
        drain.cancel()
    finally:
        if reader is not None:
            reader.cancel()
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


def _write_profile(profile: Path) -> None:
    profile.mkdir(parents=True, exist_ok=True)
    prefs = (f"user_pref({orjson.dumps(k).decode()}, {orjson.dumps(v).decode()});\n"
             for k, v in PREFS.items())  # fmt: skip
    (profile / "user.js").write_text("".join(prefs))


async def _drain(stream: asyncio.StreamReader) -> None:
    """Read Firefox's chatter so a full pipe never blocks it."""
    while await stream.read(65536):
        pass
