#!/usr/bin/env bash
# The CRM for development: Django's runserver together with a Celery worker and beat on the
# embedded broker (no Redis needed). Ctrl-C stops all of them within a few seconds; so does either
# one ending. Called by `make run`, which migrates and seeds first.
#
# Each program runs in a process group of its own (setsid), so that the terminal's Ctrl-C reaches
# only this script, which then stops each group as a whole (runserver's reloaded child, the
# worker's pool processes and its embedded beat included). The worker gets SIGQUIT, Celery's cold
# shutdown: a warm shutdown (SIGINT or SIGTERM) waits for the embedded beat and every running task
# and took 90 s and more, ignoring a second SIGTERM. Cutting tasks short is safe here: they are
# idempotent and beat resumes what was cut off (imports, the outbox, campaign sends).
set -euo pipefail
cd "$(dirname "$0")/.."
address=${ADDRESS:-127.0.0.1:8000}
export DEBUG=${DEBUG:-1}
grace_tenths=${STOP_GRACE_TENTHS:-50}  # after this (5 s), whatever still runs is killed

worker='' server=''
stop() {
  trap - INT TERM EXIT
  local groups=($worker $server)
  if [[ -n $worker ]]; then kill -QUIT -- "-$worker" 2>/dev/null || true; fi
  if [[ -n $server ]]; then kill -TERM -- "-$server" 2>/dev/null || true; fi
  for ((tenth = 0; tenth < grace_tenths; tenth++)); do
    alive=0
    for group in "${groups[@]}"; do
      if kill -0 -- "-$group" 2>/dev/null; then alive=1; fi
    done
    if ((alive == 0)); then return 0; fi
    sleep 0.1
  done
  for group in "${groups[@]}"; do kill -KILL -- "-$group" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

# Metrics (crm.metrics) are counted per machine in files of the running processes: a new run starts at zero.
metrics_dir=${PROMETHEUS_MULTIPROC_DIR:-${CRM_VAR_DIR:-var}/prometheus}
mkdir -p "$metrics_dir" && rm -f -- "$metrics_dir"/*.db

# setsid without a fork (a background job is no group leader): $! is the program and its group.
setsid .venv/bin/celery -A crm worker --beat --loglevel=info --concurrency=2 --without-heartbeat --without-gossip --without-mingle &
worker=$!
setsid .venv/bin/python manage.py runserver "$address" &
server=$!
wait -n
