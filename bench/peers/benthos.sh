#!/usr/bin/env bash
# Builds the Benthos peer once (Go module proxy; about 2 minutes with empty Go caches) into the services cache and
# prints the binary's path. The version is pinned in benthos/go.mod.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${PLATFORM_SERVICES_CACHE:-$HOME/.cache/platform-services}"
version=$(grep -oE "github.com/redpanda-data/benthos/v4 v[0-9.]+" "$here/benthos/go.mod" | cut -d" " -f2)
bin="$cache/bin/benthos-$version"
if [ ! -x "$bin" ]; then
  mkdir -p "$cache/bin" "$cache/logs"
  echo "[peers] building Benthos $version (Go; about 2 minutes the first time)" >&2
  (cd "$here/benthos" && go build -trimpath -o "$bin.tmp" .) >"$cache/logs/benthos-build.log" 2>&1 ||
    { tail -30 "$cache/logs/benthos-build.log" >&2; exit 1; }
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
