"""The fault proxy does what the fault tests rely on: each fault is what a real client meets."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from tests.faults.http_requests import operation_is
from tests.faults.proxy import Fault, FaultKind, FaultProxy
from tests.servers import POSTGRES_ADMIN_URL, REDIS_URL

QUICK = Config(connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 1})


@pytest.fixture
def aws(moto_endpoint: str) -> Iterator[tuple[FaultProxy, Any, Any]]:
    """A proxy in front of moto_server, an S3 client and an SQS client through it."""
    proxy = FaultProxy(int(moto_endpoint.rsplit(":", 1)[1]), name="aws", http=True).start()
    s3 = boto3.client("s3", endpoint_url=proxy.url, region_name="us-east-1", config=QUICK)
    sqs = boto3.client("sqs", endpoint_url=proxy.url, region_name="us-east-1", config=QUICK)
    s3.create_bucket(Bucket="proxy-checks")
    s3.put_object(Bucket="proxy-checks", Key="a/photo", Body=b"x" * 300_000)
    yield proxy, s3, sqs
    proxy.stop()


def _get(s3: Any) -> bytes:
    return bytes(s3.get_object(Bucket="proxy-checks", Key="a/photo")["Body"].read())


# A reset: the proxy accepts and resets. Mostly the RST meets the request (ConnectionClosedError);
# on a loaded machine it can land before the client's connect() has returned, which botocore
# reports as a failed connection (EndpointConnectionError; CI met it once). Either is the reset.
RESET_ERRORS = (ConnectionClosedError, EndpointConnectionError)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(FaultKind.refuse), EndpointConnectionError),
        (Fault(FaultKind.reset), RESET_ERRORS),
        (Fault(FaultKind.hang), ReadTimeoutError),
        (Fault(FaultKind.http_error, status=503), ClientError),
    ],
    ids=["refused", "reset", "hung", "5xx"],
)
def test_each_fault_is_what_an_aws_client_meets_and_healing_ends_it(
    aws: tuple[FaultProxy, Any, Any],
    fault: Fault,
    error: type[Exception] | tuple[type[Exception], ...],
) -> None:
    """The client's pooled connection meets the fault first (refused: it is reset), a new
    connection next."""
    proxy, s3, _sqs = aws
    assert len(_get(s3)) == 300_000
    with proxy.injected(fault):
        with pytest.raises((*_tuple(error), ConnectionClosedError)):
            _get(s3)
        with pytest.raises(error):
            _get(s3)
    assert len(_get(s3)) == 300_000


def _tuple(error: type[Exception] | tuple[type[Exception], ...]) -> tuple[type[Exception], ...]:
    return error if isinstance(error, tuple) else (error,)


def test_a_fault_can_hit_one_operation_and_begin_at_a_chosen_request(
    aws: tuple[FaultProxy, Any, Any],
) -> None:
    proxy, s3, sqs = aws
    queue = sqs.create_queue(QueueName="proxy-checks")["QueueUrl"]
    proxy.when(
        operation_is("SendMessage"),
        lambda _request: proxy.inject(Fault(FaultKind.http_error, match=operation_is("GetObject"))),
    )
    assert len(_get(s3)) == 300_000  # before the trigger: forwarded
    sqs.send_message(QueueUrl=queue, MessageBody="trigger")  # the trigger; not itself faulted
    with pytest.raises(ClientError, match="InternalError"):
        _get(s3)
    assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])  # still forwarded
    assert [entry for _, entry in proxy.log if "GetObject" in entry][-1] == "http_error GetObject"


def test_slow_adds_latency_and_limits_bandwidth(aws: tuple[FaultProxy, Any, Any]) -> None:
    proxy, s3, _sqs = aws
    with proxy.injected(Fault(FaultKind.slow, delay_s=0.5, bytes_per_s=300_000)):
        started = time.monotonic()
        assert len(_get(s3)) == 300_000
    assert time.monotonic() - started >= 1.4  # 0.5 s, then 300 kB at 300 kB/s


def _ping(sock: socket.socket) -> bytes:
    """A Redis PING on a raw connection: what comes back within a second, or nothing."""
    sock.sendall(b"PING\r\n")
    try:
        return sock.recv(64)
    except TimeoutError:
        return b""


def test_a_hung_connection_stays_silent_after_the_fault_is_healed() -> None:
    """Open connections go silent for good, as half-open ones do: only new ones work again."""
    proxy = FaultProxy(int(REDIS_URL.rsplit(":", 1)[1]), name="bus").start()
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=1) as old:
            assert _ping(old) == b"+PONG\r\n"
            proxy.inject(Fault(FaultKind.hang))
            assert _ping(old) == b""
            proxy.heal()
            assert _ping(old) == b""  # still silent
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=1) as new:
                assert _ping(new) == b"+PONG\r\n"
    finally:
        proxy.stop()


def test_postgres_faults_reach_psycopg() -> None:
    base, database = POSTGRES_ADMIN_URL.rsplit("/", 1)
    proxy = FaultProxy(5432, name="postgres").start()
    url = f"{base.rsplit(':', 1)[0]}:{proxy.port}/{database}"
    try:
        # Closed, not left to `with`: its exit commits, and on a connection the fault cut
        # mid-query psycopg may still count the query as running ("another command is
        # already in progress"), which failed this test once in CI.
        connection = psycopg.connect(url, connect_timeout=2)
        try:
            assert connection.execute("SELECT 1").fetchone() == (1,)
            proxy.inject(Fault(FaultKind.refuse))
            with pytest.raises(psycopg.OperationalError):
                connection.execute("SELECT 1")
        finally:
            connection.close()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=2)
        proxy.inject(Fault(FaultKind.hang))
        started = time.monotonic()
        with pytest.raises(psycopg.errors.ConnectionTimeout):
            psycopg.connect(url, connect_timeout=2)
        assert time.monotonic() - started < 5
        proxy.heal()
        with psycopg.connect(url, connect_timeout=2) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
    finally:
        proxy.stop()
