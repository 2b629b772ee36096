#!/usr/bin/env bash
# Starts the servers the storage and metadata suites run against, each throwaway and on loopback only:
#   PostgreSQL (Debian's postgresql: initdb into STATE/pg, superuser postgres, password berth-test),
#   a one-node Ceph with radosgw as the S3 server (memstore OSD; keys ciaccess / cisecret),
#   Azurite (npm azurite@3.35.0, installed by install.sh into AZURITE_HOME, default /opt/azurite).
# Usage: tests/servers/up.sh STATE_DIR [postgres] [s3] [azure]   (no names: all three)
# Prints the environment the tests read, as export lines; tests/servers/down.sh STATE_DIR stops everything.
# Runs as root (CI) or as a user who can run these daemons; PostgreSQL's initdb runs as the postgres user under root.
set -euo pipefail
STATE=${1:?usage: up.sh STATE_DIR [postgres] [s3] [azure]}; shift
mkdir -p "$STATE"; STATE=$(cd "$STATE" && pwd)
# The postgres user (initdb and the server run as it under root) must reach its folder inside.
chmod 0755 "$STATE"
want=("$@"); [[ ${#want[@]} -gt 0 ]] || want=(postgres s3 azure)
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
wait_port() { for _ in $(seq 1 "$2"); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.5; done; return 1; }

start_postgres() {
    local bin port; bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [[ -n "$bin" ]] || { echo "up.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; return 1; }
    port=$(free_port)
    mkdir -p "$STATE/pg"; [[ $(id -u) != 0 ]] || chown postgres:postgres "$STATE/pg"
    echo berth-test > "$STATE/pg/pw"; [[ $(id -u) != 0 ]] || chown postgres "$STATE/pg/pw"
    as_pg "$bin/initdb" -D "$STATE/pg/data" -U postgres --pwfile="$STATE/pg/pw" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$STATE/pg/initdb.log"
    # fsync off: a test server's data is thrown away; max_connections for several test assemblies at once.
    as_pg "$bin/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $STATE/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" start >/dev/null
    echo "$bin" > "$STATE/pg/bin"
    echo "export BERTH_TEST_POSTGRES=127.0.0.1:$port BERTH_TEST_POSTGRES_USER=postgres BERTH_TEST_POSTGRES_PASSWORD=berth-test"
}

start_s3() {
    command -v radosgw >/dev/null || { echo "up.sh: radosgw is not installed (apt-get install radosgw ceph-mon ceph-osd ceph-common)" >&2; return 1; }
    local D="$STATE/ceph" port mon; port=$(free_port); mon=$(free_port)
    mkdir -p "$D"/{mon,osd0,run,log,rgw}; local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
    # "ms mon client mode = crc secure" and "mon data avail crit = 0" are what make a one-node Ceph start here.
    cat > "$D/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
mon allow pool delete = true
osd crush chooseleaf type = 0
ms bind ipv6 = false
ms mon client mode = crc secure
ms client mode = crc secure
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
keyring = $D/keyring
mon data = $D/mon
osd data = $D/osd0
osd objectstore = memstore
memstore device bytes = 6442450944
osd max object size = 134217728
[client.rgw.gw]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $D/rgw
rgw dns name = localhost
# memstore keeps every object in memory: collect deleted objects' data within a minute (the default waits 2 hours),
# so suites that delete what they wrote do not add up to an out-of-memory kill of the OSD.
rgw gc obj min wait = 30
rgw gc processor period = 30
rgw gc processor max time = 30
CONF
    export CEPH_CONF="$D/ceph.conf"
    ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon]" "$D/monmap" >/dev/null
    ceph-mon --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
    ceph-mon -i a
    local uuid id; uuid=$(cat /proc/sys/kernel/random/uuid); id=$(ceph osd new "$uuid")
    ceph-osd -i "$id" --mkfs --osd-uuid "$uuid" 2>"$D/log/osd-mkfs.err"
    ceph-osd -i "$id"
    for _ in $(seq 1 60); do ceph osd stat 2>/dev/null | grep -q "1 up" && break; sleep 1; done
    radosgw -n client.rgw.gw
    wait_port "$port" 180 || { echo "up.sh: radosgw did not open 127.0.0.1:$port" >&2; return 1; }
    radosgw-admin user create --uid=ci --display-name=ci --access-key=ciaccess --secret=cisecret >/dev/null
    echo "export BERTH_TEST_S3=127.0.0.1:$port BERTH_TEST_S3_ACCESS_KEY=ciaccess BERTH_TEST_S3_SECRET_KEY=cisecret"
}

start_azure() {
    local home=${AZURITE_HOME:-/opt/azurite} port; port=$(free_port)
    [[ -x "$home/node_modules/.bin/azurite-blob" ]] || { echo "up.sh: Azurite is not installed in $home (npm install --prefix $home azurite@3.35.0)" >&2; return 1; }
    mkdir -p "$STATE/azurite"
    nohup "$home/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" --location "$STATE/azurite" \
        --skipApiVersionCheck --disableTelemetry --loose >"$STATE/azurite/log" 2>&1 &
    echo $! > "$STATE/azurite/pid"
    wait_port "$port" 60 || { echo "up.sh: Azurite did not open 127.0.0.1:$port" >&2; return 1; }
    echo "export BERTH_TEST_AZURITE=127.0.0.1:$port"
}

for name in "${want[@]}"; do
    case "$name" in
        postgres) start_postgres ;;
        s3) start_s3 ;;
        azure) start_azure ;;
        *) echo "up.sh: unknown server $name" >&2; exit 2 ;;
    esac
done
