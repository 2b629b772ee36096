#!/usr/bin/env bash
# Installs the berth command (the server and the CLI) so it runs without `dotnet run` (which builds first, about 6 s
# per call): publishes src/Berth in Release to PREFIX/lib/berth and writes PREFIX/bin/berth, a two-line script that
# runs it with this machine's dotnet. Run it again after pulling changes to update.
#
#   ./install.sh [PREFIX]      PREFIX defaults to ~/.local (so ~/.local/bin/berth); /usr/local needs root
#
# Needs the .NET 10 SDK (the published program needs only the .NET 10 runtime, which the SDK includes).
set -euo pipefail
cd "$(dirname "$0")"

prefix="${1:-$HOME/.local}"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
lib="$prefix/lib/berth"
bin="$prefix/bin"

dotnet_host="$(command -v dotnet || true)"
if [[ -z "$dotnet_host" ]]; then
    echo "install.sh: dotnet is not on PATH; install the .NET 10 SDK first" >&2
    exit 1
fi
dotnet_host="$(readlink -f "$dotnet_host")"

# A previous installation is replaced, never mixed with the new files (only a folder that holds berth.dll is removed).
if [[ -f "$lib/berth.dll" ]]; then
    rm -rf "$lib"
fi

echo "install.sh: publishing src/Berth (Release) to $lib"
dotnet publish src/Berth -c Release -o "$lib" --nologo -v quiet -p:UseAppHost=false

mkdir -p "$bin"
cat > "$bin/berth" <<SCRIPT
#!/bin/sh
exec "$dotnet_host" "$lib/berth.dll" "\$@"
SCRIPT
chmod 755 "$bin/berth"

echo "install.sh: installed $("$bin/berth" version) as $bin/berth"
case ":$PATH:" in
    *":$bin:"*) ;;
    *) echo "install.sh: $bin is not on PATH; add it, e.g.: export PATH=\"$bin:\$PATH\"" ;;
esac
