"""terraform/iam.tf and every other policy document: no wildcard action, no Resource "*"
where IAM can scope, and what the worker needs of its queue."""

from __future__ import annotations

import re
from typing import Any

from tests.deploy.checks import Terraform, references

# Actions IAM cannot scope to a resource: the only ones allowed with Resource "*".
UNSCOPED_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "elasticloadbalancing:DescribeTargetHealth",
}


def policy_statements(tf: Terraform) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for (type_name, name), (_, body) in tf.data.items():
        if type_name != "aws_iam_policy_document":
            continue
        for statement in body.get("statement", []):
            found.append((name, statement))
        for dynamic in body.get("dynamic", []):
            for content in dynamic.get("statement", {}).get("content", []):
                found.append((name, content))
    return found


def document_statements(tf: Terraform, reference: Any) -> list[dict[str, Any]]:
    """The statements of the policy document an argument names (data.aws_iam_policy_document)."""
    named = re.search(r"data\.aws_iam_policy_document\.(\w+)", str(reference))
    document = tf.data.get(("aws_iam_policy_document", named.group(1))) if named else None
    return document[1].get("statement", []) if document else []


def key_policy_documents(tf: Terraform) -> set[str]:
    """Policy documents attached to a KMS key: there Resource "*" means that key, nothing else."""
    return {
        name
        for (type_name, name) in tf.data
        if type_name == "aws_iam_policy_document"
        and any(
            references(key.get("policy"), f"data.aws_iam_policy_document.{name}.")
            for key in tf.of_type("aws_kms_key").values()
        )
    }


def iam_problems(tf: Terraform) -> list[str]:
    problems = []
    key_policies = key_policy_documents(tf)
    for document, statement in policy_statements(tf):
        actions = statement.get("actions", [])
        actions = actions if isinstance(actions, list) else [actions]
        if statement.get("effect", "Allow") != "Allow":
            continue
        for action in actions:
            if "*" in action:
                problems.append(f"iam {document}: wildcard action {action!r}")
        resources = statement.get("resources", [])
        if document in key_policies:
            continue
        if resources == ["*"] and not set(actions) <= UNSCOPED_ACTIONS:
            scoped = sorted(set(actions) - UNSCOPED_ACTIONS)
            problems.append(f"iam {document}: Resource '*' for resource-scoped actions {scoped}")
    worker_actions = {
        action
        for document, statement in policy_statements(tf)
        if document == "worker_task"
        for action in statement.get("actions", [])
    }
    for needed in ("sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"):
        if needed not in worker_actions:
            problems.append(
                f"iam worker_task: {needed} missing (the worker and its health check use it)"
            )
    return problems
