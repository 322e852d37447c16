#!/usr/bin/env bash
# Installs (first time; cached) and starts real servers on 127.0.0.1 for integration tests and benchmarks:
#   pg     PostgreSQL 15 (Debian package), port 55432
#   kafka  Apache Kafka in KRaft mode (jars from Maven Central), port 59092 (controller 59093)
#   kafka3 three Kafka nodes (replication 3, min ISR 2) for broker-fault tests, ports 59192/59194/59196
#   mongo  FerretDB v1 (MongoDB wire protocol, SQLite storage; built with Go from the module proxy), port 57017
#   s3     MinIO (S3 API; `go install` from the module proxy), port 59000, bucket events to Kafka topic s3-events
# Usage: up.sh [pg] [kafka] [kafka3] [mongo] [s3]   (no argument: all; s3 brings kafka too, its event target).
# Idempotent: a service this checkout already runs is left alone. Concurrent calls wait on .services/.lock.
# Writes the keys to .services/env.json and .services/env.sh (read by tests/services.ts). See README.md here.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

want=" $* "
[ -z "${*// /}" ] && want=" pg kafka kafka3 mongo s3 "
for s in $want; do case "$s" in pg|kafka|kafka3|mongo|s3) ;; *) log "unknown service '$s' (known: pg kafka kafka3 mongo s3)"; exit 2 ;; esac; done
[[ "$want" == *" s3 "* ]] && want="$want kafka "   # MinIO sends bucket events to Kafka: start that first

exec 9>"$RUN_DIR/.lock"
flock 9   # concurrent callers wait; the first one starts what is missing. Servers get 9>&- so they never hold it.

report() { printf '[services] %-5s install %ss, start %ss\n' "$1" "$2" "$3"; }

# ---------------------------------------------------------------- PostgreSQL
pg_sql() { "$PG_BIN/psql" -h "$RUN_DIR/pg" -p "$PG_PORT" -U postgres -d postgres -qtAX "$@"; }   # admin over the Unix socket

start_pg() {
  if running pg && port_open "$PG_PORT"; then log "pg already running"; set_env "PG_URL=$PG_URL"; return; fi
  ensure_port_free "$PG_PORT" pg
  local t0; t0=$(now)
  if [ ! -x "$PG_BIN/initdb" ]; then
    log "installing PostgreSQL 15 (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  if ! runuser -u postgres -- test -x "$RUN_DIR"; then
    log "pg: user postgres cannot enter $RUN_DIR (a parent folder is private); use a checkout outside such a folder"; return 1
  fi
  local data="$RUN_DIR/pg" installed
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data"; mkdir -p "$data"; chown postgres: "$data"; chmod 700 "$data"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$RUN_DIR/pg-initdb.log" 2>&1 ||
      { tail -20 "$RUN_DIR/pg-initdb.log" >&2; return 1; }
    cat >> "$data/postgresql.conf" <<CONF
# scripts/services/up.sh: loopback only, socket in the data folder, durability off for test speed
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$data'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
  fi
  installed=$(seconds_since "$t0"); t0=$(now)
  touch "$RUN_DIR/pg.log" && chown postgres: "$RUN_DIR/pg.log"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -l "$RUN_DIR/pg.log" -w -t 60 start >/dev/null 9>&- ||
    { tail -20 "$RUN_DIR/pg.log" >&2; return 1; }
  head -1 "$data/postmaster.pid" > "$RUN_DIR/pg.pid"
  [ "$(pg_sql -c "SELECT 1 FROM pg_roles WHERE rolname = 'platform'")" = 1 ] ||
    pg_sql -c "CREATE ROLE platform LOGIN SUPERUSER PASSWORD 'platform'"
  [ "$(pg_sql -c "SELECT 1 FROM pg_database WHERE datname = 'platform'")" = 1 ] ||
    pg_sql -c "CREATE DATABASE platform OWNER platform"
  # TCP logins need the password from now on (the URL carries it, as in a real deployment); the socket stays trust.
  if grep -q '^host.*trust$' "$data/pg_hba.conf"; then
    sed -i 's/^\(host.*\)trust$/\1scram-sha-256/' "$data/pg_hba.conf"
    pg_sql -c "SELECT pg_reload_conf()" >/dev/null
  fi
  "$PG_BIN/psql" "$PG_URL" -qtAXc 'select 1' >/dev/null
  set_env "PG_URL=$PG_URL"
  report pg "$installed" "$(seconds_since "$t0")"
}

