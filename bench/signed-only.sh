#!/usr/bin/env bash
# The signed-only pull policy benchmark (issue 15): manifest GET and HEAD of a signed image on one Berth, with its
# project's signed-only policy off and on (the manifest signed by `berth sign` with a key the project trusts; the
# verdict cached per digest), interleaved in one run. Target: with the policy on at least 0.8x the requests per second
# of the policy off.
#
#   bash bench/signed-only.sh [--rounds 3] [--duration 5s] [--out DIR] [--no-build] [--smoke]
#
# 1. a server starts on a fresh data folder (embedded default); project "bench" is created and the load generator's
#    manifest scenario pushes bench/manifest:latest;
# 2. `berth key generate`, `berth trust add --project bench`, `berth sign bench/manifest:latest`;
# 3. each round runs manifest-get and manifest-head with `--signed-only false`, then `true` (the order alternates per
#    round), through the load generator (32 connections, Basic auth as the administrator: the policy applies to
#    administrators too);
# 4. at the end the key is removed from the trust and a GET must be refused (403 DENIED): the policy really was on.
# Results: DIR/results.jsonl (the load generator's), DIR/signed-only.md (medians and the ratio on/off) and DIR/refused.json
# (the refusal of step 4).
# --smoke: one short round, no target check (CI runs it to keep the script working).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=3
DURATION=5s
OUT=""
BUILD=1
SMOKE=0
CONFIG=Release
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-build) BUILD=0 ;;
    --smoke) SMOKE=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "signed-only.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ $SMOKE -eq 1 ]]; then ROUNDS=1; DURATION=500ms; CONFIG=Debug; fi

log() { echo "== [$(date +%T)] $*" >&2; }
for tool in curl python3; do
  command -v "$tool" >/dev/null || { echo "signed-only.sh: needs $tool" >&2; exit 1; }
done

if [[ $BUILD -eq 1 ]]; then
  log "building Berth and the load generator ($CONFIG)"
  for project in src/Berth bench/Berth.Bench; do
    if ! output=$(dotnet build "$ROOT/$project" -c "$CONFIG" -nologo -v q 2>&1); then
      echo "$output" >&2
      exit 1
    fi
  done
fi
BERTH=(dotnet "$ROOT/src/Berth/bin/$CONFIG/net10.0/berth.dll")
BENCH=(dotnet "$ROOT/bench/Berth.Bench/bin/$CONFIG/net10.0/berth-bench.dll")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-signed.XXXXXX")
OUT=${OUT:-$WORK/out}
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export BERTH_KEY_PASSWORD="key-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export BERTH_CONFIG_DIR="$WORK/cli"
DATA="$WORK/data"
SERVER_PID=""
cleanup() {
  local status=$?
  [[ $status -eq 0 || ! -f "$WORK/server.log" ]] || { echo "== the server's log ends:" >&2; tail -20 "$WORK/server.log" >&2; }
  [[ -z "$SERVER_PID" ]] || kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$DATA"
  [[ $OUT == "$WORK/out" ]] || rm -rf "$WORK"
}
trap cleanup EXIT

port=$("${BENCH[@]}" free-port)
url="http://127.0.0.1:$port"
log "server on $url, data in $DATA"
# The server's request log is large (one line per request): kept in the work folder, its tail shown on failure.
BERTH_ADMIN_PASSWORD="$PASSWORD" "${BERTH[@]}" serve --listen "$url" --data "$DATA" > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
"${BENCH[@]}" wait --registry "$url" --timeout 60s >/dev/null

echo "$PASSWORD" | "${BERTH[@]}" login "$url" -u admin --password-stdin >/dev/null
"${BERTH[@]}" project create bench >/dev/null
credentials=(--user admin --password "$PASSWORD" --basic)
"${BENCH[@]}" run --registry "$url" --scenario manifest-get --duration 200ms --warmup 0s --count 1 "${credentials[@]}" >/dev/null
"${BERTH[@]}" key generate "$WORK/bench" >/dev/null
"${BERTH[@]}" trust add bench-key --key "$WORK/bench.pub" --project bench >/dev/null
"${BERTH[@]}" sign bench/manifest:latest --key "$WORK/bench.key" >&2
"${BERTH[@]}" verify bench/manifest:latest --key "$WORK/bench.pub" >&2

policy() { "${BERTH[@]}" project update bench --signed-only "$1" >/dev/null; }
FAILED=0
for round in $(seq 1 "$ROUNDS"); do
  order=(off on)
  (( round % 2 == 0 )) && order=(on off)
  for mode in "${order[@]}"; do
    if [[ $mode == on ]]; then policy true; else policy false; fi
    for scenario in manifest-get manifest-head; do
      log "round $round: $scenario, signed-only $mode"
      "${BENCH[@]}" run --registry "$url" --label "policy-$mode" --scenario "$scenario" --round "$round" --json "$RESULTS" \
        --duration "$DURATION" --server-pid "$SERVER_PID" "${credentials[@]}" >/dev/null || FAILED=1
    done
  done
done

# The policy was really on: without the trusted key the same GET is refused.
policy true
"${BERTH[@]}" trust remove bench-key --project bench >/dev/null
status=$(curl -s -o "$OUT/refused.json" -w '%{http_code}' -u "admin:$PASSWORD" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "$url/v2/bench/manifest/manifests/latest")
if [[ $status != 403 ]] || ! grep -q 'allows only signed images' "$OUT/refused.json"; then
  echo "signed-only.sh: with the key removed the GET answered $status, not 403 DENIED: the policy was not in force" >&2
  cat "$OUT/refused.json" >&2
  exit 1
fi

python3 - "$RESULTS" "$OUT/signed-only.md" "$SMOKE" <<'PY'
import json, statistics, sys
results, out, smoke = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
rows = [json.loads(l) for l in open(results) if l.strip()]
rows = [r for r in rows if r.get("type") == "result"]
med = {}
for r in rows:
    med.setdefault((r["scenario"], r["label"]), []).append(r["req_per_s"])
errors = sum(r.get("errors", 0) for r in rows)
lines = ["| scenario | policy off req/s (median) | policy on req/s (median) | on / off | target |", "|---|---:|---:|---:|---|"]
ok = True
for scenario in ("manifest-get", "manifest-head"):
    off = statistics.median(med.get((scenario, "policy-off"), [0]))
    on = statistics.median(med.get((scenario, "policy-on"), [0]))
    ratio = on / off if off else 0
    met = ratio >= 0.8
    ok &= met
    lines.append(f"| {scenario} | {off:.0f} | {on:.0f} | {ratio:.2f}x | ≥ 0.8x: {'met' if met else 'MISSED'} |")
text = "\n".join(lines) + f"\n\nRuns per cell: {len(rows) // 4}; errors: {errors}.\n"
open(out, "w").write(text)
print(text)
sys.exit(0 if errors == 0 and (ok or smoke) else 1)
PY
[[ $FAILED -eq 0 ]] || { echo "signed-only.sh: the load generator reported errors" >&2; exit 1; }
log "results in $OUT"
