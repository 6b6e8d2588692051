#!/usr/bin/env bash
# Set everything up and run every check: ruff, mypy --strict, import contracts and the whole test
# suite (unit and integration; SQLite always, PostgreSQL started by the tests, installed with
# apt-get when missing; the dashboard's end-to-end tests in the Debian chromium, and its smoke
# test in the Debian firefox-esr, installed the same way). Extra arguments go to pytest. The tests
# run in two processes (pytest-xdist, one module per process at a time); `scripts/test.sh -n 0 ...`
# runs them in this one.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/python -m pytest -n 2 --dist loadscope "$@"
