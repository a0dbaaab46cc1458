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
    # Keep-alive outlasts the load balancer's 60 s idle timeout (terraform/alb.tf): the balancer
    # must be the one to close an idle connection, or it may send a request down one uvicorn
    # is closing at that moment, and the client gets a 502.
    exec uvicorn app.main:app --host 0.0.0.0 --port 8000 --timeout-keep-alive 65 "$@" ;;
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
