#!/usr/bin/env bash
# Quick start: set everything up and run csms on its embedded default (SQLite file in ./var, one
# process) with three simulated stations (DEMO-1..3, OCPP 1.6, 2.0.1 and 2.1) charging beside it.
# Extra arguments go to `csms serve` (see `csms serve --help`); `--demo 0` runs without them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
mkdir -p var
exec .venv/bin/csms serve --demo 3 "$@"
