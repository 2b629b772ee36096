#!/usr/bin/env bash
# Berth against the reference registry (Debian's docker-registry, CNCF distribution 2.8) and nginx (static file).
#
#   bash bench/compare.sh                 full comparison (several rounds, interleaved), markdown table at the end
#   bash bench/compare.sh --smoke         every scenario very briefly; non-zero exit on any error (CI)
#   bash bench/compare.sh --scale-out     Berth on PostgreSQL + S3 (radosgw) against the reference on the same S3 server
#   bash bench/compare.sh --baseline-metadata   Berth on SQLite (A) against Berth on PostgreSQL (B), both on files
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
#   --scale-out       issue 12: Berth with --metadata postgres://... --storage s3://... against the reference registry
#                     with its s3 driver on another bucket of the same radosgw; no nginx column; issue 12's targets.
#                     Servers: BERTH_TEST_POSTGRES / BERTH_TEST_S3 (with their _USER/_PASSWORD, _ACCESS_KEY/_SECRET_KEY)
#                     when set (own database and buckets, dropped at the end), else its own from tests/servers/up.sh
#                     (stopped at the end). Large pushes are capped at 3 operations (radosgw's memstore holds the data
#                     in memory)
#   --baseline-metadata  issue 12 item 1: Berth on SQLite + files (A, "sqlite") against Berth on PostgreSQL + files (B,
#                     "postgres"), same build, same run; default scenarios the small ones plus listing, no memory test;
#                     target: small pushes and manifest writes on PostgreSQL within 2x of SQLite. Servers as --scale-out
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
VARIANT=default # default | scale-out | metadata
SCENARIOS_SET=0
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
    --scenarios) SCENARIOS=$2; SCENARIOS_SET=1; shift ;;
    --scale-out) VARIANT=scale-out ;;
    --baseline-metadata) VARIANT=metadata ;;
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

if [[ $VARIANT != default && -n "$BASELINE" ]]; then
  echo "compare.sh: --baseline cannot be combined with --scale-out or --baseline-metadata" >&2
  exit 2
fi
if [[ $VARIANT == metadata && $SCENARIOS_SET == 0 ]]; then
  # What the metadata store decides: small requests, manifests, the listing. Large blobs only measure the disk.
  SCENARIOS="push-4k push-1m pull-4k pull-1m blob-head manifest-put manifest-get manifest-head mixed"
  STREAM=0
fi

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
# Labels of the A and B columns in results.jsonl and the report; B_IS_BERTH: the B server is a Berth (signs in).
A_LABEL=berth B_LABEL=reference B_IS_BERTH=0
[[ -n "$BASELINE" ]] && B_IS_BERTH=1
[[ $VARIANT == metadata ]] && { A_LABEL=sqlite B_LABEL=postgres B_IS_BERTH=1; }
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
RUN_PREFIX=()

