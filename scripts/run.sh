#!/usr/bin/env bash
# Quick start: set everything up and run csms on its embedded default (SQLite file in ./var, one
# process) with three simulated stations (DEMO-1..3, OCPP 1.6, 2.0.1 and 2.1) charging beside it.
# Extra arguments go to `csms serve` (see `csms serve --help`); `--demo 0` runs without them.
# The HTTP API needs a bearer token: the first start generates one and shows it once below.
# The dashboard (http://127.0.0.1:8080/) needs an account: the first run creates `admin` with a
# random password and shows it once.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
mkdir -p var
if [[ -z "${CSMS_API_TOKEN:-}" && -f "${CSMS_FILES_DATA_DIR:-var}/api-token" ]]; then
    echo "HTTP API: use the token shown at csms's first start (export TOKEN=...), or get a new one" \
         "(the old one stops working): export TOKEN=\$(.venv/bin/csms api-token rotate)" >&2
fi
# (Only when the account list could be read and is empty; csms serve reports database problems.)
if accounts=$(.venv/bin/csms user list 2>/dev/null) && [[ -z "$(tail -n +2 <<<"$accounts")" ]]; then
    password=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(15))')
    printf '%s\n' "$password" | .venv/bin/csms user add admin --role admin --password-stdin >/dev/null
    echo "Dashboard: first admin account created; sign in as admin with password $password" \
         "(shown once; change it in the API: PATCH /api/v1/users/admin)" >&2
fi
api_host=${CSMS_API_HOST:-127.0.0.1} api_port=${CSMS_API_PORT:-8080} previous=
for arg in "$@"; do  # the flags override the environment, as in csms serve
    case $previous in --api-host) api_host=$arg ;; --api-port) api_port=$arg ;; esac
    case $arg in --api-host=*) api_host=${arg#*=} ;; --api-port=*) api_port=${arg#*=} ;; esac
    previous=$arg
done
[[ $api_host == 0.0.0.0 || $api_host == :: ]] && api_host=127.0.0.1
echo "Dashboard: http://$api_host:$api_port/ (more accounts:" \
     ".venv/bin/csms user add NAME --role admin|operator|viewer)" >&2
exec .venv/bin/csms serve --demo 3 "$@"
