"""The stack as a whole: no database password through terraform, every variable typed and
described (and a setting's default where it carries one), one file per AWS service, and
every check of terraform_checks_*.py in one call."""

from __future__ import annotations

import json

from app.settings import Settings
from tests.deploy.checks import Terraform
from tests.deploy.terraform_checks_alarms import alarm_problems, alarm_topic_problems
from tests.deploy.terraform_checks_bucket import bucket_problems
from tests.deploy.terraform_checks_bus import bus_problems
from tests.deploy.terraform_checks_database import database_problems
from tests.deploy.terraform_checks_ecs import autoscaling_problems, ecs_service_problems
from tests.deploy.terraform_checks_edge import edge_problems
from tests.deploy.terraform_checks_iam import iam_problems
from tests.deploy.terraform_checks_nat import nat_problems
from tests.deploy.terraform_checks_network import flower_problems
from tests.deploy.terraform_checks_placement import placement_problems
from tests.deploy.terraform_checks_storage import queue_problems, storage_problems

# Which file each AWS service's resources live in (one file per service).
FILE_OF_PREFIX = {
    "aws_ecr_": "ecr.tf",
    "aws_ecs_": "ecs.tf",
    "aws_db_": "rds.tf",
    "aws_appautoscaling_": "autoscaling.tf",
    "aws_sqs_": "sqs.tf",
    "aws_s3_": "s3.tf",
    "aws_iam_": "iam.tf",
    "aws_secretsmanager_": "secretsmanager.tf",
    "aws_elasticache_": "elasticache.tf",
    "aws_cloudwatch_": "cloudwatch.tf",
    "aws_sns_": "sns.tf",
    "aws_kms_": "kms.tf",
    "aws_ssm_": "ssm.tf",
    "aws_lb": "alb.tf",
    "aws_wafv2_": "waf.tf",
    "aws_vpc": "vpc.tf",
    "aws_subnet": "vpc.tf",
    "aws_route": "vpc.tf",
    "aws_internet_gateway": "vpc.tf",
    "aws_nat_gateway": "vpc.tf",
    "aws_eip": "vpc.tf",
    "aws_security_group": "vpc.tf",
    "aws_default_security_group": "vpc.tf",
}


def secret_problems(tf: Terraform) -> list[str]:
    problems = []
    database = tf.data.get(("aws_secretsmanager_secret", "database"))
    if not database or database[1].get("arn") != "${var.database_secret_arn}":
        problems.append("secrets: the database secret must be read from var.database_secret_arn")
    # Terraform makes the database password, but only as an ephemeral value passed to
    # write-only arguments: never `password` or `secret_string`, which the state would keep.
    for (type_name, name), (_, body) in tf.resources.items():
        text = json.dumps(body).lower()
        stored = {"password", "master_password", "secret_string", "secret_binary"} & body.keys()
        database = type_name in {"aws_db_instance", "aws_rds_cluster"} or (
            type_name == "aws_secretsmanager_secret_version" and "database" in text
        )
        written_only = all(
            str(body.get(key, "")).startswith("${ephemeral.")
            for key in ("password_wo",)
            if type_name == "aws_db_instance"
        ) and ("password_wo" in body or "secret_string_wo" in body)
        if database and (stored or not written_only):
            problems.append(f"secrets: {type_name}.{name} lets terraform store a database password")
    for name in tf.variables:
        if "password" in name.lower():
            problems.append(f"secrets: variable {name} passes a password through terraform")
    return problems


def variable_problems(tf: Terraform) -> list[str]:
    problems = []
    for name, body in tf.variables.items():
        if "type" not in body:
            problems.append(f"variable {name}: no type")
        if not str(body.get("description", "")).strip():
            problems.append(f"variable {name}: no description")
    for name, body in tf.outputs.items():
        if not str(body.get("description", "")).strip():
            problems.append(f"output {name}: no description")
    # Variables named like a setting carry that setting: same default as app/settings.py.
    settings = Settings()
    for name, body in tf.variables.items():
        if name in Settings.model_fields and "default" in body:
            expected = getattr(settings, name)
            if body["default"] != expected and str(body["default"]) != str(expected):
                problems.append(
                    f"variable {name}: default {body['default']!r} differs from "
                    f"app/settings.py's {expected!r}"
                )
    return problems


def layout_problems(tf: Terraform) -> list[str]:
    problems = []
    for (type_name, name), (file_name, _) in tf.resources.items():
        expected = next((f for p, f in FILE_OF_PREFIX.items() if type_name.startswith(p)), None)
        if expected is None:
            problems.append(f"{type_name}.{name}: no file assigned to its AWS service")
        elif expected != file_name:
            problems.append(f"{type_name}.{name} is in {file_name}, belongs in {expected}")
    return problems


def all_terraform_problems(tf: Terraform) -> list[str]:
    return (
        queue_problems(tf)
        + storage_problems(tf)
        + bucket_problems(tf)
        + iam_problems(tf)
        + ecs_service_problems(tf)
        + autoscaling_problems(tf)
        + alarm_problems(tf)
        + alarm_topic_problems(tf)
        + placement_problems(tf)
        + flower_problems(tf)
        + bus_problems(tf)
        + edge_problems(tf)
        + nat_problems(tf)
        + secret_problems(tf)
        + database_problems(tf)
        + variable_problems(tf)
        + layout_problems(tf)
    )
