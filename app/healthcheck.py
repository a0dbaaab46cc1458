"""Is this API alive? `python -m app.healthcheck`: the container health check of the api.

Asks the running server's `/health` on loopback, which answers without any I/O. Liveness, not
readiness: a database failover of a few minutes would otherwise fail the check of every API
task at once and have ECS replace them all, which cannot help. Readiness (`/health/ready`) is
the load balancer's check, which takes a task out of rotation instead, and the alarms'.
Exit 0 when alive, 1 otherwise, with one line saying why.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

LIVENESS_URL = "http://127.0.0.1:8000/health"
TIMEOUT_SECONDS = 4


def main() -> int:
    try:
        with urllib.request.urlopen(LIVENESS_URL, timeout=TIMEOUT_SECONDS) as response:
            print(f"alive: {response.read().decode()}")
            return 0
    except urllib.error.HTTPError as error:
        print(f"not alive: HTTP {error.code} {error.read().decode()[:300]}")
    except OSError as error:
        print(f"not alive: {type(error).__name__}: {error}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
