#!/bin/sh
# One image, several process types: `api`, `worker`, `beat`, `flower`, `migrate`,
# or any other command (run as given).
#
# Numba keys its on-disk cache by the source file's path and modification time and by the
# CPU it compiled for (NUMBA_CPU_NAME=generic makes the last one portable). The image warms
# the cache at build into the read-only /opt/numba-cache, next to the very files it was
# compiled from; NUMBA_CACHE_DIR must be writable (it may be a fresh, empty /tmp volume
# under a read-only root filesystem), so the warm cache is copied there before start, and
# made writable: `cp` keeps the read-only modes of the source, and numba refuses a cache
# folder it cannot write ("cannot cache function ...: no locator available"), which would
# fail every pool process's model loading.
set -eu

: "${NUMBA_CACHE_DIR:=/tmp/numba}"
if [ -d /opt/numba-cache ] && [ ! -e "$NUMBA_CACHE_DIR/.seeded" ]; then
  mkdir -p "$NUMBA_CACHE_DIR"
  cp -R /opt/numba-cache/. "$NUMBA_CACHE_DIR/"
  chmod -R u+w "$NUMBA_CACHE_DIR"
  touch "$NUMBA_CACHE_DIR/.seeded"
fi

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
