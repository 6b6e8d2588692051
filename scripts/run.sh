#!/usr/bin/env bash
# Quick start: set everything up and run csms on its embedded default (SQLite file in ./var, one
# process). Extra arguments go to `csms serve` (see `csms serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
mkdir -p var
exec .venv/bin/csms serve "$@"
