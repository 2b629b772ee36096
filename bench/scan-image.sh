#!/usr/bin/env bash
# Builds the scanning benchmark's image as an OCI layout: a real Debian 12 root file system (debootstrap minbase
# with python3, perl, git, curl and openssl: about 110 MB gzip-compressed, 400 MB unpacked, a few hundred dpkg
# packages) as one layer, and with --app-mb N an "application" layer of N MB of incompressible data. The scanner
# reads every byte of them (it decompresses and walks the whole tar stream).
#
#   bash bench/scan-image.sh OUTDIR [--app-mb N]
#
# Needs root, debootstrap and the Debian mirror of the apt sources (BERTH_BENCH_DEBIAN_MIRROR overrides it);
# downloaded .debs are kept in ${XDG_CACHE_HOME:-~/.cache}/berth-bench/debs. OUTDIR/index.json names the image
# "latest". Prints the layout's compressed size.
set -euo pipefail

OUT=${1:?usage: scan-image.sh OUTDIR [--app-mb N]}
shift
APP_MB=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --app-mb) APP_MB=$2; shift ;;
    *) echo "scan-image.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

log() { echo "== [$(date +%T)] $*" >&2; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

mirror=${BERTH_BENCH_DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
    | grep -oE '^(URIs:|deb) +https?://[^ ]+' \
    | grep -v security | head -n1 | awk '{ print $2 }' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
cache=${XDG_CACHE_HOME:-$HOME/.cache}/berth-bench/debs
mkdir -p "$cache" "$OUT/blobs/sha256"
work=$(mktemp -d "${TMPDIR:-/tmp}/berth-scan-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include=python3,perl,git,curl,openssl,ca-certificates --cache-dir="$cache" \
  bookworm "$work/rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/dev/"* "$work/rootfs/proc/"* "$work/rootfs/sys/"*

log "packing the root file system"
tar --numeric-owner --sort=name --mtime=@0 -C "$work/rootfs" -cf "$work/base.tar" .
names=base
if (( APP_MB > 0 )); then
  log "making the application layer ($APP_MB MB)"
  mkdir -p "$work/app/opt/app/data"
  for i in $(seq 1 "$APP_MB"); do
    head -c 1048576 /dev/urandom > "$work/app/opt/app/data/chunk-$i.bin"
  done
  tar --numeric-owner --sort=name --mtime=@0 -C "$work/app" -cf "$work/app.tar" opt
  names="base app"
fi

layers=""
diffids=""
for name in $names; do
  diff=$(sha "$work/$name.tar")
  gzip -6 -n -c "$work/$name.tar" > "$work/$name.tar.gz"
  digest=$(sha "$work/$name.tar.gz")
  size=$(stat -c %s "$work/$name.tar.gz")
  mv "$work/$name.tar.gz" "$OUT/blobs/sha256/$digest"
  layers+="${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$digest\",\"size\":$size}"
  diffids+="${diffids:+,}\"sha256:$diff\""
done
printf '{"created":"2026-01-01T00:00:00Z","architecture":"amd64","os":"linux","config":{"Cmd":["/bin/bash"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
  "$diffids" > "$work/config.json"
config=$(sha "$work/config.json")
csize=$(stat -c %s "$work/config.json")
mv "$work/config.json" "$OUT/blobs/sha256/$config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
  "$config" "$csize" "$layers" > "$work/manifest.json"
manifest=$(sha "$work/manifest.json")
msize=$(stat -c %s "$work/manifest.json")
mv "$work/manifest.json" "$OUT/blobs/sha256/$manifest"
printf '{"imageLayoutVersion":"1.0.0"}' > "$OUT/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
  "$manifest" "$msize" > "$OUT/index.json"
du -sb "$OUT/blobs" | awk '{ printf "%.1f MB compressed\n", $1 / 1048576 }'
