#!/usr/bin/env bash
# The whole test suite, as README and .ci/run call it: system packages, client bundle, real servers, vitest.
# The servers this script started are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system.sh
# A supported Node LTS line (22 or 24) runs everything below — tsc, the builds, vitest and each `platform` process
# the tests start: the machine's Node when it is one, else Node 24 from the npm registry (scripts/lts-node.sh, cached).
PATH="$(bash scripts/lts-node.sh):$PATH"
PLATFORM_TEST_NODE="$(node --version)" # tests/node-lts.test.ts checks the workers run on it
export PATH PLATFORM_TEST_NODE
echo "test.sh: tests run on Node $PLATFORM_TEST_NODE"
# The servers are this run's own: anything the tests leave on them fails the run (tests/leftovers.ts).
export PLATFORM_LEFTOVERS=fail
npx tsc --noEmit -p .            # types first: a type error fails fast, before any server starts
npx eslint .                     # lint, and the import boundaries (CONTRIBUTING.md, "Boundaries"): a crossing import fails here
npx prettier --check --log-level warn "**/*.{ts,tsx,js,mjs,json,css}"   # formatting (settings in .prettierrc.json; `npm run format` fixes it)
node scripts/build-client.mjs
node scripts/build-cli.mjs        # the compiled `platform` command the tests start (cli/bin.mjs)
bash scripts/services/up.sh
trap 'bash scripts/services/down.sh' EXIT
npx vitest run "$@"
