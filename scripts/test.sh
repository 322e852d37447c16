#!/usr/bin/env bash
# The whole test suite, as README and .ci/run call it: system packages, client bundle, real servers, vitest.
# The servers this script started are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system.sh
npx tsc --noEmit -p .            # types first: a type error fails fast, before any server starts
node scripts/build-client.mjs
node scripts/build-cli.mjs        # the compiled `platform` command the tests start (cli/bin.mjs)
bash scripts/services/up.sh
trap 'bash scripts/services/down.sh' EXIT
npx vitest run "$@"
