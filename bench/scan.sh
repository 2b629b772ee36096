#!/usr/bin/env bash
# The scanning benchmark (issue 14): the time and peak memory of the server scanning a stored ~110 MB (compressed)
# Debian 12 image, and of matching 10,000 stored inventories again after an advisory import.
#
#   bash bench/scan.sh [--runs 5] [--inventories 10000] [--image DIR] [--out DIR] [--no-build]
#
# 1. bench/scan-image.sh builds the image (once: kept in ${XDG_CACHE_HOME:-~/.cache}/berth-bench/scan-image; --image
#    names another OCI layout);
# 2. a server starts on a fresh data folder (embedded default), the advisories of tests/testdata/vulndb are imported,
#    the image is pushed with skopeo into project "bench" and scanned on push (the first scan: JIT and cold caches);
# 3. the image is scanned again --runs times on demand (POST /api/v1/repositories/scan); each scan's time is the
#    server's own measure (log event 2101: from the claim to the stored result, layers read from the blob store);
# 4. the server stops; its finished scan row is copied --inventories times under other digests (sqlite3), the server
#    starts with re-matching every second, the advisories are imported again (a new database version), and the time
#    until every stored inventory carries the new version is measured.
# The server's VmHWM (peak resident memory) after each phase is recorded. Results: DIR/scan.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=5
INVENTORIES=10000
IMAGE=""
OUT=""
BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS=$2; shift ;;
    --inventories) INVENTORIES=$2; shift ;;
    --image) IMAGE=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-build) BUILD=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "scan.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "== [$(date +%T)] $*" >&2; }
for tool in skopeo sqlite3 curl python3; do
  command -v "$tool" >/dev/null || { echo "scan.sh: needs $tool" >&2; exit 1; }
done

if [[ $BUILD -eq 1 ]]; then
  log "building Berth and the load generator (Release)"
  for project in src/Berth bench/Berth.Bench; do
    if ! output=$(dotnet build "$ROOT/$project" -c Release -nologo -v q 2>&1); then
      echo "$output" >&2
      exit 1
    fi
  done
fi
BERTH=(dotnet "$ROOT/src/Berth/bin/Release/net10.0/berth.dll")
BENCH=(dotnet "$ROOT/bench/Berth.Bench/bin/Release/net10.0/berth-bench.dll")

if [[ -z $IMAGE ]]; then
  IMAGE=${XDG_CACHE_HOME:-$HOME/.cache}/berth-bench/scan-image
  if [[ ! -f $IMAGE/index.json ]]; then
    log "building the Debian image into $IMAGE"
    rm -rf "$IMAGE"
    bash "$ROOT/bench/scan-image.sh" "$IMAGE" >&2
  fi
fi
compressed=$(du -sb "$IMAGE/blobs" | awk '{ printf "%.1f", $1 / 1048576 }')

WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-scan.XXXXXX")
OUT=${OUT:-$WORK/out}
mkdir -p "$OUT"
PASSWORD="scan-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
DATA="$WORK/data"
SERVER_PID=""
cleanup() {
  [[ -z "$SERVER_PID" ]] || kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$DATA"
}
trap cleanup EXIT

port=$("${BENCH[@]}" free-port)
url="http://127.0.0.1:$port"
export BERTH_CONFIG_DIR="$WORK/cli"

