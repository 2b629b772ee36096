#!/usr/bin/env bash
# Berth against the reference registry (Debian's docker-registry, CNCF distribution 2.8) and nginx (static file).
#
#   bash bench/compare.sh                 full comparison (several rounds, interleaved), markdown table at the end
#   bash bench/compare.sh --smoke         every scenario very briefly; non-zero exit on any error (CI)
#
# Options:
#   --rounds N        rounds of every scenario, A then B (order alternating per round) (default 3)
#   --duration D      measuring time per scenario run (default 5s)
#   --repos N         repositories for the listing scenarios (default 10000)
#   --tags N          tags per repository (default 10)
#   --scenarios "..." blob/manifest scenarios to run (default: the standard list below)
#   --no-listing      skip populate/tags-list/catalog
#   --no-stream       skip the stream-10mb/stream-1gb memory test
#   --out DIR         keep results.jsonl, results.md and the server logs in DIR (default: a temp folder, removed)
#   --keep            keep the temp folder (data, logs) at the end
#   --no-build        use the existing builds of src/Berth and bench/Berth.Bench
#   --token-flow      Berth's client uses the Docker token flow (a token per repository) instead of Basic auth
#   --config NAME     build configuration (default Release; Debug for --smoke, which measures nothing and so can
#                     reuse the Debug build that the tests made)
#   --baseline REV    Berth against itself: the B column is Berth built from git revision REV (e.g. HEAD~1, main) in
#                     a temporary worktree, instead of the reference registry; ratios are this tree / REV. Targets
#                     are not checked (they are about the reference)
#
# Environment: BENCH_REFERENCE_BIN, BENCH_NGINX_BIN override the server binaries ("" leaves that server out).
#
# Needs: dotnet (SDK), and for the comparison columns docker-registry and nginx (apt-get install docker-registry
# nginx-light). Without them those columns are skipped, and the script says so.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=full
ROUNDS=3
DURATION=5s
REPOS=10000
TAGS=10
OUT=""
KEEP=0
BUILD=1
TOKEN_FLOW=0
CONFIG=""
BASELINE=""
LISTING=1
STREAM=1
SCENARIOS="push-4k push-1m push-10mb push-64m push-100mb chunked-64m chunked-100mb pull-4k pull-1m pull-10mb pull-64m@2 pull-64m@8 pull-100mb@2 pull-100mb@8 blob-head manifest-put manifest-get manifest-head mixed"
LARGE_PULLS="pull-64m@2 pull-64m@8 pull-100mb@2 pull-100mb@8"
LIST_SCENARIOS="tags-list catalog catalog-first catalog-last"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) MODE=smoke ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --repos) REPOS=$2; shift ;;
    --tags) TAGS=$2; shift ;;
    --scenarios) SCENARIOS=$2; shift ;;
    --no-listing) LISTING=0 ;;
    --no-stream) STREAM=0 ;;
    --out) OUT=$2; shift ;;
    --keep) KEEP=1 ;;
    --no-build) BUILD=0 ;;
    --token-flow) TOKEN_FLOW=1 ;;
    --config) CONFIG=$2; shift ;;
    --baseline) BASELINE=$2; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "== [$(date +%T)] $*" >&2; }

if [[ -z "$CONFIG" ]]; then
  if [[ $MODE == smoke ]]; then CONFIG=Debug; else CONFIG=Release; fi
fi
if [[ $BUILD -eq 1 ]]; then
  log "building Berth and the load generator ($CONFIG)"
  if ! build_output=$(dotnet build "$ROOT/bench/compare.slnf" -c "$CONFIG" -nologo -v q 2>&1); then
    echo "$build_output" >&2
    log "build failed"
    exit 1
  fi
fi
BENCH=(dotnet "$ROOT/bench/Berth.Bench/bin/$CONFIG/net10.0/berth-bench.dll")
BERTH_DLL="$ROOT/src/Berth/bin/$CONFIG/net10.0/berth.dll"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")
BASELINE_DLL=""
if [[ -n "$BASELINE" ]]; then
  # The same measurements against an earlier Berth: built from REV in a detached worktree under $WORK, served in the
  # reference registry's place (label "reference" in results.jsonl; the report calls it B).
  baseline_rev=$(git -C "$ROOT" rev-parse --verify "$BASELINE^{commit}") || { log "--baseline: no such revision: $BASELINE"; exit 2; }
  log "building the baseline Berth at $BASELINE ($baseline_rev, $CONFIG)"
  git -C "$ROOT" worktree add --detach -q "$WORK/baseline-src" "$baseline_rev"
  if ! build_output=$(dotnet build "$WORK/baseline-src/src/Berth/Berth.csproj" -c "$CONFIG" -nologo -v q 2>&1); then
    echo "$build_output" >&2
    git -C "$ROOT" worktree remove --force "$WORK/baseline-src" || true
    log "baseline build failed"
    exit 1
  fi
  BASELINE_DLL="$WORK/baseline-src/src/Berth/bin/$CONFIG/net10.0/berth.dll"