# ---------------------------------------------------------------- Kafka
kafka_lib() { # the jar folder, keyed by version and a hash of pom.xml (a changed pom fetches a fresh set)
  local key; key=$( (echo "$KAFKA_VERSION"; cat "$SERVICES_DIR/kafka/pom.xml") | sha1sum | cut -c1-8)
  echo "$CACHE/kafka-$KAFKA_VERSION-$key/lib"
}

kafka_install() { # fetches the jars once; prints the lib folder
  local lib; lib=$(kafka_lib)
  if [ ! -f "$lib/.complete" ]; then
    log "kafka: fetching Apache Kafka $KAFKA_VERSION jars (Maven)"
    rm -rf "$lib"; mkdir -p "$lib" "$CACHE/logs"
    mvn -q -B -f "$SERVICES_DIR/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies \
      -DoutputDirectory="$lib" >"$CACHE/logs/kafka-mvn.log" 2>&1 || { tail -30 "$CACHE/logs/kafka-mvn.log" >&2; return 1; }
    touch "$lib/.complete"
  fi
  echo "$lib"
}

kafka_java() { # lib dir heap: the JVM command line shared by every node and the storage tool
  echo java "-Xms128m" "-Xmx$2" -XX:+UseG1GC -Djava.awt.headless=true "-Dlog4j2.configurationFile=$SERVICES_DIR/kafka/log4j2.properties" -cp "$1/*"
}

# Writes server.properties for one combined broker+controller node. The settings that differ between the single
# broker and the 3-node cluster (replication) come as extra lines.
kafka_properties() { # dir node-id port controller-port voters extra-lines
  mkdir -p "$1"
  cat > "$1/server.properties" <<PROPS
process.roles=broker,controller
node.id=$2
controller.quorum.voters=$5
listeners=PLAINTEXT://127.0.0.1:$3,CONTROLLER://127.0.0.1:$4
advertised.listeners=PLAINTEXT://127.0.0.1:$3
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$1/data
num.partitions=1
offsets.topic.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
$6
PROPS
}

# Formats a node's log dir once (with the cluster id) and starts it in the background; the pid goes to <name>.pid.
kafka_node_start() { # name dir lib heap cluster-id
  local java; read -r -a java <<<"$(kafka_java "$3" "$4")"
  if [ ! -f "$2/data/meta.properties" ]; then
    "${java[@]}" -Dkafka.logs.dir="$2" kafka.tools.StorageTool format -t "$5" -c "$2/server.properties" >"$2/format.log" 2>&1 ||
      { cat "$2/format.log" >&2; return 1; }
  fi
  nohup "${java[@]}" -Dkafka.logs.dir="$2" kafka.Kafka "$2/server.properties" > "$RUN_DIR/$1.log" 2>&1 9>&- &
  echo $! > "$RUN_DIR/$1.pid"
}

kafka_cluster_id() { # dir lib: one id per cluster, kept next to its nodes
  if [ ! -f "$1/cluster-id" ]; then
    local java; read -r -a java <<<"$(kafka_java "$2" 256m)"
    mkdir -p "$1" && "${java[@]}" -Dkafka.logs.dir="$1" kafka.tools.StorageTool random-uuid > "$1/cluster-id"
  fi
  cat "$1/cluster-id"
}

start_kafka() {
  if running kafka && port_open "$KAFKA_PORT"; then log "kafka already running"; set_env "KAFKA_BROKERS=$KAFKA_BROKERS"; return; fi
  ensure_port_free "$KAFKA_PORT" kafka; ensure_port_free "$KAFKA_CONTROLLER_PORT" kafka
  local t0; t0=$(now)
  local lib; lib=$(kafka_install)
  local installed; installed=$(seconds_since "$t0"); t0=$(now)
  local dir="$RUN_DIR/kafka"
  kafka_properties "$dir" 1 "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "1@127.0.0.1:$KAFKA_CONTROLLER_PORT" \
"offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1"
  kafka_node_start kafka "$dir" "$lib" 768m "$(kafka_cluster_id "$dir" "$lib")"
  wait_for_port "$KAFKA_PORT" 90 kafka "$(cat "$RUN_DIR/kafka.pid")" || { tail -30 "$dir/server.log" >&2 2>/dev/null; return 1; }
  node "$SERVICES_DIR/kafka-check.mjs" "$KAFKA_BROKERS" || { tail -30 "$dir/server.log" >&2; return 1; }
  set_env "KAFKA_BROKERS=$KAFKA_BROKERS"
  report kafka "$installed" "$(seconds_since "$t0")"
}

