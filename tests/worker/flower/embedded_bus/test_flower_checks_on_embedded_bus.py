"""The existing Flower checks, run again with the fleet on the embedded valkey-server
(conftest.py): the worker and its tasks in Flower's API and in headless Chromium, the CLI's
inspect and control over the bus, and Flower's authentication."""

from __future__ import annotations

import pytest
import redis

from tests.worker.flower.fleet import Fleet
from tests.worker.flower.test_dashboard_browser import (
    test_dashboard_shows_the_live_worker_and_its_tasks,
)
from tests.worker.flower.test_fleet_in_flower import (
    test_flower_lists_the_worker_online_and_each_task_with_its_final_state,
    test_inspect_ping_from_the_cli_answers_over_the_bus,
    test_pool_grow_and_shrink_change_the_pool,
    test_queue_and_dlq_depths_are_on_metrics_and_the_broker_api,
    test_rate_limit_reaches_the_worker,
)
from tests.worker.flower.test_flower_auth import (
    test_a_browser_is_asked_for_basic_auth_and_the_credentials_open_the_dashboard,
    test_every_route_demands_credentials,
)

pytestmark = pytest.mark.slow

__all__ = [
    "test_a_browser_is_asked_for_basic_auth_and_the_credentials_open_the_dashboard",
    "test_dashboard_shows_the_live_worker_and_its_tasks",
    "test_every_route_demands_credentials",
    "test_flower_lists_the_worker_online_and_each_task_with_its_final_state",
    "test_inspect_ping_from_the_cli_answers_over_the_bus",
    "test_pool_grow_and_shrink_change_the_pool",
    "test_queue_and_dlq_depths_are_on_metrics_and_the_broker_api",
    "test_rate_limit_reaches_the_worker",
]


def test_the_fleet_talks_over_the_embedded_server(fleet: Fleet, embedded_bus_port: int) -> None:
    """The worker's and Flower's connections are on the embedded server's port."""
    bus = redis.Redis(port=embedded_bus_port, socket_connect_timeout=2, socket_timeout=2)
    clients = bus.client_list()
    bus.close()
    assert len(clients) >= 3, clients  # this client, the worker's and Flower's at least
    assert fleet.env["EVENTS_BROKER_URL"].startswith(f"redis://127.0.0.1:{embedded_bus_port}/")
