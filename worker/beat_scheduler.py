"""Beat runs its sweeps itself: nothing it schedules ever lands on the work queue.

The autoscaler starts a worker task whenever the work queue holds a message. A sweep published
there every minute would start one at zero workers, which would then idle until scale-in, and
the fleet would never stay at zero. So each due entry runs here, in beat's own process, through
Celery's `Task.apply` (the task's own code, its logging and its failure handling); only what a
sweep republishes, a job that really needs a worker, reaches the queue.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.beat import PersistentScheduler, ScheduleEntry

log = logging.getLogger(__name__)


class InProcessScheduler(PersistentScheduler):
    """celery's PersistentScheduler (the schedule file the health check reads), run locally."""

    def apply_async(
        self, entry: ScheduleEntry, producer: Any = None, advance: bool = True, **_: Any
    ) -> Any:
        entry = self.reserve(entry) if advance else entry
        try:
            result = self.app.tasks[entry.task].apply(entry.args, entry.kwargs)
        finally:
            self._tasks_since_sync += 1
            if self.should_sync():
                self._do_sync()
        if result.failed():
            # A failed sweep must not stop beat: the next tick tries again.
            log.error("%s failed: %r", entry.task, result.result, exc_info=result.result)
        else:
            log.info("%s ran in beat: %s", entry.task, result.result)
        return result
