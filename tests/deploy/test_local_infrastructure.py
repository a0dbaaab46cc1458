"""The local stacks' bucket, queue and DLQ (devtools/local_aws.py) are terraform's.

The embedded stack, compose's one-shot setup, the load benchmark and the test fixtures all make
them with one function; its values must be terraform/sqs.tf's and variables.tf's, or a poison
message would take a different number of deliveries to reach the DLQ locally than in AWS.
"""

from __future__ import annotations

import pytest

from devtools import local_aws
from tests.deploy.checks import default, load_terraform


def _literal(value: str) -> int:
    """`345600 # 4 days` as python-hcl2 may leave a commented number: the number."""
    return int(str(value).split("#")[0].strip())


def local_queue_problems(values: dict[str, int]) -> list[str]:
    tf = load_terraform()
    main = tf.resource("aws_sqs_queue", "main")
    dead_letter = tf.resource("aws_sqs_queue", "dead_letter")
    expected = {
        "MAX_RECEIVE_COUNT": default(tf, "max_receive_count"),
        "QUEUE_RETENTION_SECONDS": _literal(main["message_retention_seconds"]),
        "DEAD_LETTER_RETENTION_SECONDS": _literal(dead_letter["message_retention_seconds"]),
        "RECEIVE_WAIT_SECONDS": _literal(main["receive_wait_time_seconds"]),
    }
    return [
        f"{name} is {values[name]} locally, {value} in terraform"
        for name, value in expected.items()
        if values[name] != value
    ]


def _local_values() -> dict[str, int]:
    names = (
        "MAX_RECEIVE_COUNT",
        "QUEUE_RETENTION_SECONDS",
        "DEAD_LETTER_RETENTION_SECONDS",
        "RECEIVE_WAIT_SECONDS",
    )
    return {name: getattr(local_aws, name) for name in names}


def test_the_local_queue_is_terraforms() -> None:
    assert local_queue_problems(_local_values()) == []


@pytest.mark.parametrize("name", ["MAX_RECEIVE_COUNT", "QUEUE_RETENTION_SECONDS"])
def test_a_planted_difference_is_found(name: str) -> None:
    values = _local_values()
    values[name] += 2  # the embedded stack's old maxReceiveCount was 5, terraform's 3
    assert local_queue_problems(values) == [
        f"{name} is {values[name]} locally, {values[name] - 2} in terraform"
    ]
