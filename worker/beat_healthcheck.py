"""Is beat ticking? `python -m worker.beat_healthcheck` (the beat container's health check).

Beat keeps its schedule in a shelve file on /tmp (docker/entrypoint.sh) and writes it at
start and then at least every three minutes (Celery's sync interval) while its loop runs.
A file not written for ten minutes means a beat that is hung or gone, and beat is a
singleton: nothing else would publish the sweeps.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

SCHEDULE_FILE = Path("/tmp/celerybeat-schedule")  # noqa: S108 - the entrypoint's --schedule
STALE_AFTER_S = 600


def check(schedule: Path = SCHEDULE_FILE, *, now: float | None = None) -> tuple[bool, str]:
    # shelve may add a suffix (.db, .dat, ...) depending on the dbm module in use.
    files = list(schedule.parent.glob(f"{schedule.name}*"))
    if not files:
        return False, f"not ticking: no {schedule}*"
    age = (now or time.time()) - max(path.stat().st_mtime for path in files)
    if age > STALE_AFTER_S:
        return False, f"not ticking: the schedule was last written {age:.0f} s ago"
    return True, f"ticking: the schedule was written {age:.0f} s ago"


def main() -> int:
    healthy, message = check()
    print(message)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
