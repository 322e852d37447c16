#!/usr/bin/env bash
# Stops exactly the servers up.sh started from this checkout (by their pid files under .services/) and removes
# their keys from .services/env.json and env.sh. Data stays in .services/ (delete it for a clean slate).
# Usage: down.sh [pg] [kafka] [kafka3] [mongo] [s3]   (no argument: all)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

want=" $* "
[ -z "${*// /}" ] && want=" pg kafka kafka3 mongo s3 "

exec 9>"$RUN_DIR/.lock"
flock 9

stop() { # name seconds-before-SIGKILL
  if running "$1"; then
    local pid; pid=$(cat "$RUN_DIR/$1.pid")
    if [ "$1" = pg ]; then
      runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$RUN_DIR/pg" -m fast -w -t 30 stop >/dev/null || kill "$pid" 2>/dev/null || true
    else
      kill "$pid" 2>/dev/null || true
    fi
    local i
    for ((i = 0; i < $2 * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "$1 did not stop within $2 s: SIGKILL"; kill -9 "$pid" 2>/dev/null || true; sleep 0.2; fi
    log "$1 stopped"
  fi
  rm -f "$RUN_DIR/$1.pid"
}

# Reverse order of up.sh: MinIO first (it writes to Kafka), PostgreSQL last.
if [[ "$want" == *" s3 "* ]]; then
  stop s3 10
  set_env S3_ENDPOINT= S3_ACCESS_KEY= S3_SECRET_KEY= S3_REGION= S3_NOTIFY_ARN= S3_NOTIFY_TOPIC= MINIO_BIN=
fi
if [[ "$want" == *" mongo "* ]]; then stop mongo 10; set_env MONGO_URL= FERRETDB_BIN=; fi
if [[ "$want" == *" kafka3 "* ]]; then
  # In parallel: a node shutting down alone waits for the quorum, which the others leaving one by one would lose.
  for n in $KAFKA3_NODES; do stop "kafka3-$n" 30 & done; wait
  set_env KAFKA3_BROKERS=
fi
if [[ "$want" == *" kafka "* ]]; then stop kafka 30; set_env KAFKA_BROKERS=; fi
if [[ "$want" == *" pg "* ]]; then stop pg 30; set_env PG_URL=; fi
exit 0
