"""The task roles' policies as AWS would hold them, rendered from terraform/iam.tf, and a small
evaluator of AWS's rules for the requests moto does not authorise as AWS does.

`render_task_policy("api", refs)` reads `local.task_policies`, follows the document's
`source_policy_documents`, and fills every reference (`${aws_sqs_queue.main.arn}`, ...) from
`refs`; a reference without a value is an error, so a new statement cannot slip past the tests.
Dynamic statements (KMS for customer-managed secret keys) render only when their variable is
set, and the tests leave it empty, as the default is.

`render_trust_policy("deploy_assume", refs)` renders a role's trust policy the same way, and
`trusts` evaluates it for a web identity's claims (moto does not evaluate trust policies).
"""

from __future__ import annotations

import copy
import fnmatch
import re
from typing import Any

from tests.deploy.checks import Terraform, load_terraform

REFERENCE = re.compile(r"\$\{([^}]+)\}")
DOCUMENT = re.compile(r"^\$\{data\.aws_iam_policy_document\.([a-z_]+)\.json\}$")

Policy = dict[str, Any]


class UnresolvedReferenceError(KeyError):
    """A policy names a terraform value the test has no stand-in for."""


def task_policy_documents(tf: Terraform | None = None) -> dict[str, str]:
    """service -> the name of its task role's policy document (local.task_policies)."""
    tf = tf or load_terraform()
    documents = {}
    for service, reference in tf.locals["task_policies"].items():
        match = DOCUMENT.match(reference)
        if match is None:
            raise ValueError(f"task_policies.{service} is not a policy document: {reference}")
        documents[service] = match.group(1)
    return documents


def render_task_policy(service: str, refs: dict[str, Any], tf: Terraform | None = None) -> Policy:
    tf = tf or load_terraform()
    return render_policy(task_policy_documents(tf)[service], refs, tf)


def render_policy(document: str, refs: dict[str, Any], tf: Terraform | None = None) -> Policy:
    """Any identity policy document of the stack (`operator_task`, `operator_run_task`)."""
    tf = tf or load_terraform()
    statements = [_render(s, refs, tf) for s in _statements(document, tf)]
    return {"Version": "2012-10-17", "Statement": statements}


def _statements(document: str, tf: Terraform) -> list[dict[str, Any]]:
    body = tf.data[("aws_iam_policy_document", document)][1]
    found = []
    for source in body.get("source_policy_documents", []):
        match = DOCUMENT.match(source)
        if match is None:
            raise ValueError(f"{document}: source document {source} is not one of this stack's")
        found += _statements(match.group(1), tf)
    found += body.get("statement", [])
    for dynamic in body.get("dynamic", []):
        # Only the KMS statements are dynamic, keyed on var.secrets_kms_key_arns, empty here.
        if "secrets_kms_key_arns" not in dynamic["statement"]["for_each"]:
            raise ValueError(f"{document}: a dynamic statement this test does not know")
    return found


def _render(statement: dict[str, Any], refs: dict[str, Any], tf: Terraform) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "Sid": statement.get("sid", ""),
        "Effect": statement.get("effect", "Allow"),
        "Action": _as_list(statement["actions"]),
        "Resource": _strings(statement["resources"], refs, tf),
    }
    conditions: dict[str, dict[str, list[str]]] = {}
    for condition in statement.get("condition", []):
        values = _strings(condition["values"], refs, tf)
        conditions.setdefault(condition["test"], {})[condition["variable"]] = values
    if conditions:
        rendered["Condition"] = conditions
    return rendered


def _strings(value: Any, refs: dict[str, Any], tf: Terraform) -> list[str]:
    result: list[str] = []
    for item in _as_list(value):
        whole = REFERENCE.fullmatch(item)
        if whole:
            resolved = _resolve(whole.group(1), refs, tf)
            if isinstance(resolved, list):
                result += _strings(resolved, refs, tf)
                continue
            item = str(resolved)
        result.append(REFERENCE.sub(lambda m: str(_resolve(m.group(1), refs, tf)), item))
    return result


