"""Flower's web application for this fleet: every route authenticated, SQS where Flower reads Redis.

Flower leaves /metrics, /healthcheck, /static, /login and its 404 page open
even with --basic-auth; `AuthenticatedFlower.find_handler` (tornado's routing
hook) answers 401 to any request without valid credentials before a route is
chosen. Its Broker tab and /api/queues/length would read the events bus's
Redis lists; here they show the SQS queue and its DLQ. Its task-sending API
would publish to the bus, where no worker listens: it answers 403.
"""

from __future__ import annotations

import binascii
import hmac
import logging
from base64 import b64decode
from typing import Any

import tornado.web
from flower.api.tasks import GetQueueLengths
from flower.app import Flower
from flower.views.broker import BrokerView

from worker.monitoring.queue_depths import QueueDepthMonitor

log = logging.getLogger(__name__)

REALM = "image-processor flower"


def parse_basic_auth(value: str) -> list[str]:
    """FLOWER_BASIC_AUTH, "user:password[,user:password]", as Flower's list; refuses blanks."""
    credentials = [item.strip() for item in value.split(",") if item.strip()]
    for item in credentials:
        user, _, password = item.partition(":")
        if not user or not password:
            raise ValueError("FLOWER_BASIC_AUTH must be user:password[,user:password]")
    if not credentials:
        raise ValueError("FLOWER_BASIC_AUTH names no user")
    return credentials


def credentials_match(authorization: str, credentials: list[str]) -> bool:
    scheme, _, encoded = authorization.partition(" ")
    if scheme != "Basic" or not encoded:
        return False
    try:
        given = b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    # Compare against every entry, so the time taken does not tell which matched.
    matches = [hmac.compare_digest(given.encode(), stored.encode()) for stored in credentials]
    return any(matches)


class Unauthorized(tornado.web.RequestHandler):
    def check_xsrf_cookie(self) -> None:
        """Answers 401 to every method: no XSRF 403 first."""

    def prepare(self) -> None:
        self.set_status(401)
        self.set_header("WWW-Authenticate", f'Basic realm="{REALM}"')
        self.finish("401: authentication required\n")


class TaskSendingDisabled(tornado.web.RequestHandler):
    def check_xsrf_cookie(self) -> None:
        """It only ever refuses."""

    def prepare(self) -> None:
        self.set_status(403)
        self.finish(
            "403: tasks are queued by the API, which records each job; "
            "Flower watches and controls the workers\n"
        )


class SqsBrokerView(BrokerView):
    @tornado.web.authenticated
    async def get(self) -> None:
        monitor: QueueDepthMonitor = self.application.queue_depths
        self.render("broker.html", broker_url=monitor.description, queues=monitor.broker_rows())


class SqsQueueLengths(GetQueueLengths):
    @tornado.web.authenticated
    async def get(self) -> None:
        monitor: QueueDepthMonitor = self.application.queue_depths
        queues = [{"name": r["name"], "messages": r["messages"]} for r in monitor.broker_rows()]
        self.write({"active_queues": queues})


class AuthenticatedFlower(Flower):
    def __init__(
        self, *, credentials: list[str], queue_depths: QueueDepthMonitor, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.credentials = credentials
        self.queue_depths = queue_depths
        # Added rules are matched before Flower's own (tornado inserts them ahead).
        self.add_handlers(
            r".*",
            [
                (r"/broker", SqsBrokerView),
                (r"/api/queues/length", SqsQueueLengths),
                (r"/api/task/(?:apply|async-apply|send-task)/.+", TaskSendingDisabled),
            ],
        )

    def find_handler(self, request: Any, **kwargs: Any) -> Any:
        if not credentials_match(request.headers.get("Authorization", ""), self.credentials):
            return self.get_handler_delegate(request, Unauthorized)
        return super().find_handler(request, **kwargs)
