#!/usr/bin/env bash
# Prints the folder of the `node` the tests run on: a supported LTS line (22 or 24). The machine's own Node when it
# is 22 or newer; otherwise (Node 20, out of support since April 2026) Node 24 from the npm registry's `node`
# package, installed once into ${PLATFORM_NODE_CACHE:-~/.cache/platform-node}/node-<version>. scripts/test.sh puts
# the folder first on PATH. PLATFORM_TEST_NODE_VERSION picks another version of the package.
set -euo pipefail

version="${PLATFORM_TEST_NODE_VERSION:-24.21.0}"
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ -z "${PLATFORM_TEST_NODE_VERSION:-}" ] && [ "$major" -ge 22 ]; then
  dirname "$(command -v node)"
  exit 0
fi

cache="${PLATFORM_NODE_CACHE:-$HOME/.cache/platform-node}"
dir="$cache/node-$version"
bin="$dir/node_modules/node/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$cache"
  exec 9>"$cache/.lock"
  flock 9 # test runs started together install it once
  if [ ! -x "$bin/node" ]; then
    echo "lts-node: Node $(node --version) is older than the supported LTS lines; installing Node $version (npm package node) into $dir" >&2
    tmp="$(mktemp -d "$cache/.install-XXXXXX")"
    # The package's install script fetches the binary for this platform (the package node-<os>-<arch>).
    npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node@$version" >&2
    if [ ! -x "$tmp/node_modules/node/bin/node" ]; then
      echo "lts-node: npm installed the package node@$version but no node binary (were install scripts refused?)" >&2
      exit 1
    fi
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
fi
"$bin/node" --version >/dev/null
echo "$bin"
