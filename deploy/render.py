"""Render and check an ECS task definition from deploy/ecs/<service>.json.

The JSON files are the single source of the task definitions. Their `${name}` placeholders are
the ones terraform's templatefile() fills for the first revision (terraform/ecs.tf); CI fills the
same placeholders for every deploy, from the values terraform publishes in SSM
(terraform/ssm.tf) plus the new image:

    python deploy/render.py worker --values values.json --image 123.dkr.ecr...:<sha> > worker.json
    aws ecs register-task-definition --cli-input-json file://worker.json

One placeholder is not a value but a rule: `${worker_concurrency}` is derived from the worker
task's own `cpu`, three pool processes per two vCPUs (`worker_processes`, docs/performance.md);
terraform/main.tf derives it the same way for the first revision.

Before printing, the result is checked the way ECS would check it, offline: botocore's own
RegisterTaskDefinition input model (types, unknown keys, required members, enums), the table
of CPU/memory pairs Fargate accepts, a worker's stopTimeout against its TASK_TIME_LIMIT, and a
worker's pool against its task's vCPUs and memory. Any problem exits non-zero and prints nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ECS_DIR = Path(__file__).resolve().parent / "ecs"
# app/time_limits.py's SHUTDOWN_MARGIN (a test keeps them equal; this script imports only
# botocore): after the hard limit, the ack, the pool's exit and Celery's shutdown.
SHUTDOWN_MARGIN_SECONDS = 10
SERVICES = ("worker", "beat", "flower", "api")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Fargate task sizes (CPU units -> allowed memory in MiB), from the ECS developer guide
# "Task CPU and memory" table for Linux tasks.
FARGATE_MEMORY_BY_CPU: dict[int, set[int]] = {
    256: {512, 1024, 2048},
    512: set(range(1024, 4096 + 1, 1024)),
    1024: set(range(2048, 8192 + 1, 1024)),
    2048: set(range(4096, 16384 + 1, 1024)),
    4096: set(range(8192, 30720 + 1, 1024)),
    8192: set(range(16384, 61440 + 1, 4096)),
    16384: set(range(32768, 122880 + 1, 8192)),
}


# The worker's layout (docs/performance.md, "Throughput with latency"): one onnxruntime thread
# per pool process, and half again as many processes as vCPUs, rounded up. Under AWS's S3 and
# SQS round trips a pool process is on its core for about 70 % of each photo's slot (the rest
# is the S3 read and write and the wait for the next message): 3 processes on 2 vCPU drained
# 1.15x as fast as 2 (median of four paired rounds), and 4 no faster than 3 in 1.3 GB more.
# Memory per process (docs/operations.md, "Memory", `make bench-soak`): 1.15 GB
# steady, a peak of 1826 MB on a 48 MP PNG; WORKER_MAX_MEMORY_PER_CHILD_MB (2048 by default)
# lets a process grow to it before replacing it, so the pool is sized at the larger of the two.
# The main process holds no model: 104 MB measured after `import worker.tasks`, with headroom.
CPU_UNITS_PER_VCPU = 1024
PROCESSES_PER_TWO_VCPUS = 3
POOL_PROCESS_PEAK_MB = 1826
POOL_PROCESS_CAP_MB = 2048
MAIN_PROCESS_MB = 256


class RenderError(ValueError):
    """A template could not be rendered or its result is not a valid task definition."""


def placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def derived_values(template: str) -> dict[str, str]:
    """The placeholders a template's own fields decide: WORKER_CONCURRENCY from its cpu."""
    if "worker_concurrency" not in placeholders(template):
        return {}
    return {"worker_concurrency": str(worker_processes(int(json.loads(template)["cpu"])))}


