"""Run the curl examples of docs/api.md against a running csms and print each one's HTTP status.

Usage, on a fresh ``scripts/run.sh`` (demo stations DEMO-1..3, the token it showed)::

    export TOKEN=...   # the bootstrap token scripts/run.sh showed
    python scripts/check_api_docs.py            # exit 1 if an example answered 5xx or failed

The examples are run in the order the page gives them, with ``API``, ``AUTH`` and ``H`` set as
the page's first example sets them. Examples with a placeholder the reader fills in (``…``,
``<...>``, ``csms_at_...``), the session-cookie ones (they need the cookie jar of the previous
line) and pipes are listed as skipped. A 4xx is printed with its problem document: some examples
show a refusal on purpose (e.g. an import with an invalid row, a command a 1.6 station lacks).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
PLACEHOLDERS = ("…", "<", "csms_at_...", "$CSRF", " jar ", "@tokens.csv", "| ")
SHELL_BLOCKS = ("```", "```sh", "```bash")


def examples(text: str) -> list[str]:
    """Every curl command of the page's shell blocks, continuation lines joined."""
    commands: list[str] = []
    block: list[str] | None = None
    for line in text.split("\n"):
        if line.startswith("```"):
            if block is None:
                block = [] if line.strip() in SHELL_BLOCKS else None
                if block is None:
                    block = ["<not shell>"]
            else:
                if block[:1] != ["<not shell>"]:
                    commands.extend(_curls(block))
                block = None
            continue
        if block is not None:
            block.append(line)
    return commands


def _curls(lines: list[str]) -> list[str]:
    out: list[str] = []
    current = ""
    for line in lines:
        if current:
            current += " " + line.strip()
        elif line.strip().startswith("curl"):
            current = line.strip()
        else:
            continue
        if current.endswith("\\"):
            current = current[:-1]
            continue
        if current.count("'") % 2:  # a quoted body spans lines
            continue
        out.append(current.split("  #", 1)[0].rstrip())  # a trailing comment would swallow -w
        current = ""
    return out


def main() -> int:
    token = os.environ.get("TOKEN")
    if not token:
        sys.stderr.write("check_api_docs: set TOKEN to the API token csms showed\n")
        return 2
    api = os.environ.get("API", "http://localhost:8080/api/v1")
    env = {**os.environ, "API": api, "AUTH": f"Authorization: Bearer {token}"}
    env["H"] = env["AUTH"]
    failed = 0
    for command in examples(DOC.read_text(encoding="utf-8")):
        if any(mark in command for mark in PLACEHOLDERS):
            sys.stdout.write(f"skip {command[:110]}\n")
            continue
        timed = " --max-time 3" if " -N " in command else ""
        try:
            run = subprocess.run(
                ["bash", "-c", f"{command}{timed} -w '\\n%{{http_code}}'"],
                capture_output=True, text=True, env=env, timeout=10, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            failed += 1
            sys.stdout.write(f"TIMEOUT {command[:110]}\n")
            continue
        body, _, code = run.stdout.rpartition("\n")
        sys.stdout.write(f"{code or 'ERR'} {command[:110]}\n")
        if not code.startswith("2"):
            sys.stdout.write(f"      {body[:300]}\n")
        if not code or code.startswith("5") or code == "000":
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
