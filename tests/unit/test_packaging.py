"""What a fresh clone gets (issue 7 finding 12): the license the README names, and what
`scripts/run.sh` installs is enough for every README recipe (``csms loadtest --server-pid``)."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# MD5 of https://www.apache.org/licenses/LICENSE-2.0.txt, the canonical text.
APACHE_2_0_MD5 = "3b83ef96387f14655fc854ddc3c6bd57"


def _runtime_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower() for r in project["dependencies"]}


def test_the_license_file_is_the_apache_2_0_text_the_readme_names() -> None:
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.md5(text, usedforsecurity=False).hexdigest() == APACHE_2_0_MD5
    assert "Apache-2.0" in (ROOT / "README.md").read_text().split("## License", 1)[1]


def test_loadtest_server_pid_needs_nothing_beyond_the_runtime_install() -> None:
    """`scripts/run.sh` installs csms without the dev extra; --server-pid imports psutil."""
    assert "psutil" in _runtime_requirements()
    assert "import psutil" in (ROOT / "src/csms/loadtest/meter.py").read_text()
