"""Flower on an SQS fleet: Celery events and remote control ride a separate bus.

SQS has no fanout or topic exchange, so Celery cannot carry its monitoring
events, heartbeats or remote-control (pidbox) messages over it. Tasks stay on
SQS; everything Flower and `celery inspect|control` need rides a Redis/Valkey
"events bus" named by EVENTS_BROKER_URL. Unset, the worker runs as before and
logs once that monitoring is off.

Only Celery's own extension points are used, nothing is patched:

* `Celery(control=BusControl)` (bus.py): the app's remote-control client. Its
  `broadcast` (behind `app.control.inspect()`, `ping`, `pool_grow`,
  `rate_limit`, `shutdown`, ...) opens a connection to the bus unless it is
  handed one, and its mailbox publishes on whatever connection it is bound to
  instead of the broker's producer pool. So `celery -A worker.celery_app
  inspect ping` in an operator's shell reaches the workers with no extra flag;
  SQS never sees a control message. (`broker_write_url`/`broker_read_url` were
  not an option: they also move task publishing or consuming, and `--broker`
  on the CLI would point the whole app, tasks included, at Redis.)
* `worker_consumer = BusConsumer` (steps.py): the worker's consumer blueprint
  with two steps swapped. `BusEvents` replaces the stock Events step: the event
  dispatcher (task events, heartbeats via the stock Heart step) publishes on
  the bus. `BusRemoteControl` replaces the stock Control step: the worker's
  pidbox consumes on the bus.
* link.py: the worker's one connection to the bus, owned by the main process
  and driven from the worker's own timer (the event loop's thread), so control
  commands run where the stock pidbox runs them. A lost bus closes the
  dispatcher (task events are buffered, up to a cap) and the mailbox; the SQS
  consumer never waits on the bus. The link retries with backoff and, once
  back, re-opens the mailbox, restarts heartbeats (worker-online) and flushes
  the buffered task events, so Flower sees the final states of tasks that ran
  during the outage.
* worker/flower.py: Flower against the bus, basic auth on every route, and the
  SQS queue and DLQ depths (queue_depths.py) on /metrics and the Broker tab.
"""
