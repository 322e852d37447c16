#!/usr/bin/env bash
# Installs (first time, cached) and starts real servers on 127.0.0.1 for integration tests and benchmarks:
#   pg     PostgreSQL 15 (Debian package), port 55432
#   kafka  Apache Kafka in KRaft mode (jars from Maven Central), port 59092
#   mongo  FerretDB v1 (MongoDB wire protocol, SQLite storage; built with Go from the module proxy), port 57017
#   s3     MinIO (S3 API; `go install` from the module proxy), port 59000, bucket events to Kafka topic s3-events
# Usage: up.sh [pg] [kafka] [mongo] [s3]   (no argument: all). Idempotent: a running service is left alone.
# Writes the URLs to .services/env.json and .services/env.sh (see tests/services.ts).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

exec 9>"$RUN_DIR/.lock"
flock 9   # concurrent callers wait; the first one starts what is missing

services=("$@")
[ ${#services[@]} -eq 0 ] && services=(pg kafka mongo s3)

start_pg() {
  if running pg && port_open 55432; then log "pg already running"; set_env "PG_URL=postgres://platform:platform@127.0.0.1:55432/platform"; return; fi
  local t0; t0=$(date +%s)
  if [ ! -x "$PG_BIN/initdb" ]; then
    log "installing PostgreSQL 15 (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  fi
  id postgres >/dev/null 2>&1 || useradd --system --home "$RUN_DIR" postgres
  local data="$RUN_DIR/pg"
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data"; mkdir -p "$data"; chown postgres "$data"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$data" -A trust -U postgres --no-sync >/dev/null
    cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = 55432
unix_socket_directories = '$data'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
  fi
  local installed; installed=$(seconds_since "$t0"); t0=$(date +%s)
  touch "$RUN_DIR/pg.log" && chown postgres "$RUN_DIR/pg.log"
  # 9>&-: the server must not inherit the lock, or it would hold it for its whole life.
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -l "$RUN_DIR/pg.log" -w -t 60 start >/dev/null 9>&-
  head -1 "$data/postmaster.pid" > "$RUN_DIR/pg.pid"
  "$PG_BIN/psql" -h "$data" -p 55432 -U postgres -d postgres -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'platform'" | grep -q 1 ||
    "$PG_BIN/psql" -h "$data" -p 55432 -U postgres -d postgres -qc "CREATE ROLE platform LOGIN SUPERUSER PASSWORD 'platform'"
  "$PG_BIN/psql" -h "$data" -p 55432 -U postgres -d postgres -qtAc "SELECT 1 FROM pg_database WHERE datname = 'platform'" | grep -q 1 ||
    "$PG_BIN/psql" -h "$data" -p 55432 -U postgres -d postgres -qc "CREATE DATABASE platform OWNER platform"
  # Password authentication over TCP from now on (the URL carries it, as a real deployment would).
  sed -i 's/^host\(.*\)trust$/host\1scram-sha-256/' "$data/pg_hba.conf"
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" reload >/dev/null 9>&-
  set_env "PG_URL=postgres://platform:platform@127.0.0.1:55432/platform"
  log "pg up: install ${installed}s, start $(seconds_since "$t0")s"
}

start_kafka() {
  if running kafka && port_open 59092; then log "kafka already running"; set_env "KAFKA_BROKERS=127.0.0.1:59092"; return; fi
  local t0; t0=$(date +%s)
  local lib="$CACHE/kafka-$KAFKA_VERSION/lib"
  if [ ! -f "$lib/.complete" ]; then
    log "downloading Kafka $KAFKA_VERSION jars (Maven)"
    mkdir -p "$lib"
    mvn -q -B -f "$(dirname "$0")/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies -DoutputDirectory="$lib" >&2
    touch "$lib/.complete"
  fi
  local installed; installed=$(seconds_since "$t0"); t0=$(date +%s)
  local dir="$RUN_DIR/kafka"
  mkdir -p "$dir"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:59093
listeners=PLAINTEXT://127.0.0.1:59092,CONTROLLER://127.0.0.1:59093
advertised.listeners=PLAINTEXT://127.0.0.1:59092
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.flush.interval.messages=9223372036854775807
PROPS
  local java=(java -Xms256m -Xmx768m -XX:+UseG1GC -Dkafka.logs.dir="$dir" -Dlog4j2.configurationFile="$(dirname "$0")/kafka/log4j2.properties" -cp "$lib/*")
  if [ ! -f "$dir/data/meta.properties" ]; then
    "${java[@]}" kafka.tools.StorageTool format -t "$("${java[@]}" kafka.tools.StorageTool random-uuid)" -c "$dir/server.properties" >/dev/null
  fi
  nohup "${java[@]}" kafka.Kafka "$dir/server.properties" > "$RUN_DIR/kafka.log" 2>&1 9>&- &
  echo $! > "$RUN_DIR/kafka.pid"
  wait_port 59092 90 kafka
  node "$(dirname "$0")/kafka-check.mjs" 127.0.0.1:59092 >&2
  set_env "KAFKA_BROKERS=127.0.0.1:59092"
  log "kafka up: install ${installed}s, start $(seconds_since "$t0")s"
}

start_mongo() {
  if running mongo && port_open 57017; then log "mongo already running"; set_env "MONGO_URL=mongodb://127.0.0.1:57017/"; return; fi
  local t0; t0=$(date +%s)
  local bin="$CACHE/bin/ferretdb-$FERRETDB_VERSION"
  if [ ! -x "$bin" ]; then
    # A plain `go install` panics at start ("Invalid build/version/version.txt"): build from the module source
    # with that file written, as FerretDB's own build does.
    log "building FerretDB $FERRETDB_VERSION (Go, a few minutes the first time)"
    local src; src=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Dir))')
    rm -rf "$CACHE/ferretdb-src" && cp -r "$src" "$CACHE/ferretdb-src" && chmod -R u+w "$CACHE/ferretdb-src"
    mkdir -p "$CACHE/ferretdb-src/build/version" && echo "$FERRETDB_VERSION" > "$CACHE/ferretdb-src/build/version/version.txt"
    (cd "$CACHE/ferretdb-src" && go build -o "$bin" ./cmd/ferretdb)
  fi
  local installed; installed=$(seconds_since "$t0"); t0=$(date +%s)
  mkdir -p "$RUN_DIR/ferretdb"
  nohup "$bin" --handler=sqlite --sqlite-url="file:$RUN_DIR/ferretdb/" --listen-addr=127.0.0.1:57017 --telemetry=disable \
    --debug-addr=- --log-level=warn > "$RUN_DIR/mongo.log" 2>&1 9>&- &
  echo $! > "$RUN_DIR/mongo.pid"
  wait_port 57017 30 mongo
  set_env "MONGO_URL=mongodb://127.0.0.1:57017/"
  log "mongo up: install ${installed}s, start $(seconds_since "$t0")s"
}

