# Shared by up.sh and down.sh. Real servers for integration tests, on loopback, no Docker.
SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SERVICES_DIR/../.." && pwd)"
RUN_DIR="$ROOT/.services"                       # data, logs, pid files of this checkout
CACHE="${PLATFORM_SERVICES_CACHE:-$HOME/.cache/platform-services}"   # downloads and builds, shared by checkouts
KAFKA_VERSION="${PLATFORM_KAFKA_VERSION:-4.1.1}"
FERRETDB_VERSION=v1.24.2
# MinIO tags (RELEASE.2025-…) are not semver, so the Go module proxy lists no versions for github.com/minio/minio:
# it serves commits as pseudo-versions only. One is pinned (a commit of 2026-02-12).
MINIO_VERSION="${PLATFORM_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
PG_BIN=/usr/lib/postgresql/15/bin

PG_PORT=55432 KAFKA_PORT=59092 KAFKA_CONTROLLER_PORT=59093 MONGO_PORT=57017 S3_PORT=59000 S3_CONSOLE_PORT=59001
# The 3-node Kafka cluster for fault tests: node n listens on 59190+2n (PLAINTEXT) and 59191+2n (controller).
KAFKA3_NODES="1 2 3"
kafka3_port() { echo $((59190 + 2 * $1)); }
kafka3_controller_port() { echo $((59191 + 2 * $1)); }
KAFKA3_BROKERS="127.0.0.1:59192,127.0.0.1:59194,127.0.0.1:59196"
PG_URL="postgres://platform:platform@127.0.0.1:$PG_PORT/platform"
KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT/"
S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
S3_ACCESS_KEY=platformadmin S3_SECRET_KEY=platformsecret S3_REGION=us-east-1 S3_NOTIFY_TOPIC=s3-events

mkdir -p "$RUN_DIR" "$CACHE"

log() { printf '[services] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Who listens on a port (for the message when someone else holds one of ours).
port_owner() { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }

# Fails when a port we are about to use is taken by a process this checkout did not start.
ensure_port_free() { # port name
  port_open "$1" || return 0
  local pid; pid=$(port_owner "$1")
  log "$2: port $1 is already in use by another process${pid:+ (pid $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-160))}"
  log "$2: stop it (another checkout's scripts/services/down.sh) and run up.sh again"
  return 1
}

wait_for_port() { # port seconds name [pid]
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    port_open "$1" && return 0
    if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then break; fi   # the server died: no point waiting
    sleep 0.1
  done
  log "$3 did not open port $1 within $2 s (log: $RUN_DIR/$3.log)"; tail -30 "$RUN_DIR/$3.log" >&2 || true
  return 1
}

running() { [ -f "$RUN_DIR/$1.pid" ] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

# Merge keys into .services/env.json (flat JSON object) and rewrite .services/env.sh from it.
# KEY=VALUE sets a key, KEY= removes it.
set_env() {
  node -e '
    const fs = require("fs"); const [file, ...pairs] = process.argv.slice(1);
    let env = {};
    try { env = JSON.parse(fs.readFileSync(file, "utf8")); } catch {}
    for (const pair of pairs) { const i = pair.indexOf("="); const k = pair.slice(0, i), v = pair.slice(i + 1); if (v) env[k] = v; else delete env[k]; }
    const write = (f, text) => { fs.writeFileSync(f + ".tmp", text); fs.renameSync(f + ".tmp", f); };
    write(file, JSON.stringify(env, null, 2) + "\n");
    write(file.replace(/json$/, "sh"), Object.entries(env).map(([k, v]) => `export ${k}=\x27${v.replace(/\x27/g, "\x27\\\x27\x27")}\x27`).join("\n") + "\n");
  ' "$RUN_DIR/env.json" "$@"
}

now() { date +%s.%N; }
seconds_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
