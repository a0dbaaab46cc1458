"""Egress that survives a zone (vpc.tf): each private subnet routes through a route table of
its own, and, with nat_gateway_per_az, through the NAT gateway in its own zone."""

from __future__ import annotations

from tests.deploy.checks import Terraform, default

PER_ZONE = "${length(local.azs)}"


def nat_problems(tf: Terraform) -> list[str]:
    problems = []
    if default(tf, "nat_gateway_per_az") is not True:
        problems.append("nat: nat_gateway_per_az must default to true (one NAT gateway per zone)")
    count = tf.locals.get("nat_gateway_count")
    if count != "${var.nat_gateway_per_az ? length(local.azs) : 1}":
        problems.append("nat: local.nat_gateway_count must be one per zone with nat_gateway_per_az")
    for type_name in ("aws_nat_gateway", "aws_eip"):
        body = tf.of_type(type_name).get("this" if type_name == "aws_nat_gateway" else "nat", {})
        if body.get("count") != "${local.nat_gateway_count}":
            problems.append(f"nat: {type_name} needs count = local.nat_gateway_count")
    gateway = tf.of_type("aws_nat_gateway").get("this", {})
    if gateway.get("subnet_id") != "${aws_subnet.public[count.index].id}":
        problems.append("nat: each NAT gateway sits in the public subnet of its own zone")
    tables = tf.of_type("aws_route_table").get("private", {})
    if tables.get("count") != PER_ZONE:
        problems.append("nat: one private route table per zone (count = length(local.azs))")
    route = tf.of_type("aws_route").get("private_nat", {})
    if route.get("count") != PER_ZONE or route.get("route_table_id") != (
        "${aws_route_table.private[count.index].id}"
    ):
        problems.append("nat: a default route in each zone's private route table")
    if route.get("nat_gateway_id") != (
        "${aws_nat_gateway.this[count.index % local.nat_gateway_count].id}"
    ):
        problems.append("nat: each zone's default route must use its own zone's NAT gateway")
    association = tf.of_type("aws_route_table_association").get("private", {})
    if association.get("route_table_id") != "${aws_route_table.private[count.index].id}":
        problems.append("nat: each private subnet must use its own zone's route table")
    endpoint = tf.of_type("aws_vpc_endpoint").get("s3", {})
    if endpoint.get("route_table_ids") != "${aws_route_table.private[*].id}":
        problems.append("nat: the S3 endpoint must be in every private route table")
    return problems
