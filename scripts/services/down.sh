#!/usr/bin/env bash
# Stops exactly the servers up.sh started from this checkout (by their pid files), and forgets their URLs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

stop() { # name env-key
  if running "$1"; then
    local pid; pid=$(cat "$RUN_DIR/$1.pid")
    if [ "$1" = pg ]; then runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$RUN_DIR/pg" -m fast -w stop >/dev/null || kill "$pid"
    else kill "$pid"; for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; kill -9 "$pid" 2>/dev/null || true; fi
    log "$1 stopped"
  fi
  rm -f "$RUN_DIR/$1.pid"
  set_env "$2="
}

stop s3 S3_ENDPOINT
set_env S3_ACCESS_KEY= S3_SECRET_KEY= S3_REGION= S3_NOTIFY_ARN= S3_NOTIFY_TOPIC=
stop mongo MONGO_URL
stop kafka KAFKA_BROKERS
stop pg PG_URL
