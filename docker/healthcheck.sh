#!/bin/sh
# The images' HEALTHCHECK: one image runs several process types, so the check is the one of
# the process the entrypoint started (it writes its name to /tmp/image-processor.process).
# ECS task definitions and compose name the same modules directly.
process=$(cat /tmp/image-processor.process 2>/dev/null || echo unknown)
case "$process" in
  api) exec python -m app.healthcheck ;;
  worker) exec python -m worker.healthcheck ;;
  beat) exec python -m worker.beat_healthcheck ;;
  flower) exec python -m worker.monitoring.flower_healthcheck ;;
  *) echo "no health check for process type '$process'"; exit 0 ;;
esac
