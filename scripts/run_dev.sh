#!/usr/bin/env bash
# The CRM for development: Django's runserver together with a Celery worker and beat on the
# embedded broker (no Redis needed). Ctrl-C stops all of them; so does either one ending.
# Called by `make run`, which migrates and seeds first.
set -euo pipefail
cd "$(dirname "$0")/.."
address=${ADDRESS:-127.0.0.1:8000}
export DEBUG=${DEBUG:-1}

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

.venv/bin/celery -A crm worker --beat --loglevel=info --concurrency=2 &
pids+=($!)
.venv/bin/python manage.py runserver "$address" &
pids+=($!)
wait -n
