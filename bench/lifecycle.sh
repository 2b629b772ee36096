#!/usr/bin/env bash
# The lifecycle benchmark (issue 13): a retention run and garbage collection over a large registry, with their time
# and the server's memory, and push throughput while garbage collection runs against without.
#
#   bash bench/lifecycle.sh [--sizes "10000 100000"] [--repos 1000] [--duration 10s] [--out DIR] [--no-build]
#
# For each size N: berth-seed fills a fresh data folder with N images (two blobs each: 2N blobs) in --repos
# repositories of project "bench", pushed over the last 60 days (100 per repository at the default sizes: the lab
# preset then deletes all but the 10 newest of each). A server starts on it with --gc-grace 1s, then:
#   1. push-4k for --duration (the baseline, into another project);
#   2. `berth retention set bench --preset lab`, then `berth retention run bench` (timed);
#   3. `berth gc run` (timed) with push-4k for --duration started at the same moment;
# the server's VmRSS/VmHWM are recorded after start, after the retention run and after GC. Memory that stays flat
# from one size to the next is what "does not grow with the number of blobs" means. Results: DIR/lifecycle.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES="10000 100000"
REPOS=1000
DURATION=10s
OUT=""
BUILD=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) SIZES=$2; shift ;;
    --repos) REPOS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --out) OUT=$2; shift ;;
    --no-build) BUILD=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "lifecycle.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "== [$(date +%T)] $*" >&2; }

if [[ $BUILD -eq 1 ]]; then
  log "building Berth, the load generator and the seeder (Release)"
  for project in src/Berth bench/Berth.Bench bench/Berth.Seed; do
    if ! output=$(dotnet build "$ROOT/$project" -c Release -nologo -v q 2>&1); then
      echo "$output" >&2
      exit 1
    fi
  done
fi
BERTH=(dotnet "$ROOT/src/Berth/bin/Release/net10.0/berth.dll")
BENCH=(dotnet "$ROOT/bench/Berth.Bench/bin/Release/net10.0/berth-bench.dll")
SEED=(dotnet "$ROOT/bench/Berth.Seed/bin/Release/net10.0/berth-seed.dll")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-lifecycle.XXXXXX")
OUT=${OUT:-$WORK/out}
mkdir -p "$OUT"
PASSWORD="lifecycle-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
SERVER_PID=""
cleanup() {
  [[ -z "$SERVER_PID" ]] || kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK/data-"*
}
trap cleanup EXIT

seconds() { # file command...: run the command with its output into file; print its wall time in seconds (3 decimals)
  local start end file=$1
  shift
  start=$(date +%s.%N)
  "$@" >> "$file"
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

rss() { # label size
  "${BENCH[@]}" rss --pid "$SERVER_PID" --label "$1" --tag "$2" --json "$OUT/memory.jsonl" >/dev/null
  awk '/^VmRSS/ { rss = $2 } /^VmHWM/ { hwm = $2 } END { printf "%d / %d MB", rss / 1024, hwm / 1024 }' "/proc/$SERVER_PID/status"
}

{
  echo "# Lifecycle benchmark, $(date -u +%F)"
  echo
  echo "Sizes: $SIZES manifests (two blobs each) in $REPOS repositories; push-4k for $DURATION. Machine: $(nproc) cores."
  echo
  echo "| manifests | blobs | seed s | retention run s | deleted | GC s | blobs collected | push-4k without GC | push-4k during GC | RSS / HWM after start | after retention | after GC |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|"
} > "$OUT/lifecycle.md"

for size in $SIZES; do
  data="$WORK/data-$size"
  log "seeding $size manifests into $data"
  seed_s=$(seconds "$OUT/seed.log" "${SEED[@]}" --data "$data" --manifests "$size" --repos "$REPOS")

  port=$("${BENCH[@]}" free-port)
  url="http://127.0.0.1:$port"
  BERTH_ADMIN_PASSWORD=$PASSWORD "${BERTH[@]}" serve --listen "$url" --data "$data" --gc-grace 1s \
    > "$OUT/server-$size.log" 2>&1 &
  SERVER_PID=$!
  "${BENCH[@]}" wait --registry "$url" --timeout 60s >/dev/null
  export BERTH_CONFIG_DIR="$WORK/cli-$size"
  echo "$PASSWORD" | "${BERTH[@]}" login "$url" -u admin --password-stdin >/dev/null
  mem_start=$(rss start "$size")

  log "$size: push-4k without GC"
  "${BENCH[@]}" run --registry "$url" --user admin --password "$PASSWORD" --scenario push-4k --duration "$DURATION" \
    --label "without-gc-$size" --json "$OUT/push.jsonl" > "$OUT/push-without-$size.log"
  without=$(awk '/req\/s/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "req/s") { print $i; exit } }' "$OUT/push-without-$size.log")

  log "$size: retention run (lab preset)"
  "${BERTH[@]}" retention set bench --preset lab > "$OUT/retention-set-$size.log"
  retention_s=$(seconds "$OUT/retention-$size.json" "${BERTH[@]}" retention run bench --output json)
  deleted=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["artifactsDeleted"])' "$OUT/retention-$size.json" 2>/dev/null || echo "?")
  mem_retention=$(rss retention "$size")

  sleep 2 # past the 1 s grace window
  log "$size: garbage collection with push-4k alongside"
  "${BENCH[@]}" run --registry "$url" --user admin --password "$PASSWORD" --scenario push-4k --duration "$DURATION" \
    --label "during-gc-$size" --json "$OUT/push.jsonl" > "$OUT/push-during-$size.log" &
  push_pid=$!
  gc_s=$(seconds "$OUT/gc-$size.json" "${BERTH[@]}" gc run --output json)
  wait "$push_pid"
  during=$(awk '/req\/s/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "req/s") { print $i; exit } }' "$OUT/push-during-$size.log")
  collected=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["blobsCollected"])' "$OUT/gc-$size.json" 2>/dev/null || echo "?")
  mem_gc=$(rss gc "$size")

  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
  echo "| $size | $((2 * size)) | $seed_s | $retention_s | $deleted | $gc_s | $collected | $without req/s | $during req/s | $mem_start | $mem_retention | $mem_gc |" >> "$OUT/lifecycle.md"
  rm -rf "$data"
done

cat "$OUT/lifecycle.md"
log "results in $OUT"