start_server() { # log file, extra environment assignments
  local logfile=$1
  shift
  env BERTH_ADMIN_PASSWORD="$PASSWORD" Logging__LogLevel__Berth.Application.Scanning=Information "$@" \
    "${BERTH[@]}" serve --listen "$url" --data "$DATA" > "$logfile" 2>&1 &
  SERVER_PID=$!
  "${BENCH[@]}" wait --registry "$url" --timeout 60s >/dev/null
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }
hwm() { awk '/^VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$SERVER_PID/status"; }
api() { curl -fsS -u "admin:$PASSWORD" "$@"; }
status_of() { api "$url/api/v1/repositories/scan?repository=bench/debian&reference=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["scan"]["status"])'; }
wait_done() { # count of event-2101 lines to wait for in the log
  local want=$1 file=$2 i
  for i in $(seq 1 600); do
    [[ $(grep -c 'Scanned sha256:' "$file" || true) -ge $want ]] && return 0
    sleep 0.2
  done
  echo "scan.sh: the scan did not finish in 120 s" >&2
  tail -20 "$file" >&2
  exit 1
}

log "server on $url, data in $DATA"
start_server "$OUT/server-scan.log"
mem_start=$(hwm)
echo "$PASSWORD" | "${BERTH[@]}" login "$url" -u admin --password-stdin >/dev/null
"${BERTH[@]}" project create bench >/dev/null
log "importing tests/testdata/vulndb"
"${BERTH[@]}" vulndb import "$ROOT/tests/testdata/vulndb" --source bench-1 > "$OUT/import-1.log" 2>&1
log "pushing the image ($compressed MB compressed)"
skopeo copy -q --dest-tls-verify=false --dest-creds "admin:$PASSWORD" "oci:$IMAGE:latest" "docker://127.0.0.1:$port/bench/debian:1"
wait_done 1 "$OUT/server-scan.log"
log "scanned on push: $(grep 'Scanned sha256:' "$OUT/server-scan.log" | tail -1)"
for run in $(seq 1 "$RUNS"); do
  api -X POST "$url/api/v1/repositories/scan?repository=bench/debian&reference=1" > /dev/null
  wait_done $((run + 1)) "$OUT/server-scan.log"
done
mem_scan=$(hwm)
status=$(status_of)
times=$(grep -oE 'Scanned sha256:[0-9a-f]+: .* in [0-9]+ ms' "$OUT/server-scan.log" | grep -oE '[0-9]+ ms$' | awk '{ print $1 }')
first=$(echo "$times" | head -1)
rest=$(echo "$times" | tail -n +2 | sort -n | tr '\n' ' ')
median=$(echo "$times" | tail -n +2 | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
packages=$(grep -oE 'Scanned sha256:[0-9a-f]+: [0-9]+ packages, [0-9-]+ findings' "$OUT/server-scan.log" | tail -1 | sed 's/.*: //')
stop_server

log "copying the stored scan $INVENTORIES times"
db="$DATA/metadata.db"
[[ -f $db ]] || db=$(find "$DATA" -name '*.db' | head -1)
python3 - "$db" "$INVENTORIES" <<'EOF'
import hashlib, sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
row = c.execute("SELECT * FROM scan_results WHERE status = 'done' AND inventory IS NOT NULL LIMIT 1").fetchone()
cols = [d[0] for d in c.execute("SELECT * FROM scan_results LIMIT 0").description]
i = cols.index("digest")
rows = []
for k in range(n):
    r = list(row)
    r[i] = "sha256:" + hashlib.sha256(f"bench-inventory-{k}".encode()).hexdigest()
    rows.append(r)
c.executemany(f"INSERT INTO scan_results ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})", rows)
c.commit()
EOF

start_server "$OUT/server-rematch.log" Berth__Scanning__RescanInterval=00:00:01
mem_before=$(hwm)
log "importing again (a new database version)"
"${BERTH[@]}" vulndb import "$ROOT/tests/testdata/vulndb" --source bench-2 > "$OUT/import-2.log" 2>&1
version=$(sqlite3 "file:$db?mode=ro" "SELECT MAX(db_version) FROM scan_results" 2>/dev/null || echo 0)
start=$(date +%s.%N)
target=$("${BERTH[@]}" vulndb status --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
for i in $(seq 1 3000); do
  left=$(sqlite3 "file:$db?mode=ro" "SELECT COUNT(*) FROM scan_results WHERE status = 'done' AND (db_version IS NULL OR db_version < $target)")
  [[ $left -eq 0 ]] && break
  sleep 0.2
done
end=$(date +%s.%N)
[[ $left -eq 0 ]] || { echo "scan.sh: $left inventories not re-matched after 600 s" >&2; exit 1; }
rematch_s=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
mem_rematch=$(hwm)
stop_server

{
  echo "# Scanning benchmark, $(date -u +%F)"
  echo
  echo "Machine: $(nproc) cores. Image: $compressed MB compressed (bench/scan-image.sh), $packages; the final status \`$status\`."
  echo
  echo "| measure | value |"
  echo "|---|---:|"
  echo "| first scan (scan on push, includes JIT) | $first ms |"
  echo "| scans on demand ($RUNS runs, sorted) | $rest ms |"
  echo "| median scan on demand | $median ms |"
  echo "| server peak RSS (VmHWM) after start / after the scans | $mem_start / $mem_scan MB |"
  echo "| re-match of $((INVENTORIES + 1)) stored inventories after an import (re-match every 1 s, up to 2,000 per run) | $rematch_s s |"
  echo "| server peak RSS before / after the re-match | $mem_before / $mem_rematch MB |"
} > "$OUT/scan.md"
cat "$OUT/scan.md"
log "results in $OUT"
