#!/usr/bin/env bash
# Runs every test of the solution: unit, functional, storage conformance and end-to-end (real skopeo, podman,
# umoci, debootstrap and the Docker engine against a started server) and the PostgreSQL, S3 and Azure suites. Installs
# the Debian packages the tests need when they are missing (as root, or through sudo), and starts the PostgreSQL,
# radosgw and Azurite servers those suites run against. Prints a closing line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")"

need=()
for tool in skopeo podman umoci debootstrap rpm; do
    command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
# dockerd comes from Debian's docker.io, without its recommends (a docker CLI installed otherwise is fine too; the
# tests start their own daemons).
docker=()
command -v dockerd >/dev/null 2>&1 || [[ -x /usr/sbin/dockerd ]] || docker=(docker.io)
if [[ ${#need[@]} -gt 0 || ${#docker[@]} -gt 0 ]]; then
    echo "test.sh: installing ${need[*]} ${docker[*]} (needed by the end-to-end tests)"
    sudo=""; [[ $(id -u) == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    [[ ${#need[@]} -eq 0 ]] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
    [[ ${#docker[@]} -eq 0 ]] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${docker[@]}" >/dev/null
fi

# The scale-out suites run against real servers: PostgreSQL, radosgw (Ceph) as S3, Azurite as Azure Blob storage.
# Debian packages and Azurite (npm, into AZURITE_HOME) are installed when missing; tests/servers/up.sh starts a
# throwaway instance of each on loopback (about 20 s) unless the environment already names one, and they are stopped
# at the end.
export AZURITE_HOME=${AZURITE_HOME:-/opt/azurite}
servers=()
[[ -n "${BERTH_TEST_POSTGRES:-}" ]] || servers+=(postgres)
[[ -n "${BERTH_TEST_S3:-}" ]] || servers+=(s3)
[[ -n "${BERTH_TEST_AZURITE:-}" ]] || servers+=(azure)
pkgs=()
for s in "${servers[@]}"; do
    case "$s" in
        postgres) ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || pkgs+=(postgresql) ;;
        s3) command -v radosgw >/dev/null 2>&1 || pkgs+=(radosgw ceph-mon ceph-osd ceph-common) ;;
        azure) command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm) ;;
    esac
done
sudo=""; [[ $(id -u) == 0 ]] || sudo="sudo"
if [[ ${#pkgs[@]} -gt 0 ]]; then
    echo "test.sh: installing ${pkgs[*]} (servers of the storage and metadata suites)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
if [[ " ${servers[*]} " == *" azure "* && ! -x "$AZURITE_HOME/node_modules/.bin/azurite-blob" ]]; then
    echo "test.sh: installing azurite@3.35.0 into $AZURITE_HOME"
    $sudo mkdir -p "$AZURITE_HOME"
    $sudo npm install --prefix "$AZURITE_HOME" --no-audit --no-fund --loglevel=error azurite@3.35.0 >/dev/null
fi
# The signing tests verify sigstore bundles made by npm's @sigstore/sign (offline, with a key pair), installed once
# into BERTH_SIGSTORE_HOME; the tests find it through BERTH_SIGSTORE_MODULES.
export BERTH_SIGSTORE_HOME=${BERTH_SIGSTORE_HOME:-/opt/berth-sigstore}
export BERTH_SIGSTORE_MODULES=${BERTH_SIGSTORE_MODULES:-$BERTH_SIGSTORE_HOME/node_modules}
if [[ ! -d "$BERTH_SIGSTORE_MODULES/@sigstore/sign" ]]; then
    command -v npm >/dev/null 2>&1 || { $sudo apt-get update -qq; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
    echo "test.sh: installing @sigstore/sign@5.1.0 into $BERTH_SIGSTORE_HOME"
    $sudo mkdir -p "$BERTH_SIGSTORE_HOME"
    $sudo npm install --prefix "$BERTH_SIGSTORE_HOME" --no-audit --no-fund --loglevel=error @sigstore/sign@5.1.0 @sigstore/bundle@5.0.1 >/dev/null
fi

log=$(mktemp)
state=""
cleanup() {
    rm -f "$log"
    [[ -z "$state" ]] || rm -f "$state.env" "$state.log"
    [[ -z "$state" ]] || bash tests/servers/down.sh "$state"
}
trap cleanup EXIT
if [[ ${#servers[@]} -gt 0 ]]; then
    state=$(mktemp -d /tmp/berth-test-servers.XXXXXX)
    env_file="$state.env"
    bash tests/servers/up.sh "$state" "${servers[@]}" > "$env_file" 2> "$state.log" || { cat "$state.log" >&2; exit 1; }
    # shellcheck disable=SC1090
    source "$env_file"
    rm -f "$env_file"
fi
set +e
dotnet test Berth.slnx "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# The functional suites once more on PostgreSQL (a schema per test server in one throwaway database), so the whole
# server, not only the store contracts, is tested on the scale-out metadata store. Skipped when the caller already
# chose the providers (BERTH_TEST_METADATA / BERTH_TEST_STORAGE) or passed its own arguments (a filter).
if [[ $# -eq 0 && -z "${BERTH_TEST_METADATA:-}" && -z "${BERTH_TEST_STORAGE:-}" ]]; then
    echo "test.sh: the functional suites on PostgreSQL (BERTH_TEST_METADATA=postgres)"
    for project in tests/Berth.Api.Tests tests/Berth.Management.Tests; do
        BERTH_TEST_METADATA=postgres dotnet test "$project" --no-build 2>&1 | tee -a "$log"
        [[ ${PIPESTATUS[0]} -eq 0 ]] || rc=1
    done
    # Garbage collection (its functional tests and the 60 s stress test) on PostgreSQL + S3 as well: the races it must
    # win differ with an object store's listing and times.
    echo "test.sh: garbage collection on PostgreSQL + S3 (BERTH_TEST_METADATA=postgres BERTH_TEST_STORAGE=s3)"
    BERTH_TEST_METADATA=postgres BERTH_TEST_STORAGE=s3 dotnet test tests/Berth.Api.Tests --no-build \
        --filter "FullyQualifiedName~GarbageCollection" 2>&1 | tee -a "$log"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || rc=1
fi
set -e

# dotnet test prints one summary per test assembly; add them up into the plain closing line.
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -Eo 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"
