"""The events bus (Redis) refused, reset, hung or slow while jobs run: SQS work never waits for
it, and events and remote control come back once it does."""

from __future__ import annotations

import time

import pytest

from tests.faults.proxy import Fault, FaultKind
from tests.servers import wait_until
from tests.worker.integration.faults.stack import FaultStack, fault_kinds

pytestmark = [pytest.mark.model, pytest.mark.slow]

FAULTS = fault_kinds(slow=Fault(FaultKind.slow, delay_s=0.5))
HOLD_S = 8.0
RECOVERY_BOUND_S = 30.0
# The worker's link retries the bus at most every 15 s (worker/monitoring/link.py).
BUS_BACK_WITHIN_S = 45.0


@pytest.mark.parametrize("kind", list(FAULTS))
def test_an_events_bus_fault_never_stops_the_work(stack: FaultStack, kind: str) -> None:
    """Jobs complete while the bus is faulty, the one running when it began included; once it
    is back, the worker's link reconnects and events and remote control resume."""
    fault, bus = FAULTS[kind], stack.proxies.bus
    back = stack.worker_log_count("is back after")
    began_at = stack.fault_at("GetObject", bus, fault)
    mid_job = stack.enqueue()
    began = began_at()
    during = stack.enqueue()
    rows = stack.completed_once([mid_job, during], healed_at=time.time(), bound=RECOVERY_BOUND_S)
    time.sleep(max(0.0, began + HOLD_S - time.monotonic()))
    bus.heal()
    healed = time.monotonic()

    after = stack.enqueue()
    rows |= stack.completed_once([after], healed_at=time.time(), bound=RECOVERY_BOUND_S)
    resumed_s = 0.0
    if kind != "slow":
        wait_until(
            lambda: stack.worker_log_count("is back after") > back,
            timeout=BUS_BACK_WITHIN_S,
            what="events and remote control to resume",
            processes=(stack.worker.process,),
        )
        resumed_s = time.monotonic() - healed
    stack.record_figure(
        f"events bus {kind} mid-job", fault=str(fault), recovered_s=resumed_s, jobs=len(rows)
    )
