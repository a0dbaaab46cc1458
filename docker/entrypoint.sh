#!/bin/sh
# One image, several process types: `api`, `worker`, `beat`, `flower`, `migrate`,
# or any other command (run as given). Nothing is prepared before the process starts: the
# models are baked in read-only and the worker has no JIT cache to seed.
set -eu

process="${1:-worker}"
[ "$#" -gt 0 ] && shift
# The image's one HEALTHCHECK (docker/healthcheck.sh) runs the check of this process type.
printf '%s\n' "$process" >/tmp/image-processor.process

case "$process" in
  api)
    exec uvicorn app.main:app --host 0.0.0.0 --port 8000 "$@" ;;
  worker)
    # Pool size and threads come from WORKER_CONCURRENCY and ORT_INTRA_OP_THREADS.
    exec celery -A worker.celery_app worker --loglevel=INFO "$@" ;;
  beat)
    # The schedule file lives on the writable /tmp: the root filesystem is read-only.
    exec celery -A worker.celery_app beat --loglevel=INFO --schedule=/tmp/celerybeat-schedule "$@" ;;
  flower)
    exec python -m worker.flower "$@" ;;
  migrate)
    exec python -m app.migrate "$@" ;;
  *)
    exec "$process" "$@" ;;
esac