SERVERS_STATE="" PG_DB="" S3_BUCKETS=()
cleanup() {
  local pid bucket
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  # A server that does not stop within 30 s (a hung request holding its shutdown) is killed.
  for _ in $(seq 60); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.5
  done
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not stop within 30 s: killed"
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  # Our database and buckets on shared servers (servers we started ourselves go away whole).
  if [[ -z "$SERVERS_STATE" ]]; then
    if [[ -n "$PG_DB" ]]; then
      pg_sql "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" || log "could not drop database $PG_DB"
    fi
    for bucket in "${S3_BUCKETS[@]}"; do
      log "deleting bucket $bucket"
      "${BENCH[@]}" s3-delete-bucket --endpoint "$S3_ENDPOINT" --bucket "$bucket" >&2 || log "could not delete bucket $bucket"
    done
  fi
  [[ -z "$SERVERS_STATE" ]] || "$ROOT/tests/servers/down.sh" "$SERVERS_STATE" || true
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
# A signal ends the script through exit, so that the EXIT trap stops the servers and drops the database and buckets.
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- servers ----

# --scale-out and --baseline-metadata: PostgreSQL (and for --scale-out radosgw), shared when the test variables name
# them, else started here into $WORK/servers.
pg_sql() { # statement: run on the server's postgres database
  PGPASSWORD=$BERTH_TEST_POSTGRES_PASSWORD PGCONNECT_TIMEOUT=10 psql -X -q -v ON_ERROR_STOP=1 \
    -h "${BERTH_TEST_POSTGRES%:*}" -p "${BERTH_TEST_POSTGRES##*:}" -U "$BERTH_TEST_POSTGRES_USER" -d postgres -c "$1" >/dev/null
}
BERTH_SERVER_ARGS=() BERTH_B_SERVER_ARGS=() SERVER_ENV=()
if [[ $VARIANT != default ]]; then
  want=()
  [[ -n "${BERTH_TEST_POSTGRES:-}" ]] || want+=(postgres)
  [[ $VARIANT != scale-out || -n "${BERTH_TEST_S3:-}" ]] || want+=(s3)
  if [[ ${#want[@]} -gt 0 ]]; then
    SERVERS_STATE="$WORK/servers"
    log "starting ${want[*]} (tests/servers/up.sh)"
    started=$(date +%s)
    # Own servers only: nothing on them needs dropping one by one, down.sh removes them whole.
    if ! server_env=$("$ROOT/tests/servers/up.sh" "$SERVERS_STATE" "${want[@]}"); then
      log "tests/servers/up.sh failed"
      exit 1
    fi
    eval "$server_env"
    log "servers up in $(( $(date +%s) - started )) s"
  fi
  BERTH_TEST_POSTGRES_USER=${BERTH_TEST_POSTGRES_USER:-postgres}
  BERTH_TEST_POSTGRES_PASSWORD=${BERTH_TEST_POSTGRES_PASSWORD:-berth-test}
  suffix=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
  PG_DB="berth_bench_$suffix"
  pg_sql "CREATE DATABASE \"$PG_DB\"" || { log "cannot create database $PG_DB on $BERTH_TEST_POSTGRES"; exit 1; }
  # The password from the environment, not the command line (the process list).
  PG_URI="postgres://$BERTH_TEST_POSTGRES_USER@$BERTH_TEST_POSTGRES/$PG_DB"
  SERVER_ENV+=("PGPASSWORD=$BERTH_TEST_POSTGRES_PASSWORD")
  if [[ $VARIANT == scale-out ]]; then
    S3_ENDPOINT="http://$BERTH_TEST_S3"
    export AWS_ACCESS_KEY_ID=${BERTH_TEST_S3_ACCESS_KEY:-ciaccess} AWS_SECRET_ACCESS_KEY=${BERTH_TEST_S3_SECRET_KEY:-cisecret}
    BERTH_BUCKET="berth-bench-$suffix" REF_BUCKET="reference-bench-$suffix"
    for bucket in "$BERTH_BUCKET" "$REF_BUCKET"; do
      "${BENCH[@]}" s3-create-bucket --endpoint "$S3_ENDPOINT" --bucket "$bucket" || { log "cannot create bucket $bucket on $S3_ENDPOINT"; exit 1; }
      S3_BUCKETS+=("$bucket")
    done
    BERTH_SERVER_ARGS=(--metadata "$PG_URI" --storage "s3://$BERTH_BUCKET/berth?endpoint=$S3_ENDPOINT&region=us-east-1&path-style=true")
    log "Berth on PostgreSQL $BERTH_TEST_POSTGRES/$PG_DB and S3 $S3_ENDPOINT/$BERTH_BUCKET; the reference on $S3_ENDPOINT/$REF_BUCKET"
  else
    BERTH_B_SERVER_ARGS=(--metadata "$PG_URI")
    log "A: Berth on SQLite + files; B: Berth on PostgreSQL $BERTH_TEST_POSTGRES/$PG_DB + files"
  fi
fi

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
env "${SERVER_ENV[@]}" BERTH_ADMIN_PASSWORD=$BERTH_BENCH_PASSWORD dotnet "$BERTH_DLL" serve --listen "http://127.0.0.1:$BERTH_PORT" --data "$WORK/berth-data" \
  --auto-create-projects true --log-level Warning "${BERTH_SERVER_ARGS[@]}" >"$WORK/berth.log" 2>&1 &
BERTH_PID=$!
PIDS+=("$BERTH_PID")
BERTH_URL="http://127.0.0.1:$BERTH_PORT"

# BENCH_REFERENCE_BIN / BENCH_NGINX_BIN override the binaries; set to "" to leave a server out.
REGISTRY_BIN=${BENCH_REFERENCE_BIN-$(command -v docker-registry || true)}
if [[ $VARIANT == metadata ]]; then
  # B: the same build on PostgreSQL, in the reference's place.
  REF_PORT=$("${BENCH[@]}" free-port)
  env "${SERVER_ENV[@]}" BERTH_ADMIN_PASSWORD=$BERTH_BENCH_PASSWORD dotnet "$BERTH_DLL" serve --listen "http://127.0.0.1:$REF_PORT" \
    --data "$WORK/postgres-data" --auto-create-projects true --log-level Warning "${BERTH_B_SERVER_ARGS[@]}" >"$WORK/reference.log" 2>&1 &
  REF_PID=$!
  PIDS+=("$REF_PID")
  REF_URL="http://127.0.0.1:$REF_PORT"
elif [[ -n "$BASELINE_DLL" ]]; then
  REF_PORT=$("${BENCH[@]}" free-port)
  BERTH_ADMIN_PASSWORD=$BERTH_BENCH_PASSWORD dotnet "$BASELINE_DLL" serve --listen "http://127.0.0.1:$REF_PORT" \
    --data "$WORK/baseline-data" --auto-create-projects true --log-level Warning >"$WORK/reference.log" 2>&1 &
  REF_PID=$!
  PIDS+=("$REF_PID")
  REF_URL="http://127.0.0.1:$REF_PORT"
elif [[ -n "$REGISTRY_BIN" ]]; then
  REF_PORT=$("${BENCH[@]}" free-port)
  # Debian's default configuration, on loopback, without the access log (Berth runs at log level Warning too).
  if [[ $VARIANT == scale-out ]]; then
    # distribution 2.8's s3-aws driver on the same radosgw: regionendpoint (which also makes it address the bucket by
    # path), plain HTTP, v4 signatures. Redirects off: by default it answers blob GETs and HEADs with a 307 to a
    # presigned URL, while Berth (redirect=false, its default) serves the bytes itself; like for like, both serve them.
    # The keys are in the config file (owner-only), which is what distribution reads.
    reference_storage="  s3:
    accesskey: $AWS_ACCESS_KEY_ID
    secretkey: $AWS_SECRET_ACCESS_KEY
    region: us-east-1
    regionendpoint: $S3_ENDPOINT
    bucket: $REF_BUCKET
    rootdirectory: /reference
    secure: false
    v4auth: true
  redirect:
    disable: true"
  else
    reference_storage="  filesystem:
    rootdirectory: $WORK/reference-data"
  fi
  (umask 077 && cat >"$WORK/reference.yml") <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
$reference_storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$REF_PORT
EOF
  # AWS_CA_BUNDLE (set on some machines for a proxy) makes the Go SDK refuse distribution's own HTTP transport.
  env -u AWS_CA_BUNDLE "$REGISTRY_BIN" serve "$WORK/reference.yml" >"$WORK/reference.log" 2>&1 &
  REF_PID=$!
  PIDS+=("$REF_PID")
  REF_URL="http://127.0.0.1:$REF_PORT"
else
  log "docker-registry is not installed: the reference columns are skipped (apt-get install docker-registry)"
fi

NGINX_BIN=${BENCH_NGINX_BIN-$(command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true)}
# A static file from the local disk says nothing about an object store or a metadata store.
[[ $VARIANT == default ]] || NGINX_BIN=""
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
elif [[ $VARIANT == default ]]; then
  log "nginx is not installed: the static-file column is skipped (apt-get install nginx-light)"
fi

"${BENCH[@]}" wait --registry "$BERTH_URL" --timeout 60s
[[ -n "$REF_URL" ]] && "${BENCH[@]}" wait --registry "$REF_URL" --timeout 60s
if [[ $VARIANT == scale-out && -n "$REF_URL" ]]; then
  # The reference answers /v2/ even when its bucket is unusable; one push and pull proves the S3 configuration.
  if ! "${BENCH[@]}" run --registry "$REF_URL" --label reference --scenario push-4k,pull-4k --duration 200ms --warmup 0s --count 1 >/dev/null; then
    log "the reference registry cannot push and pull on S3; its log:"
    tail -20 "$WORK/reference.log" >&2
    exit 1
  fi
fi
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
  [[ $label == "$A_LABEL" || $B_IS_BERTH == 1 ]] && credentials=(--user admin --password "$BERTH_BENCH_PASSWORD" "${BERTH_AUTH[@]}")
  if ! "${RUN_PREFIX[@]}" "${BENCH[@]}" run --registry "$url" --label "$label" --scenario "$scenario" --round "$round" --json "$RESULTS" \
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
  "${BENCH[@]}" rss --pid "$BERTH_PID" --label "$A_LABEL" --tag "$1" --json "$RESULTS" || true
  [[ -n "$REF_URL" ]] && { "${BENCH[@]}" rss --pid "$REF_PID" --label "$B_LABEL" --tag "$1" --json "$RESULTS" || true; }
  return 0
}

both() { # round scenario [extra args...]: A then B, who goes first alternating with the round
  local round=$1 scenario=$2
  shift 2
  if [[ -z "$REF_URL" ]] || (( round % 2 == 1 )); then
    run "$A_LABEL" "$BERTH_URL" "$BERTH_PID" "$WORK/berth.log" "$round" "$scenario" "$@"
    [[ -n "$REF_URL" ]] && run "$B_LABEL" "$REF_URL" "$REF_PID" "$WORK/reference.log" "$round" "$scenario" "$@"
  else
    run "$B_LABEL" "$REF_URL" "$REF_PID" "$WORK/reference.log" "$round" "$scenario" "$@"
    run "$A_LABEL" "$BERTH_URL" "$BERTH_PID" "$WORK/berth.log" "$round" "$scenario" "$@"
  fi
  return 0
}

is_large_pull() { [[ " $LARGE_PULLS " == *" $1 "* ]]; }

report() { # [--no-targets]
  local labels=$A_LABEL
  [[ -n "$REF_URL" ]] && labels+=",$B_LABEL"
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
  # A hung request (a stalled server) fails the smoke instead of blocking CI.
  RUN_PREFIX=(timeout 300)
  smoke_list=$(echo "$SCENARIOS" | tr ' ' ',')
  # Two operations per scenario (at most 200 ms): this checks that everything works, it measures nothing.
  quick=(--duration 200ms --warmup 0s --count 2)
  if [[ $VARIANT == scale-out ]]; then
    # Over S3 a large push takes seconds (the reference's chunked push of 64 MiB about half a minute on 2 busy cores):
    # one operation each, and the 100 MB sizes left out (the 64 MiB ones take the same code paths).
    smoke_list=$(for scenario in $SCENARIOS; do [[ $scenario == *100mb* ]] || echo "$scenario"; done | paste -sd, -)
    quick=(--duration 200ms --warmup 0s --count 1)
  fi
  REPOS=30 TAGS=3
  for target in "$A_LABEL" "$B_LABEL"; do
    if [[ $target == "$A_LABEL" ]]; then url=$BERTH_URL pid=$BERTH_PID logfile=$WORK/berth.log; else
      [[ -n "$REF_URL" ]] || continue
      url=$REF_URL pid=$REF_PID logfile=$WORK/reference.log
    fi
    # stream-64m stands in for stream-1gb here (same code path, fewer bytes).
    smoke_streams=",stream-10mb,stream-64m"
    [[ $STREAM -eq 1 ]] || smoke_streams=""
    run "$target" "$url" "$pid" "$logfile" 1 "$smoke_list$smoke_streams" "${quick[@]}"
    run "$target" "$url" "$pid" "$logfile" 1 "populate,$(echo "$LIST_SCENARIOS" | tr ' ' ','),populate" "${quick[@]}" --page-size 7
  done
  if [[ -n "$NGINX_URL" ]]; then
    run_static 1 "$(echo "$LARGE_PULLS" | tr ' ' ',')" "${quick[@]}"
  fi
  rss end
  env_note end
  report --no-targets
  [[ -z "$REF_URL" ]] && log "smoke: reference columns skipped (docker-registry not installed)"
  [[ -z "$NGINX_URL" && $VARIANT == default ]] && log "smoke: static-file column skipped (nginx not installed)"
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
  [[ $B_IS_BERTH == 1 ]] && ref_credentials=(--user admin --password "$BERTH_BENCH_PASSWORD" "${BERTH_AUTH[@]}")
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
    elif [[ $VARIANT == scale-out && $scenario =~ ^(push|chunked)-(64m|100mb)$ ]]; then
      # radosgw's memstore keeps every byte in memory: three large pushes per run instead of six.
      both "$round" "$scenario" --duration "$DURATION" --count 3
    else
      both "$round" "$scenario" --duration "$DURATION"
    fi
  done
done
rss after-blob-scenarios

if [[ $LISTING -eq 1 ]]; then
  log "populating $REPOS repositories x $TAGS tags in each registry"
  env_note "before populate"
  populate_started=$(date +%s)
  both 1 populate
  log "populate took $(( $(date +%s) - populate_started )) s for both registries (each one's time is in its populate line)"
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
elif [[ $VARIANT == scale-out ]]; then
  report --targets scale-out
elif [[ $VARIANT == metadata ]]; then
  report --targets metadata
else
  report
fi
if [[ $FAILED -ne 0 ]]; then
  log "FAILED: some runs had errors (see above)"
  exit 1
fi
