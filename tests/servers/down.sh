#!/usr/bin/env bash
# Stops what tests/servers/up.sh STATE_DIR started and removes STATE_DIR.
set -uo pipefail
STATE=${1:?usage: down.sh STATE_DIR}
[[ -d "$STATE" ]] || exit 0
if [[ -f "$STATE/pg/bin" ]]; then
    bin=$(cat "$STATE/pg/bin")
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$bin/pg_ctl" -D "$STATE/pg/data" -m immediate -w stop >/dev/null 2>&1
    else "$bin/pg_ctl" -D "$STATE/pg/data" -m immediate -w stop >/dev/null 2>&1; fi
fi
for pid in "$STATE"/ceph/run/*.pid "$STATE/azurite/pid"; do
    [[ -f "$pid" ]] && kill "$(cat "$pid")" 2>/dev/null
done
sleep 1
for pid in "$STATE"/ceph/run/*.pid "$STATE/azurite/pid"; do
    [[ -f "$pid" ]] && kill -9 "$(cat "$pid")" 2>/dev/null
done
rm -rf "$STATE"
