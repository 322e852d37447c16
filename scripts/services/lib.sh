# Shared by up.sh and down.sh. Real servers for integration tests, on loopback, no Docker.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="$ROOT/.services"                       # data, logs, pid files of this checkout
CACHE="${PLATFORM_SERVICES_CACHE:-$HOME/.cache/platform-services}"   # downloads and builds, shared by checkouts
KAFKA_VERSION="${PLATFORM_KAFKA_VERSION:-4.1.1}"
FERRETDB_VERSION=v1.24.2
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c   # the module proxy serves MinIO as pseudo-versions of commits
PG_BIN=/usr/lib/postgresql/15/bin
mkdir -p "$RUN_DIR" "$CACHE"

log() { printf '[services] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds what
  local i
  for ((i = 0; i < $2 * 10; i++)); do port_open "$1" && return 0; sleep 0.1; done
  log "$3 did not open port $1 within $2 s (log: $RUN_DIR/$3.log)"; tail -20 "$RUN_DIR/$3.log" >&2 || true
  return 1
}

running() { [ -f "$RUN_DIR/$1.pid" ] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

# Merge (or with an empty value, remove) keys in .services/env.json and .services/env.sh.
set_env() {
  node -e '
    const fs = require("fs"); const [file, ...pairs] = process.argv.slice(1);
    const env = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    for (const pair of pairs) { const i = pair.indexOf("="); const k = pair.slice(0, i), v = pair.slice(i + 1); if (v) env[k] = v; else delete env[k]; }
    fs.writeFileSync(file, JSON.stringify(env, null, 2) + "\n");
    fs.writeFileSync(file.replace(/json$/, "sh"), Object.entries(env).map(([k, v]) => `export ${k}=${JSON.stringify(v)}`).join("\n") + "\n");
  ' "$RUN_DIR/env.json" "$@"
}

seconds_since() { echo $(( $(date +%s) - $1 )); }