start_s3() {
  if running s3 && port_open 59000; then log "s3 already running"; s3_env; return; fi
  local t0; t0=$(date +%s)
  local bin="$CACHE/bin/minio-$MINIO_VERSION"
  if [ ! -x "$bin" ]; then
    log "building MinIO (Go, several minutes the first time)"
    mkdir -p "$CACHE/minio-build"
    GOBIN="$CACHE/minio-build" go install "github.com/minio/minio@$MINIO_VERSION"
    mv "$CACHE/minio-build/minio" "$bin"
  fi
  local installed; installed=$(seconds_since "$t0"); t0=$(date +%s)
  mkdir -p "$RUN_DIR/minio" "$RUN_DIR/minio-queue"
  # Bucket notifications go to Kafka (when it runs), queued on disk while Kafka is away.
  MINIO_ROOT_USER=platformadmin MINIO_ROOT_PASSWORD=platformsecret MINIO_BROWSER=off \
  MINIO_NOTIFY_KAFKA_ENABLE_PLATFORM=on MINIO_NOTIFY_KAFKA_BROKERS_PLATFORM=127.0.0.1:59092 \
  MINIO_NOTIFY_KAFKA_TOPIC_PLATFORM=s3-events MINIO_NOTIFY_KAFKA_QUEUE_DIR_PLATFORM="$RUN_DIR/minio-queue" \
    nohup "$bin" server "$RUN_DIR/minio" --address 127.0.0.1:59000 --console-address 127.0.0.1:59001 --quiet > "$RUN_DIR/s3.log" 2>&1 9>&- &
  echo $! > "$RUN_DIR/s3.pid"
  wait_port 59000 60 s3
  local i; for ((i = 0; i < 100; i++)); do curl -sf http://127.0.0.1:59000/minio/health/live >/dev/null && break; sleep 0.2; done
  s3_env
  log "s3 up: install ${installed}s, start $(seconds_since "$t0")s"
}

s3_env() {
  set_env "S3_ENDPOINT=http://127.0.0.1:59000" "S3_ACCESS_KEY=platformadmin" "S3_SECRET_KEY=platformsecret" "S3_REGION=us-east-1" \
    "S3_NOTIFY_ARN=arn:minio:sqs::PLATFORM:kafka" "S3_NOTIFY_TOPIC=s3-events"
}

for service in "${services[@]}"; do
  case "$service" in
    pg) start_pg ;;
    kafka) start_kafka ;;
    mongo) start_mongo ;;
    s3) start_s3 ;;
    *) log "unknown service $service (known: pg kafka mongo s3)"; exit 2 ;;
  esac
done
