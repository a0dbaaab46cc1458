"""The events bus choice of the embedded stack, against real servers: the suite's Redis is used
where it answers; anywhere else the embedded valkey-server starts, serves what kombu needs, and
stops by PID with the supervisor."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import psutil
import pytest

from devtools.embedded_stack import bus_check
from devtools.embedded_stack.events_bus import (
    EVENTS_BUS_DB,
    events_bus_url,
    redis_answers,
    start_events_bus,
)
from devtools.embedded_stack.processes import Supervisor
from tests import servers

SUITE_REDIS_PORT = int(servers.REDIS_URL.rsplit(":", 1)[1].split("/")[0])


def test_a_redis_that_answers_is_the_bus() -> None:
    assert redis_answers(SUITE_REDIS_PORT), "the suite's Redis: `make services` starts it"
    assert events_bus_url(SUITE_REDIS_PORT) == (
        f"redis://127.0.0.1:{SUITE_REDIS_PORT}/{EVENTS_BUS_DB}"
    )


def test_an_open_port_that_is_not_redis_is_not_taken_for_one() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not redis_answers(port)
        assert not events_bus_url(port).startswith(f"redis://127.0.0.1:{port}/")


def test_nothing_is_started_where_a_redis_answers(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path / "logs", env={})
    assert not start_events_bus(supervisor, events_bus_url(SUITE_REDIS_PORT), tmp_path / "bus")
    assert supervisor.processes == {}


def test_the_embedded_server_starts_on_the_chosen_port_and_stops_by_pid(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path / "logs", env={})
    url = events_bus_url(servers.free_port())
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    try:
        assert start_events_bus(supervisor, url, tmp_path / "bus")
        server = supervisor.processes["events-bus"]
        assert redis_answers(port)
        assert psutil.Process(server.pid).name() == "valkey-server"
    finally:
        supervisor.stop_all()
    assert server.poll() is not None
    assert not redis_answers(port)
    assert list((tmp_path / "bus").iterdir()) == []  # persistence off: nothing written


def test_the_embedded_server_does_what_kombus_redis_transport_needs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert bus_check.main(["--starts", "3"]) == 0
    measured = json.loads(capsys.readouterr().out)
    assert measured["version"].startswith("Valkey server")
    checks = ("pubsub", "brpop", "kombu_fanout_and_direct")
    assert {check: measured[check] for check in checks} == dict.fromkeys(checks, True)
