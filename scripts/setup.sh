#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install csms into it; with "dev", also the test tools.
# Safe to run again: it only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.csms-installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-${1:-run}"
if [ ! -f "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    if [ "${1:-run}" = "dev" ]; then
        .venv/bin/python -m pip install --quiet -e '.[dev]'
    else
        .venv/bin/python -m pip install --quiet -e .
    fi
    touch "$stamp"
fi