def _resolve(reference: str, refs: dict[str, Any], tf: Terraform) -> Any:
    if reference in refs:
        return refs[reference]
    if reference.startswith("local.") and reference[6:] in tf.locals:
        return tf.locals[reference[6:]]
    raise UnresolvedReferenceError(reference)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def render_trust_policy(document: str, refs: dict[str, Any], tf: Terraform | None = None) -> Policy:
    """A role's trust policy (an aws_iam_policy_document of principals, no resources), with
    every reference filled from `refs`."""
    tf = tf or load_terraform()
    statements = []
    for statement in _statements(document, tf):
        principals: dict[str, list[str]] = {}
        for principal in statement.get("principals", []):
            principals.setdefault(principal["type"], []).extend(
                _strings(principal["identifiers"], refs, tf)
            )
        conditions: dict[str, dict[str, list[str]]] = {}
        for condition in statement.get("condition", []):
            values = _strings(condition["values"], refs, tf)
            conditions.setdefault(condition["test"], {})[condition["variable"]] = values
        statements.append(
            {
                "Effect": statement.get("effect", "Allow"),
                "Action": _as_list(statement["actions"]),
                "Principal": principals,
                "Condition": conditions,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


# --- AWS's evaluation, for the requests moto authorises differently -------------------------


def allows(policy: Policy, action: str, resource: str, context: dict[str, str]) -> bool:
    """Does an identity policy of Allow statements let `action` on `resource` through, with
    these request-context keys? As AWS evaluates it: wildcards in actions and resources, and
    a condition on a key the request does not carry is not met."""
    return any(
        statement["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action, pattern) for pattern in statement["Action"])
        and any(fnmatch.fnmatchcase(resource, pattern) for pattern in statement["Resource"])
        and _conditions_met(statement.get("Condition", {}), context)
        for statement in policy["Statement"]
    )


def trusts(
    policy: Policy, *, principal_type: str, principal: str, action: str, context: dict[str, str]
) -> bool:
    """Does a trust policy let `principal` assume the role with `action`, given the request's
    context keys (for web identity: the token's claims, `<provider>:sub`, `<provider>:aud`)?
    As `allows`: a condition on a key the request does not carry is not met."""
    return any(
        statement["Effect"] == "Allow"
        and any(fnmatch.fnmatchcase(action, pattern) for pattern in statement["Action"])
        and principal in statement["Principal"].get(principal_type, [])
        and _conditions_met(statement["Condition"], context)
        for statement in policy["Statement"]
    )


def _conditions_met(conditions: dict[str, dict[str, list[str]]], context: dict[str, str]) -> bool:
    for operator, keys in conditions.items():
        for key, values in keys.items():
            if key not in context:
                return False
            if operator in ("StringLike", "ArnLike", "ArnEquals"):
                met = any(fnmatch.fnmatchcase(context[key], value) for value in values)
            elif operator == "StringEquals":
                met = context[key] in values
            else:
                raise ValueError(f"condition operator {operator} is not modelled here")
            if not met:
                return False
    return True


# --- moto's view of the same policy ---------------------------------------------------------

# moto_server checks these actions against the resource "*" (it does not work out the queue
# or secret from the request), where AWS checks the queue's or the secret's ARN: the statement
# that grants them is widened to "*" for moto only, and `allows` checks AWS's rule directly.
MOTO_UNSCOPED_ACTIONS = ("sqs:GetQueueUrl", "secretsmanager:GetSecretValue")
MOTO_BATCHED_ACTIONS = ("sqs:SendMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility")


def for_moto(policy: Policy) -> Policy:
    """The policy as moto can enforce it, every difference from AWS named here:
    - HEAD on a bucket: AWS authorises HeadBucket as s3:ListBucket with no s3:prefix in the
      request; moto names it s3:HeadBucket and evaluates no condition on an S3 request. So
      s3:HeadBucket is granted alongside s3:ListBucket only by a statement whose conditions a
      request without s3:prefix meets (`allows`' rule): an s3:prefix condition grants none.
      The same prefix-less s3:ListBucket decides whether GetObject of a missing key is 404 or
      403, which moto never asks: `aws_answer_to_missing_key` asks it through HeadBucket.
    - DeleteObjects: AWS authorises each key as s3:DeleteObject on that object; moto checks
      s3:DeleteObject once, on the bucket, and then no key against the caller's policy. Wherever
      s3:DeleteObject is granted on objects, a statement grants it on their bucket too.
    - MOTO_UNSCOPED_ACTIONS move to a statement of their own with Resource "*".
    - SQS batches: AWS authorises SendMessageBatch, DeleteMessageBatch and
      ChangeMessageVisibilityBatch as the single action (sqs:SendMessage, ...); moto checks the
      batch's own name, so each granted single action brings its batch name along.
    moto does not evaluate StringLike conditions (an s3:prefix one passes whatever the prefix);
    `allows` does, and tests/deploy/test_iam_rules.py checks them.
    """
    moto = copy.deepcopy(policy)
    unscoped: list[str] = []
    delete_buckets: set[str] = set()
    for statement in moto["Statement"]:
        prefix_less = _conditions_met(statement.get("Condition", {}), context={})
        if "s3:ListBucket" in statement["Action"] and prefix_less:
            statement["Action"].append("s3:HeadBucket")
        if "s3:DeleteObject" in statement["Action"]:
            delete_buckets |= {object_arn.split("/", 1)[0] for object_arn in statement["Resource"]}
        statement["Action"] += [
            f"{action}Batch" for action in MOTO_BATCHED_ACTIONS if action in statement["Action"]
        ]
        for action in MOTO_UNSCOPED_ACTIONS:
            if action in statement["Action"]:
                statement["Action"].remove(action)
                unscoped.append(action)
    moto["Statement"] = [s for s in moto["Statement"] if s["Action"]]
    if delete_buckets:
        moto["Statement"].append(
            {
                "Sid": "MotoDeleteObjects",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject"],
                "Resource": sorted(delete_buckets),
            }
        )
    if unscoped:
        moto["Statement"].append(
            {
                "Sid": "MotoUnscoped",
                "Effect": "Allow",
                "Action": sorted(set(unscoped)),
                "Resource": "*",
            }
        )
    return moto
