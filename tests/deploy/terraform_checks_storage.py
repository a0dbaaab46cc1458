"""Where the work and the images wait: the SQS queues (sqs.tf), the bucket (s3.tf) and the
ECR repositories with their lifecycle (ecr.tf), the last also evaluated by terraform."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.settings import Settings
from app.time_limits import time_limit_problems
from tests.deploy.checks import TERRAFORM_DIR, Terraform, block, default, load_terraform, references
from tests.deploy.terraform_checks_iam import document_statements
from tests.deploy.terraform_console import hcl_expression, terraform_console

# The runtime image (worker, beat, flower) and the Dockerfile's small `api` target.
ECR_REPOSITORIES = ("this", "api")
ECR_PULL_ACTIONS = {
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
}
DEPLOYED_TAG_PREFIX = "deployed-"


def queue_problems(tf: Terraform) -> list[str]:
    settings = Settings()
    problems = []
    main = tf.resource("aws_sqs_queue", "main")
    dead_letter = tf.resource("aws_sqs_queue", "dead_letter")
    redrive = str(main.get("redrive_policy", ""))
    if "aws_sqs_queue.dead_letter.arn" not in redrive or "maxReceiveCount" not in redrive:
        problems.append("sqs: the main queue's redrive_policy does not point at the DLQ")
    if dead_letter.get("name") != "${var.image_processing_queue_name}-dlq":
        problems.append("sqs: the DLQ must be named <image_processing_queue_name>-dlq")
    if main.get("visibility_timeout_seconds") != "${var.sqs_visibility_timeout}":
        problems.append("sqs: visibility_timeout_seconds must come from var.sqs_visibility_timeout")
    limits = {
        "soft": default(tf, "task_soft_time_limit"),
        "hard": default(tf, "task_time_limit"),
        "visibility": default(tf, "sqs_visibility_timeout"),
    }
    if not all(isinstance(value, int) for value in limits.values()):
        problems.append("sqs: the time limits and the visibility timeout need numeric defaults")
    else:
        # The one rule (app/time_limits.py) that settings and the worker's start-up check apply.
        problems += [f"sqs: terraform's defaults: {p}" for p in time_limit_problems(**limits)]
        if limits["visibility"] <= settings.task_time_limit:
            problems.append(
                f"sqs: visibility timeout {limits['visibility']} <= the Celery hard time limit "
                f"{settings.task_time_limit} of app/settings.py"
            )
    for name, body in (("main", main), ("dead_letter", dead_letter)):
        if body.get("sqs_managed_sse_enabled") is not True and "kms_master_key_id" not in body:
            problems.append(f"sqs: queue {name} without server-side encryption")
    return problems


def storage_problems(tf: Terraform) -> list[str]:
    problems = ecr_problems(tf)
    public_access = tf.resource("aws_s3_bucket_public_access_block", "images")
    for flag in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        if public_access.get(flag) is not True:
            problems.append(f"s3: public access block {flag} must be true")
    if not tf.of_type("aws_s3_bucket_server_side_encryption_configuration"):
        problems.append("s3: no server-side encryption configuration")
    versioning = tf.of_type("aws_s3_bucket_versioning").get("images", {})
    if block(versioning, "versioning_configuration").get("status") != "Enabled":
        problems.append("s3: versioning must be Enabled")
    return problems


def ecr_problems(tf: Terraform) -> list[str]:
    problems = []
    repositories = tf.of_type("aws_ecr_repository")
    for name in ECR_REPOSITORIES:
        if name not in repositories:
            problems.append(f"ecr: no repository aws_ecr_repository.{name}")
            continue
        ecr = repositories[name]
        if ecr.get("image_tag_mutability") != "IMMUTABLE":
            problems.append(f"ecr {name}: image tags must be IMMUTABLE")
        if block(ecr, "image_scanning_configuration").get("scan_on_push") is not True:
            problems.append(f"ecr {name}: scan_on_push must be on")
        lifecycles = [
            body
            for body in tf.of_type("aws_ecr_lifecycle_policy").values()
            if references(body.get("repository"), f"aws_ecr_repository.{name}.")
        ]
        if not lifecycles or not all(
            body.get("policy") == "${jsonencode(local.ecr_lifecycle_policy)}" for body in lifecycles
        ):
            problems.append(f"ecr {name}: lifecycle policy must be local.ecr_lifecycle_policy")
        pull_policies = [
            body
            for body in tf.of_type("aws_ecr_repository_policy").values()
            if references(body.get("repository"), f"aws_ecr_repository.{name}.")
        ]
        if not pull_policies or not all(
            references(body.get("count"), "var.ecr_pull_account_ids") for body in pull_policies
        ):
            problems.append(
                f"ecr {name}: no repository policy for var.ecr_pull_account_ids "
                "(production pulls the image staging tested)"
            )
    problems += ecr_pull_policy_problems(tf)
    problems += ecr_lifecycle_shape_problems(tf.locals.get("ecr_lifecycle_policy"))
    if default(tf, "ecr_keep_tagged_images") != 10:
        problems.append("ecr: keep the last 10 tagged images")
    return problems


def ecr_pull_policy_problems(tf: Terraform) -> list[str]:
    """Other accounts may pull (and only pull) from the repositories."""
    problems = []
    for body in tf.of_type("aws_ecr_repository_policy").values():
        statements = document_statements(tf, body.get("policy"))
        if not statements:
            problems.append("ecr: a repository policy not built from a policy document")
        for statement in statements:
            actions = set(statement.get("actions", []))
            if actions != ECR_PULL_ACTIONS:
                problems.append(f"ecr: repository policy grants {sorted(actions)}, not pulls only")
            if not references(statement.get("principals"), "var.ecr_pull_account_ids"):
                problems.append("ecr: repository policy principals must be ecr_pull_account_ids")
    return problems


def ecr_lifecycle_shape_problems(policy: Any) -> list[str]:
    """The rules in their order (ecr.tf says why): deployed images first, then the rest."""
    if not isinstance(policy, dict) or not policy.get("rules"):
        return ["ecr: no local.ecr_lifecycle_policy with rules"]
    rules = sorted(policy["rules"], key=lambda rule: rule.get("rulePriority", 0))
    first = rules[0].get("selection", {})
    problems = []
    if (
        first.get("tagPrefixList") != [DEPLOYED_TAG_PREFIX]
        or first.get("countNumber") != "${var.ecr_keep_deployed_images}"
    ):
        problems.append(
            "ecr: the first lifecycle rule must keep the last ecr_keep_deployed_images images "
            f"tagged {DEPLOYED_TAG_PREFIX}* (a deployed image must never expire first)"
        )
    if not any(rule.get("selection", {}).get("tagStatus") == "untagged" for rule in rules):
        problems.append("ecr: lifecycle must expire untagged images")
    return problems


# --- ECR lifecycle, evaluated --------------------------------------------------------------


@dataclass(frozen=True)
class EcrImage:
    name: str
    pushed_days_ago: float
    tags: tuple[str, ...] = ()


def _selected(selection: dict[str, Any], image: EcrImage) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not image.tags
    prefixes = selection.get("tagPrefixList")
    if prefixes is not None:
        return bool(image.tags) and all(
            any(tag.startswith(p) for tag in image.tags) for p in prefixes
        )
    patterns = selection.get("tagPatternList", [])
    return bool(image.tags) and all(
        any(fnmatch.fnmatchcase(tag, p) for tag in image.tags) for p in patterns
    )


def ecr_expired(policy: dict[str, Any], images: list[EcrImage]) -> set[str]:
    """The images an ECR lifecycle policy expires, by ECR's documented evaluation: rules in
    rulePriority order; an image matched by a higher-priority rule's tag selection is never
    expired by a lower-priority rule, which still counts it; counts keep the newest pushes."""
    expired: set[str] = set()
    claimed: set[str] = set()
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        selection = rule["selection"]
        matched = sorted(
            (image for image in images if _selected(selection, image)),
            key=lambda image: image.pushed_days_ago,
        )
        if selection["countType"] == "imageCountMoreThan":
            beyond = matched[selection["countNumber"] :]
        else:  # sinceImagePushed, in days
            beyond = [i for i in matched if i.pushed_days_ago > selection["countNumber"]]
        expired |= {image.name for image in beyond if image.name not in claimed}
        claimed |= {image.name for image in matched}
    return expired


def ecr_lifecycle_problems(
    directory: Path = TERRAFORM_DIR, values: dict[str, Any] | None = None
) -> list[str]:
    """The deployed images survive any number of later pushes; the rest is cleaned up."""
    tf = load_terraform(directory)
    problems = []
    for name, body in sorted(tf.of_type("aws_ecr_lifecycle_policy").items()):
        policy = json.loads(
            terraform_console(directory, hcl_expression(body["policy"]), values, ("ecr.tf",))
        )
        keep = terraform_console(directory, "var.ecr_keep_deployed_images", values)
        # The running image was deployed last; the ones before it are its rollback targets.
        deployed = [
            EcrImage(f"deployed-{n}", 30 + n, (f"sha{n}", f"{DEPLOYED_TAG_PREFIX}2025-01-{n:02}"))
            for n in range(keep + 1)
        ]
        # Then many pushes that never passed a deploy, some untagged.
        later = [EcrImage(f"pushed-{n}", n / 2, (f"branch{n}",)) for n in range(1, 50)]
        untagged = [EcrImage("untagged-old", 3), EcrImage("untagged-new", 0.5)]
        expired = ecr_expired(policy, deployed + later + untagged)
        lost = sorted(i.name for i in deployed[:keep] if i.name in expired)
        if lost:
            problems.append(
                f"ecr lifecycle {name}: expires {lost}, among the last {keep} deployed images "
                "(the running one first), after 49 later pushes"
            )
        if deployed[keep].name not in expired:
            problems.append(f"ecr lifecycle {name}: keeps more than {keep} deployed images")
        if "untagged-old" not in expired or "untagged-new" in expired:
            problems.append(f"ecr lifecycle {name}: untagged images must expire after a day")
        if not any(i.name in expired for i in later):
            problems.append(f"ecr lifecycle {name}: never expires an undeployed tagged image")
    return problems
