"""Is Flower serving? `python -m worker.monitoring.flower_healthcheck` (its container check).

Every Flower route answers 401 without credentials, `/healthcheck` included
(worker/monitoring/flower_web.py), so a bare probe would call every healthy Flower
unhealthy. This check runs inside the container, where FLOWER_BASIC_AUTH is already in
the environment (from Secrets Manager on ECS), and sends it: the dashboard stays closed
to anyone without the credentials, and no secret appears in the health-check command.
"""

from __future__ import annotations

import base64
import sys
import urllib.error
import urllib.request

from app.settings import get_settings
from worker.monitoring.flower_web import parse_basic_auth

TIMEOUT_SECONDS = 4


def main() -> int:
    settings = get_settings()
    if settings.flower_basic_auth is None:
        print("unhealthy: FLOWER_BASIC_AUTH is not set")
        return 1
    user_password = parse_basic_auth(settings.flower_basic_auth.get_secret_value())[0]
    request = urllib.request.Request(
        f"http://127.0.0.1:{settings.flower_port}/healthcheck",
        headers={"Authorization": "Basic " + base64.b64encode(user_password.encode()).decode()},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read().decode()
    except urllib.error.HTTPError as error:
        print(f"unhealthy: HTTP {error.code}")
        return 1
    except OSError as error:
        print(f"unhealthy: {type(error).__name__}: {error}")
        return 1
    print(f"healthy: {body}")
    return 0 if body == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