# Three nodes, each broker and controller (a 3-voter quorum), replication 3 with min.insync.replicas 2: one node can
# die without losing a write acknowledged by all in-sync replicas. Starts only the nodes that are not running, so
# after a fault test killed a node, `up.sh kafka3` brings just that one back.
start_kafka3() {
  local n missing=
  for n in $KAFKA3_NODES; do running "kafka3-$n" && port_open "$(kafka3_port "$n")" || missing="$missing $n"; done
  if [ -z "$missing" ]; then log "kafka3 already running"; set_env "KAFKA3_BROKERS=$KAFKA3_BROKERS"; return; fi
  for n in $missing; do ensure_port_free "$(kafka3_port "$n")" "kafka3-$n"; ensure_port_free "$(kafka3_controller_port "$n")" "kafka3-$n"; done
  local t0; t0=$(now)
  local lib; lib=$(kafka_install)
  local installed; installed=$(seconds_since "$t0"); t0=$(now)
  local voters= ; for n in $KAFKA3_NODES; do voters="$voters${voters:+,}$n@127.0.0.1:$(kafka3_controller_port "$n")"; done
  local id; id=$(kafka_cluster_id "$RUN_DIR/kafka3" "$lib")
  for n in $missing; do
    kafka_properties "$RUN_DIR/kafka3/node-$n" "$n" "$(kafka3_port "$n")" "$(kafka3_controller_port "$n")" "$voters" \
"default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2"
    kafka_node_start "kafka3-$n" "$RUN_DIR/kafka3/node-$n" "$lib" 512m "$id"
  done
  # A node opens its broker port once the quorum has a leader, which needs two voters: start all, then wait.
  for n in $missing; do
    wait_for_port "$(kafka3_port "$n")" 120 "kafka3-$n" "$(cat "$RUN_DIR/kafka3-$n.pid")" ||
      { tail -30 "$RUN_DIR/kafka3/node-$n/server.log" >&2 2>/dev/null; return 1; }
  done
  node "$SERVICES_DIR/kafka-check.mjs" "$KAFKA3_BROKERS" || { tail -30 "$RUN_DIR/kafka3/node-1/server.log" >&2; return 1; }
  set_env "KAFKA3_BROKERS=$KAFKA3_BROKERS"
  report kafka3 "$installed" "$(seconds_since "$t0")"
}

# ---------------------------------------------------------------- FerretDB (MongoDB wire protocol)
start_mongo() {
  local bin="$CACHE/bin/ferretdb-$FERRETDB_VERSION"   # in env.json too: recovery tests start a throwaway server
  if running mongo && port_open "$MONGO_PORT"; then log "mongo already running"; set_env "MONGO_URL=$MONGO_URL" "FERRETDB_BIN=$bin"; return; fi
  ensure_port_free "$MONGO_PORT" mongo
  local t0; t0=$(now)
  if [ ! -x "$bin" ]; then
    # A plain `go install` builds a binary that panics at start ("Invalid build/version/version.txt"): build from the
    # module source with that file written, as FerretDB's own build does.
    log "mongo: building FerretDB $FERRETDB_VERSION (Go; about 2-3 minutes the first time)"
    mkdir -p "$CACHE/bin" "$CACHE/logs"
    local src; src=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
      node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
    rm -rf "$CACHE/ferretdb-src" && cp -r "$src" "$CACHE/ferretdb-src" && chmod -R u+w "$CACHE/ferretdb-src"
    mkdir -p "$CACHE/ferretdb-src/build/version" && echo "$FERRETDB_VERSION" > "$CACHE/ferretdb-src/build/version/version.txt"
    (cd "$CACHE/ferretdb-src" && go build -o "$bin.tmp" ./cmd/ferretdb) >"$CACHE/logs/ferretdb-build.log" 2>&1 ||
      { tail -30 "$CACHE/logs/ferretdb-build.log" >&2; return 1; }
    mv "$bin.tmp" "$bin"
  fi
  local installed; installed=$(seconds_since "$t0"); t0=$(now)
  mkdir -p "$RUN_DIR/ferretdb"
  nohup "$bin" --handler=sqlite --state-dir="$RUN_DIR/ferretdb" --sqlite-url="file:$RUN_DIR/ferretdb/" --listen-addr="127.0.0.1:$MONGO_PORT" \
    --telemetry=disable --debug-addr=- --log-level=warn > "$RUN_DIR/mongo.log" 2>&1 9>&- &
  echo $! > "$RUN_DIR/mongo.pid"
  wait_for_port "$MONGO_PORT" 30 mongo $!
  node "$SERVICES_DIR/mongo-check.mjs" "$MONGO_URL" || { tail -30 "$RUN_DIR/mongo.log" >&2; return 1; }
  set_env "MONGO_URL=$MONGO_URL" "FERRETDB_BIN=$bin"
  report mongo "$installed" "$(seconds_since "$t0")"
}

