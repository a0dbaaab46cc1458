"""The event bus and the API's network (vpc.tf, ecs.tf, elasticache.tf, secretsmanager.tf,
deploy/ecs): the API in a group of its own that admits its load balancer alone and cannot reach
Valkey; Valkey admitting the worker's, beat's and Flower's groups only, over TLS, with an AUTH
token from a secret; EVENTS_BROKER_URL a secret of those three task definitions alone."""

from __future__ import annotations

from typing import Any

from tests.deploy.checks import Terraform, block, load_task_definition_templates, references

BUS_CLIENTS = {"${aws_security_group.tasks.id}", "${aws_security_group.flower.id}"}
TOKEN = "data.aws_secretsmanager_secret_version.events_auth_token.secret_string"


def bus_problems(tf: Terraform) -> list[str]:
    return api_network_problems(tf) + valkey_problems(tf) + broker_url_problems(tf)


def _rules(tf: Terraform, kind: str, group: str) -> dict[str, dict[str, Any]]:
    return {
        name: rule
        for name, rule in tf.of_type(f"aws_vpc_security_group_{kind}_rule").items()
        if rule.get("security_group_id") == f"${{aws_security_group.{group}.id}}"
    }


def api_network_problems(tf: Terraform) -> list[str]:
    problems = []
    service = tf.of_type("aws_ecs_service").get("api", {})
    if block(service, "network_configuration").get("security_groups") != [
        "${aws_security_group.api.id}"
    ]:
        problems.append("api: the service must use its own aws_security_group.api only")
    for name, rule in _rules(tf, "ingress", "api").items():
        if rule.get("referenced_security_group_id") != "${aws_security_group.alb.id}" or (
            rule.get("from_port"),
            rule.get("to_port"),
        ) != (8000, 8000):
            problems.append(f"api: ingress {name} admits more than 8000 from its load balancer")
    if not _rules(tf, "ingress", "api"):
        problems.append("api: no ingress from its load balancer on 8000")
    for name, rule in _rules(tf, "egress", "api").items():
        if rule.get("from_port") not in (443, 5432) or rule.get("to_port") != rule.get("from_port"):
            problems.append(f"api: egress {name} goes beyond HTTPS and Postgres")
    return problems


def valkey_problems(tf: Terraform) -> list[str]:
    problems = []
    for name, rule in _rules(tf, "ingress", "valkey").items():
        if rule.get("referenced_security_group_id") not in BUS_CLIENTS:
            problems.append(f"valkey: ingress {name} admits more than worker, beat and Flower")
    group = tf.of_type("aws_elasticache_replication_group").get("events", {})
    if group.get("transit_encryption_enabled") is not True:
        problems.append("valkey: the bus must require TLS (transit_encryption_enabled)")
    if group.get("auth_token") != f"${{{TOKEN}}}":
        problems.append("valkey: the bus needs the AUTH token of var.events_auth_token_secret_arn")
    version = tf.data.get(("aws_secretsmanager_secret_version", "events_auth_token"), ("", {}))[1]
    if version.get("secret_id") != "${var.events_auth_token_secret_arn}":
        problems.append("valkey: the AUTH token must come from var.events_auth_token_secret_arn")
    return problems


def broker_url_problems(tf: Terraform) -> list[str]:
    problems = []
    url = tf.of_type("aws_secretsmanager_secret_version").get("events_broker_url", {})
    text = str(url.get("secret_string", ""))
    if not text.startswith('${format("rediss://:%s@') or not references(
        text, f"urlencode({TOKEN})"
    ):
        problems.append("valkey: EVENTS_BROKER_URL must be rediss:// with the AUTH token")
    if "ssl_cert_reqs=required" not in text:
        problems.append("valkey: EVENTS_BROKER_URL must verify the bus's certificate")
    for service, task_definition in load_task_definition_templates().items():
        (container,) = task_definition["containerDefinitions"]
        as_secret = any(s["name"] == "EVENTS_BROKER_URL" for s in container.get("secrets", []))
        in_clear = any(e["name"] == "EVENTS_BROKER_URL" for e in container.get("environment", []))
        if in_clear:
            problems.append(f"{service}: EVENTS_BROKER_URL in clear in the task definition")
        if as_secret is (service == "api"):
            problems.append(
                f"{service}: EVENTS_BROKER_URL must be a secret of worker, beat and flower only"
            )
    return problems
