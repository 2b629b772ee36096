#!/usr/bin/env bash
# Runs every test of the solution: unit, functional, storage conformance and end-to-end (real skopeo, podman,
# umoci, debootstrap and the Docker engine against a started server). Installs the Debian packages the end-to-end
# tests need when they are missing (as root, or through sudo). Prints a closing line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")"

need=()
for tool in skopeo podman umoci debootstrap; do
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

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test Berth.slnx "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

# dotnet test prints one summary per test assembly; add them up into the plain closing line.
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -Eo 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"