# ---------------------------------------------------------------- MinIO (S3)
s3_arn() { # the ARN MinIO printed for its Kafka target ("SQS ARNs: arn:minio:sqs::PLATFORM:kafka")
  sed 's/\x1b\[[0-9;]*m//g' "$RUN_DIR/s3.log" | grep -o 'arn:minio:sqs:[^ ]*:kafka' | head -1
}

start_s3() {
  local bin="$CACHE/bin/minio-$MINIO_VERSION"
  if running s3 && port_open "$S3_PORT" && [ -n "$(s3_arn)" ]; then log "s3 already running"; s3_env "$(s3_arn)" "$bin"; return; fi
  ensure_port_free "$S3_PORT" s3; ensure_port_free "$S3_CONSOLE_PORT" s3
  local t0; t0=$(now)
  if [ ! -x "$bin" ]; then
    log "s3: building MinIO $MINIO_VERSION (Go; several minutes the first time)"
    mkdir -p "$CACHE/bin" "$CACHE/logs" "$CACHE/minio-build"
    GOBIN="$CACHE/minio-build" go install "github.com/minio/minio@$MINIO_VERSION" >"$CACHE/logs/minio-build.log" 2>&1 ||
      { tail -30 "$CACHE/logs/minio-build.log" >&2; return 1; }
    mv "$CACHE/minio-build/minio" "$bin"
  fi
  local installed; installed=$(seconds_since "$t0"); t0=$(now)
  mkdir -p "$RUN_DIR/minio" "$RUN_DIR/minio-queue"
  # Bucket notifications go to Kafka, queued on disk while Kafka is away. The web console is off (not needed).
  MINIO_ROOT_USER="$S3_ACCESS_KEY" MINIO_ROOT_PASSWORD="$S3_SECRET_KEY" MINIO_BROWSER=off \
  MINIO_NOTIFY_KAFKA_ENABLE_PLATFORM=on MINIO_NOTIFY_KAFKA_BROKERS_PLATFORM="$KAFKA_BROKERS" \
  MINIO_NOTIFY_KAFKA_TOPIC_PLATFORM="$S3_NOTIFY_TOPIC" MINIO_NOTIFY_KAFKA_QUEUE_DIR_PLATFORM="$RUN_DIR/minio-queue" \
    nohup "$bin" server "$RUN_DIR/minio" --address "127.0.0.1:$S3_PORT" --console-address "127.0.0.1:$S3_CONSOLE_PORT" \
    > "$RUN_DIR/s3.log" 2>&1 9>&- &
  local pid=$!
  echo $pid > "$RUN_DIR/s3.pid"
  wait_for_port "$S3_PORT" 60 s3 $pid
  local i arn=
  for ((i = 0; i < 150; i++)); do
    curl -sf "$S3_ENDPOINT/minio/health/live" >/dev/null && arn=$(s3_arn) && [ -n "$arn" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.2
  done
  [ -n "$arn" ] || { log "s3: MinIO is not live or printed no Kafka ARN (log: $RUN_DIR/s3.log)"; tail -30 "$RUN_DIR/s3.log" >&2; return 1; }
  NODE_NO_WARNINGS=1 node "$SERVICES_DIR/s3-check.mjs" "$S3_ENDPOINT" "$arn" || { tail -30 "$RUN_DIR/s3.log" >&2; return 1; }
  s3_env "$arn" "$bin"
  report s3 "$installed" "$(seconds_since "$t0")"
}

s3_env() {
  set_env "S3_ENDPOINT=$S3_ENDPOINT" "S3_ACCESS_KEY=$S3_ACCESS_KEY" "S3_SECRET_KEY=$S3_SECRET_KEY" "S3_REGION=$S3_REGION" \
    "S3_NOTIFY_TOPIC=$S3_NOTIFY_TOPIC" "S3_NOTIFY_ARN=$1" "MINIO_BIN=$2"
}

for s in pg kafka kafka3 mongo s3; do
  if [[ "$want" == *" $s "* ]]; then "start_$s"; fi
done
exit 0
