"""Is this API ready? `python -m app.healthcheck`: the container health check of the api.

Asks the running server's `/health/ready` on loopback, which answers 200 only while the
database does. Exit 0 when ready, 1 otherwise, with one line saying why (no secrets: the
route reports an error type and a short message, never a URL).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

READY_URL = "http://127.0.0.1:8000/health/ready"
TIMEOUT_SECONDS = 4


def main() -> int:
    try:
        with urllib.request.urlopen(READY_URL, timeout=TIMEOUT_SECONDS) as response:
            print(f"ready: {response.read().decode()}")
            return 0
    except urllib.error.HTTPError as error:
        print(f"not ready: HTTP {error.code} {error.read().decode()[:300]}")
    except OSError as error:
        print(f"not ready: {type(error).__name__}: {error}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