def worker_processes(cpu_units: int) -> int:
    """Pool processes for a worker task of `cpu_units`: 3 per 2 vCPUs, rounded up (2048 -> 3,
    4096 -> 6, 1024 -> 2), never fewer than one."""
    return max(1, -(-cpu_units * PROCESSES_PER_TWO_VCPUS // (2 * CPU_UNITS_PER_VCPU)))


def render(template: str, values: dict[str, str]) -> dict[str, Any]:
    """Fill every `${name}`; as in templatefile(), a placeholder without a value is an error.
    Derived placeholders follow their rule, whatever `values` says."""
    values = {**values, **derived_values(template)}
    missing = sorted(placeholders(template) - values.keys())
    if missing:
        raise RenderError(f"no value for placeholder(s): {', '.join(missing)}")

    def fill(match: re.Match[str]) -> str:
        # json.dumps escapes quotes and backslashes; [1:-1] drops the surrounding quotes.
        return json.dumps(str(values[match.group(1)]))[1:-1]

    result: dict[str, Any] = json.loads(PLACEHOLDER.sub(fill, template))
    return result


def _input_shape() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("ecs")
    return model.operation_model("RegisterTaskDefinition").input_shape


def _enum_errors(value: Any, shape: Any, path: str) -> list[str]:
    """botocore's ParamValidator skips enums; walk the same model and check them."""
    errors: list[str] = []
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                errors += _enum_errors(item, shape.members[key], f"{path}.{key}")
    elif kind == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            errors += _enum_errors(item, shape.member, f"{path}[{index}]")
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            errors += _enum_errors(item, shape.value, f"{path}.{key}")
    elif kind == "string" and shape.enum and value not in shape.enum:
        errors.append(f"{path}: {value!r} is not one of {sorted(shape.enum)}")
    return errors


def model_errors(task_definition: dict[str, Any]) -> list[str]:
    """Problems ECS's RegisterTaskDefinition input model finds (botocore's validator + enums)."""
    from botocore.validate import ParamValidator

    shape = _input_shape()
    report = ParamValidator().validate(task_definition, shape)
    errors = [line for line in report.generate_report().splitlines() if line.strip()]
    return [e.strip() for e in errors] + _enum_errors(task_definition, shape, "taskDefinition")


def fargate_errors(task_definition: dict[str, Any]) -> list[str]:
    if "FARGATE" not in task_definition.get("requiresCompatibilities", []):
        return []
    try:
        cpu, memory = int(task_definition["cpu"]), int(task_definition["memory"])
    except (KeyError, ValueError) as error:
        return [f"a Fargate task needs numeric task-level cpu and memory ({error})"]
    allowed = FARGATE_MEMORY_BY_CPU.get(cpu)
    if allowed is None:
        return [f"cpu {cpu} is not a Fargate size ({sorted(FARGATE_MEMORY_BY_CPU)})"]
    if memory not in allowed:
        return [
            f"memory {memory} is not valid with cpu {cpu} on Fargate "
            f"({min(allowed)}..{max(allowed)})"
        ]
    errors = []
    if task_definition.get("networkMode") != "awsvpc":
        errors.append("Fargate requires networkMode 'awsvpc'")
    for container in task_definition.get("containerDefinitions", []):
        if container.get("stopTimeout", 30) > 120:
            errors.append(f"{container.get('name')}: stopTimeout above Fargate's maximum of 120 s")
    return errors


def shutdown_errors(task_definition: dict[str, Any]) -> list[str]:
    """A worker container must outlive its longest task: on SIGTERM Celery lets the running
    task finish (it ends at TASK_TIME_LIMIT at the latest), then acknowledges it and exits, all
    before ECS's SIGKILL at stopTimeout (app/time_limits.py has the same rule for settings)."""
    errors = []
    for container in task_definition.get("containerDefinitions", []):
        if container.get("command") != ["worker"]:
            continue
        environment = {
            item.get("name"): item.get("value") for item in container.get("environment", [])
        }
        hard_limit = str(environment.get("TASK_TIME_LIMIT", ""))
        if not hard_limit.isdigit():
            errors.append(f"{container.get('name')}: TASK_TIME_LIMIT must be a number of seconds")
            continue
        needed = int(hard_limit) + SHUTDOWN_MARGIN_SECONDS
        stop_timeout = container.get("stopTimeout", 30)
        if stop_timeout < needed:
            errors.append(
                f"{container.get('name')}: stopTimeout {stop_timeout} s is below TASK_TIME_LIMIT "
                f"{hard_limit} s + {SHUTDOWN_MARGIN_SECONDS} s to acknowledge and exit: ECS would "
                "kill a task still running and its message would wait out the visibility timeout"
            )
    return errors


def pool_errors(task_definition: dict[str, Any]) -> list[str]:
    """A worker runs `worker_processes` pool processes for its vCPUs, and the task's memory
    holds every process at its worst plus the main process."""
    errors = []
    for container in task_definition.get("containerDefinitions", []):
        if container.get("command") != ["worker"]:
            continue
        environment = {item.get("name"): item.get("value") for item in container["environment"]}
        expected = worker_processes(int(task_definition["cpu"]))
        processes = int(environment.get("WORKER_CONCURRENCY", 0))
        if processes != expected:
            errors.append(
                f"WORKER_CONCURRENCY {processes} is not the layout for cpu "
                f"{task_definition['cpu']} ({expected} processes)"
            )
        cap = int(environment.get("WORKER_MAX_MEMORY_PER_CHILD_MB", POOL_PROCESS_CAP_MB))
        per_process = max(POOL_PROCESS_PEAK_MB, cap)
        needed = processes * per_process + MAIN_PROCESS_MB
        if needed > int(task_definition["memory"]):
            errors.append(
                f"memory {task_definition['memory']} MiB holds less than {processes} pool "
                f"processes at {per_process} MB and the main process ({needed} MB)"
            )
    return errors


def problems(task_definition: dict[str, Any]) -> list[str]:
    return (
        model_errors(task_definition)
        + fargate_errors(task_definition)
        + shutdown_errors(task_definition)
        + pool_errors(task_definition)
    )


def load_template(service: str) -> str:
    if service not in SERVICES:
        raise RenderError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    return (ECS_DIR / f"{service}.json").read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument(
        "--values",
        type=Path,
        required=True,
        help="JSON object of placeholder values (terraform's deploy values)",
    )
    parser.add_argument("--image", required=True, help="full image URI with its immutable tag")
    args = parser.parse_args(argv)

    values = json.loads(args.values.read_text())
    values["image"] = args.image
    try:
        task_definition = render(load_template(args.service), values)
    except RenderError as error:
        print(f"render.py: {args.service}: {error}", file=sys.stderr)
        return 1
    found = problems(task_definition)
    if found:
        for problem in found:
            print(f"render.py: {args.service}: {problem}", file=sys.stderr)
        return 1
    json.dump(task_definition, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
