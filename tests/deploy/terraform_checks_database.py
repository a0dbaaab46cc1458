"""The database (rds.tf, vpc.tf): encrypted, backed up a week or more, protected from deletion,
Multi-AZ in production, TLS forced by the server, reachable from the API and the tasks only;
and the connection budget: what the fleet may open at most against the server's max_connections.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.settings import Settings
from tests.deploy.checks import REPO_ROOT, Terraform, default

# A rolling deploy runs old and new tasks side by side: ECS's maximumPercent of 200.
DEPLOY_OVERLAP = 2
# A worker pool process runs one task at a time on one thread: one connection. Beat's sweeps
# run one after another: one, and one more for the orphan sweep's batch lookups.
CONNECTIONS_PER_WORKER_PROCESS = 1
BEAT_CONNECTIONS = 2
# superuser_reserved_connections (3) and RDS's rds.rds_superuser_reserved_connections (2);
# the deploy's migration and smoke test, and an operator's psql session or three.
RESERVED_CONNECTIONS = 5 + 5


# The API's pool at most: the settings' default, measured to serve the 16-way load (app/db.py).
API_POOL_CEILING: int = Settings.model_fields["database_pool_size"].default


def api_pool_overflow() -> int:
    """app/db.py's MAX_OVERFLOW: connections an API process may open beyond its pool."""
    source = (REPO_ROOT / "app/db.py").read_text()
    return int(re.search(r"^MAX_OVERFLOW = (\d+)$", source, re.MULTILINE).group(1))  # type: ignore[union-attr]


@dataclass(frozen=True)
class Fleet:
    api_tasks: int
    worker_max_tasks: int
    worker_processes_per_task: int
    api_pool: int


def connections_needed(fleet: Fleet) -> int:
    """The most connections the fleet can open at once, a deploy in progress."""
    api = DEPLOY_OVERLAP * fleet.api_tasks * (fleet.api_pool + api_pool_overflow())
    workers = (
        DEPLOY_OVERLAP
        * fleet.worker_max_tasks
        * fleet.worker_processes_per_task
        * CONNECTIONS_PER_WORKER_PROCESS
    )
    return api + workers + BEAT_CONNECTIONS + RESERVED_CONNECTIONS


def api_pool_for(fleet: Fleet, max_connections: int) -> int:
    """docs/deployment.md's rule for DATABASE_POOL_SIZE: what max_connections leaves once the
    workers at their maximum, beat and the reserve are counted, shared by the API's tasks old
    and new, and never above the measured ceiling. `fleet.api_pool` is not read."""
    workers = connections_needed(
        Fleet(0, fleet.worker_max_tasks, fleet.worker_processes_per_task, 0)
    )
    left = max_connections - workers
    return min(API_POOL_CEILING, left // (DEPLOY_OVERLAP * fleet.api_tasks))


def database_problems(tf: Terraform) -> list[str]:
    problems = []
    instance = tf.of_type("aws_db_instance").get("this", {})
    expected = {
        "storage_encrypted": True,
        "deletion_protection": True,
        "publicly_accessible": False,
        "multi_az": '${var.environment == "production"}',
        "backup_retention_period": "${var.database_backup_retention_days}",
        "parameter_group_name": "${aws_db_parameter_group.this.name}",
        "vpc_security_group_ids": ["${aws_security_group.database.id}"],
    }
    for key, value in expected.items():
        if instance.get(key) != value:
            problems.append(f"rds: {key} must be {value!r}")
    if (default(tf, "database_backup_retention_days") or 0) < 7:
        problems.append("rds: backups must be kept 7 days or more")
    parameters = {
        p.get("name"): str(p.get("value"))
        for p in tf.of_type("aws_db_parameter_group").get("this", {}).get("parameter", [])
    }
    if parameters.get("rds.force_ssl") != "1":
        problems.append("rds: the parameter group must force TLS (rds.force_ssl = 1)")
    if parameters.get("max_connections") != "${tostring(local.database_max_connections)}":
        problems.append("rds: max_connections must be local.database_max_connections")
    for name, rule in tf.of_type("aws_vpc_security_group_ingress_rule").items():
        if rule.get("security_group_id") == "${aws_security_group.database.id}" and (
            rule.get("referenced_security_group_id") != "${each.value}"
            or set(rule.get("for_each", {}).values())
            != {"${aws_security_group.api.id}", "${aws_security_group.tasks.id}"}
        ):
            problems.append(f"rds: ingress {name} admits more than the API and the tasks")
    return problems