fi
chmod 755 "$WORK" # nginx workers (user nobody) read the static files here
OUT=${OUT:-$WORK}
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
PIDS=()
FAILED=0

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  [[ -z "$BASELINE" ]] || git -C "$ROOT" worktree remove --force "$WORK/baseline-src" 2>/dev/null || true
  if [[ $KEEP -eq 0 ]]; then
    if [[ "$OUT" != "$WORK" ]]; then
      cp "$WORK"/*.log "$OUT"/ 2>/dev/null || true
    fi
    rm -rf "$WORK"
  else
    log "kept $WORK"
  fi
}
trap cleanup EXIT

# ---- servers ----

BERTH_URL="" REF_URL="" NGINX_URL=""
BERTH_PID="" REF_PID=""

BERTH_PORT=$("${BENCH[@]}" free-port)
# Berth always authenticates: the bench signs in as the first administrator, and administrators' pushes create the
# projects. The reference registry runs without authentication, as Debian ships it. By default the bench sends Basic
# auth with every request (like for like with the open reference); --token-flow makes it fetch a Docker registry
# token per repository instead, as docker and podman do (then tags-list pays one token round trip per random repository).
BERTH_AUTH=(--basic)
[[ $TOKEN_FLOW == 1 ]] && BERTH_AUTH=()
BERTH_BENCH_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
BERTH_ADMIN_PASSWORD=$BERTH_BENCH_PASSWORD dotnet "$BERTH_DLL" serve --listen "http://127.0.0.1:$BERTH_PORT" --data "$WORK/berth-data" \
  --auto-create-projects true --log-level Warning >"$WORK/berth.log" 2>&1 &
BERTH_PID=$!
PIDS+=("$BERTH_PID")
BERTH_URL="http://127.0.0.1:$BERTH_PORT"

# BENCH_REFERENCE_BIN / BENCH_NGINX_BIN override the binaries; set to "" to leave a server out.
REGISTRY_BIN=${BENCH_REFERENCE_BIN-$(command -v docker-registry || true)}
if [[ -n "$BASELINE_DLL" ]]; then
  REF_PORT=$("${BENCH[@]}" free-port)
  BERTH_ADMIN_PASSWORD=$BERTH_BENCH_PASSWORD dotnet "$BASELINE_DLL" serve --listen "http://127.0.0.1:$REF_PORT" \
    --data "$WORK/baseline-data" --auto-create-projects true --log-level Warning >"$WORK/reference.log" 2>&1 &
  REF_PID=$!
  PIDS+=("$REF_PID")
  REF_URL="http://127.0.0.1:$REF_PORT"
elif [[ -n "$REGISTRY_BIN" ]]; then
  REF_PORT=$("${BENCH[@]}" free-port)
  # Debian's default configuration, on loopback, without the access log (Berth runs at log level Warning too).
  cat >"$WORK/reference.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/reference-data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$REF_PORT
EOF
  "$REGISTRY_BIN" serve "$WORK/reference.yml" >"$WORK/reference.log" 2>&1 &
  REF_PID=$!
  PIDS+=("$REF_PID")
  REF_URL="http://127.0.0.1:$REF_PORT"
else
  log "docker-registry is not installed: the reference columns are skipped (apt-get install docker-registry)"
fi

NGINX_BIN=${BENCH_NGINX_BIN-$(command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true)}
if [[ -n "$NGINX_BIN" ]]; then
  NGINX_PORT=$("${BENCH[@]}" free-port)
  mkdir -p "$WORK/static" "$WORK/nginx/tmp"
  chmod 755 "$WORK/static"
  for size in 64m 100mb; do
    "${BENCH[@]}" gen --size "$size" --dir "$WORK/static" >/dev/null
  done
  cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
error_log $WORK/nginx.log warn;
pid $WORK/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/static;
  }
}
EOF
  "$NGINX_BIN" -p "$WORK/nginx" -e "$WORK/nginx.log" -c "$WORK/nginx/nginx.conf" &
  PIDS+=("$!")
  NGINX_URL="http://127.0.0.1:$NGINX_PORT"
else
  log "nginx is not installed: the static-file column is skipped (apt-get install nginx-light)"
fi

"${BENCH[@]}" wait --registry "$BERTH_URL" --timeout 60s
[[ -n "$REF_URL" ]] && "${BENCH[@]}" wait --registry "$REF_URL" --timeout 60s
[[ -n "$NGINX_URL" ]] && "${BENCH[@]}" wait --registry "$NGINX_URL" --timeout 30s
log "Berth $BERTH_URL (pid $BERTH_PID)${REF_URL:+, reference $REF_URL (pid $REF_PID)}${NGINX_URL:+, nginx $NGINX_URL}; results in $OUT"

# ---- helpers ----

alive() { # label pid log
  if ! kill -0 "$2" 2>/dev/null; then
    local status=0
    wait "$2" 2>/dev/null || status=$?
    log "SERVER DIED: $1 (pid $2), exit status $status$( ((status > 128)) && echo " (signal $((status - 128)))"); last lines of $3:"
    tail -20 "$3" >&2 || true
    FAILED=1
    return 1
  fi
}

run() { # label url pid log round scenario(s) [extra args...]
  local label=$1 url=$2 pid=$3 logfile=$4 round=$5 scenario=$6
  shift 6
  alive "$label" "$pid" "$logfile" || return 0
  local credentials=()
  [[ $label == berth || -n "$BASELINE_DLL" ]] && credentials=(--user admin --password "$BERTH_BENCH_PASSWORD" "${BERTH_AUTH[@]}")
  if ! "${BENCH[@]}" run --registry "$url" --label "$label" --scenario "$scenario" --round "$round" --json "$RESULTS" \
      --server-pid "$pid" --repos "$REPOS" --tags "$TAGS" "${credentials[@]}" "$@"; then
    log "errors: $label $scenario (round $round)"
    FAILED=1
  fi
  alive "$label" "$pid" "$logfile" || true
}

run_static() { # round scenario [extra args...]
  local round=$1 scenario=$2
  shift 2
  if ! "${BENCH[@]}" run --registry "$NGINX_URL" --static --no-verify --label nginx --scenario "$scenario" --round "$round" --json "$RESULTS" "$@"; then
    log "errors: nginx $scenario (round $round)"
    FAILED=1
  fi
}

rss() { # tag
  "${BENCH[@]}" rss --pid "$BERTH_PID" --label berth --tag "$1" --json "$RESULTS" || true
  [[ -n "$REF_URL" ]] && { "${BENCH[@]}" rss --pid "$REF_PID" --label reference --tag "$1" --json "$RESULTS" || true; }
  return 0
}

both() { # round scenario [extra args...]: A then B, who goes first alternating with the round
  local round=$1 scenario=$2
  shift 2
  if [[ -z "$REF_URL" ]] || (( round % 2 == 1 )); then
    run berth "$BERTH_URL" "$BERTH_PID" "$WORK/berth.log" "$round" "$scenario" "$@"
    [[ -n "$REF_URL" ]] && run reference "$REF_URL" "$REF_PID" "$WORK/reference.log" "$round" "$scenario" "$@"
  else
    run reference "$REF_URL" "$REF_PID" "$WORK/reference.log" "$round" "$scenario" "$@"
    run berth "$BERTH_URL" "$BERTH_PID" "$WORK/berth.log" "$round" "$scenario" "$@"
  fi
  return 0
}

is_large_pull() { [[ " $LARGE_PULLS " == *" $1 "* ]]; }

report() { # [--no-targets]
  local labels=berth
  [[ -n "$REF_URL" ]] && labels+=",reference"
  [[ -n "$NGINX_URL" ]] && labels+="${REF_URL:+,nginx}"
  echo
  "${BENCH[@]}" report --input "$RESULTS" --labels "$labels" "$@" | tee "$OUT/results.md"
}

# The load on the machine (other work shares its cores) goes into the report.
env_note() { # tag
  printf '{"type":"env","tag":"%s","text":"load average %s, %s cores"}\n' "$1" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)" >>"$RESULTS"
}

env_note start
rss start

# ---- smoke ----

if [[ $MODE == smoke ]]; then
  smoke_list=$(echo "$SCENARIOS" | tr ' ' ',')
  # Two operations per scenario (at most 200 ms): this checks that everything works, it measures nothing.
  quick=(--duration 200ms --warmup 0s --count 2)
  REPOS=30 TAGS=3
  for target in berth reference; do
    if [[ $target == berth ]]; then url=$BERTH_URL pid=$BERTH_PID logfile=$WORK/berth.log; else
      [[ -n "$REF_URL" ]] || continue
      url=$REF_URL pid=$REF_PID logfile=$WORK/reference.log
    fi
    # stream-64m stands in for stream-1gb here (same code path, fewer bytes).
    run "$target" "$url" "$pid" "$logfile" 1 "$smoke_list,stream-10mb,stream-64m" "${quick[@]}"
    run "$target" "$url" "$pid" "$logfile" 1 "populate,$(echo "$LIST_SCENARIOS" | tr ' ' ','),populate" "${quick[@]}" --page-size 7
  done
  if [[ -n "$NGINX_URL" ]]; then
    run_static 1 "$(echo "$LARGE_PULLS" | tr ' ' ',')" "${quick[@]}"
  fi
  rss end
  env_note end
  report --no-targets
  [[ -z "$REF_URL" ]] && log "smoke: reference columns skipped (docker-registry not installed)"
  [[ -z "$NGINX_URL" ]] && log "smoke: static-file column skipped (nginx not installed)"
  if [[ $FAILED -ne 0 ]]; then
    log "smoke: FAILED (errors above)"
    exit 1
  fi
  log "smoke: OK"
  exit 0
fi

# ---- full comparison ----

avail_gb=$(df -Pk "$WORK" | awk 'NR==2 { print int($4 / 1048576) }')
if (( avail_gb < 30 )); then
  log "warning: only ${avail_gb} GB free under $WORK; a full run with 3 rounds writes about 20 GB"
fi

if [[ $STREAM -eq 1 ]]; then
  # Server memory against blob size: peak RSS after streamed 10 MB pushes, then after a streamed 1 GB push. The first
  # 10 MB pushes after start-up warm the server (code, pools), so the comparison starts after a second batch.
  both 1 stream-10mb
  rss after-stream-10mb-warmup
  both 2 stream-10mb
  rss after-stream-10mb
  both 1 stream-1gb
  rss after-stream-1gb
fi

# Large pulls read blobs each server must hold already. nginx's files were written when it started; write Berth's and
# the reference's copies now too (an untimed run that pushes each blob and reads it back) and let the kernel finish
# writing everything to disk, so that no timed pull races the write-back of a just-pushed 64-100 MB blob on one server
# and not on the other.
large=$(for scenario in $SCENARIOS; do if is_large_pull "$scenario"; then echo "$scenario"; fi; done | paste -sd, -)
if [[ -n "$large" ]]; then
  untimed=(--scenario "$large" --duration 200ms --warmup 0s --count 1 --no-verify)
  "${BENCH[@]}" run --registry "$BERTH_URL" "${untimed[@]}" --user admin --password "$BERTH_BENCH_PASSWORD" "${BERTH_AUTH[@]}" >/dev/null || FAILED=1
  ref_credentials=()
  [[ -n "$BASELINE_DLL" ]] && ref_credentials=(--user admin --password "$BERTH_BENCH_PASSWORD" "${BERTH_AUTH[@]}")
  [[ -n "$REF_URL" ]] && { "${BENCH[@]}" run --registry "$REF_URL" "${untimed[@]}" "${ref_credentials[@]}" >/dev/null || FAILED=1; }
fi
sync

for ((round = 1; round <= ROUNDS; round++)); do
  log "round $round of $ROUNDS"
  for scenario in $SCENARIOS; do
    if is_large_pull "$scenario"; then
      # The pushes of a round leave gigabytes for the kernel to write back (half a minute later by default), and that
      # write-back would land on whichever server is being timed then: let it finish first. nginx runs after the two
      # registries in odd rounds and before them in even ones. Raw transfer: the client does not hash (one verified
      # pull precedes each timed run).
      sync
      if [[ -n "$NGINX_URL" ]] && (( round % 2 == 0 )); then
        run_static "$round" "$scenario" --duration "$DURATION"
        both "$round" "$scenario" --duration "$DURATION" --no-verify
      else
        both "$round" "$scenario" --duration "$DURATION" --no-verify
        [[ -n "$NGINX_URL" ]] && run_static "$round" "$scenario" --duration "$DURATION"
      fi
    else
      both "$round" "$scenario" --duration "$DURATION"
    fi
  done
done
rss after-blob-scenarios

if [[ $LISTING -eq 1 ]]; then
  log "populating $REPOS repositories x $TAGS tags in each registry"
  env_note "before populate"
  both 1 populate
  rss after-populate
  for ((round = 1; round <= ROUNDS; round++)); do
    log "listing round $round of $ROUNDS"
    for scenario in $LIST_SCENARIOS; do
      both "$round" "$scenario" --duration "$DURATION"
    done
  done
fi

rss end
env_note end
if [[ -n "$BASELINE" ]]; then
  log "B is Berth at $BASELINE ($baseline_rev), not the reference registry: ratios are this tree / $BASELINE"
  report --no-targets
else
  report
fi
if [[ $FAILED -ne 0 ]]; then
  log "FAILED: some runs had errors (see above)"
  exit 1
fi
