"""bench-e2e's delaying proxy (devtools/latency_proxy.py): one delay per request however many
chunks its response has, a per-connection rate, and boto3's S3 and SQS calls through it."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from devtools.latency_proxy import Latency, LatencyProxy

DELAY_S = 0.2
SLACK_S = 0.15  # thread start-up and loopback on a busy 2-core machine


class _Sized(BaseHTTPRequestHandler):
    """GET /<n>: n bytes back; PUT: the body read, its length back. Keep-alive (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer(b"x" * int(self.path.strip("/")))

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(str(len(body)).encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def origin_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sized)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _timed(connection: http.client.HTTPConnection, method: str, path: str, body=None):
    started = time.monotonic()
    connection.request(method, path, body=body)
    data = connection.getresponse().read()
    return time.monotonic() - started, data


def test_each_request_waits_once_on_a_kept_alive_connection(origin_port: int) -> None:
    with LatencyProxy(origin_port, Latency(delay_s=DELAY_S)) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        # 4 MB arrive in dozens of chunks: the delay is the first byte's, not each chunk's.
        timings = [_timed(connection, "GET", f"/{size}") for size in (10, 4_000_000, 10)]
        connection.close()
    for elapsed, _ in timings:
        assert DELAY_S <= elapsed < DELAY_S + SLACK_S
    assert len(timings[1][1]) == 4_000_000
    assert proxy.requests == 3


def test_bytes_are_paced_both_ways(origin_port: int) -> None:
    rate = 4_000_000  # bytes per second
    with LatencyProxy(origin_port, Latency(delay_s=0.0, bytes_per_s=rate)) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        down, data = _timed(connection, "GET", "/2000000")
        up, answer = _timed(connection, "PUT", "/", body=b"y" * 1_000_000)
        connection.close()
    assert len(data) == 2_000_000
    assert answer == b"1000000"
    assert 0.5 <= down < 0.5 + SLACK_S
    assert 0.25 <= up < 0.25 + SLACK_S


def test_boto3_s3_and_sqs_through_the_proxies(moto_endpoint: str) -> None:
    moto_port = int(moto_endpoint.rsplit(":", 1)[1])
    latency = Latency(delay_s=DELAY_S, bytes_per_s=85e6)
    with LatencyProxy(moto_port, latency) as s3_proxy, LatencyProxy(moto_port, latency) as sqs:
        s3 = boto3.client("s3", endpoint_url=s3_proxy.url, region_name="us-east-1")
        s3.create_bucket(Bucket="latency-proxy")
        photo = bytes(range(256)) * 4096  # 1 MB, a PUT with Expect: 100-continue
        started = time.monotonic()
        s3.put_object(Bucket="latency-proxy", Key="photo.jpg", Body=photo)
        put_s = time.monotonic() - started
        assert s3.get_object(Bucket="latency-proxy", Key="photo.jpg")["Body"].read() == photo
        assert DELAY_S <= put_s < DELAY_S + SLACK_S  # one wait, 100 Continue or not
        assert s3_proxy.requests == 3

        client = boto3.client("sqs", endpoint_url=sqs.url, region_name="us-east-1")
        queue_url = client.create_queue(QueueName="latency-proxy")["QueueUrl"]
        assert queue_url.startswith(sqs.url)  # kombu follows the URL: it stays proxied
        client.send_message(QueueUrl=queue_url, MessageBody="job")
        # A long poll on an empty queue waits moto's second, then the proxy's delay once.
        client.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)  # takes the message
        started = time.monotonic()
        empty = client.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)
        assert "Messages" not in empty
        assert 1 + DELAY_S <= time.monotonic() - started < 1 + DELAY_S + SLACK_S
        assert sqs.requests == 4
