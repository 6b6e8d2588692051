#!/usr/bin/env bash
# Quick start: set everything up and run csms on its embedded default (SQLite file in ./var, one
# process) with three simulated stations (DEMO-1..3, OCPP 1.6, 2.0.1 and 2.1) charging beside it.
# Extra arguments go to `csms serve` (see `csms serve --help`); `--demo 0` runs without them.
# The HTTP API needs a bearer token: the first start generates one and shows it once below.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
mkdir -p var
if [[ -z "${CSMS_API_TOKEN:-}" && -f "${CSMS_FILES_DATA_DIR:-var}/api-token" ]]; then
    echo "HTTP API: use the token shown at csms's first start (export TOKEN=...), or get a new one" \
         "(the old one stops working): export TOKEN=\$(.venv/bin/csms api-token rotate)" >&2
fi
exec .venv/bin/csms serve --demo 3 "$@"
