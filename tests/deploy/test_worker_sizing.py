"""The worker's pool follows its task size (issue 19, item 16; issue 21): WORKER_CONCURRENCY
is three processes per two vCPUs (docs/performance.md, "Throughput with latency"), derived from
the task's cpu by deploy/render.py and by terraform alike, and the task's 8 GB hold every
process at its measured worst."""

from __future__ import annotations

import json
import re
import sys

import pytest

from tests.deploy.checks import ECS_DIR, REPO_ROOT, TERRAFORM_DIR, load_terraform
from tests.deploy.terraform_console import needs_terraform, terraform_console
from tests.deploy.test_ecs_task_definitions import sample_values

sys.path.insert(0, str(REPO_ROOT / "deploy"))
import render  # deploy/render.py is a script, not a package


def worker_template(**fields: str) -> str:
    task_definition = json.loads((ECS_DIR / "worker.json").read_text())
    task_definition.update(fields)
    return json.dumps(task_definition)


def environment(task_definition: dict) -> dict[str, str]:
    (container,) = task_definition["containerDefinitions"]
    return {item["name"]: item["value"] for item in container["environment"]}


def test_worker_concurrency_is_derived_from_the_tasks_vcpus() -> None:
    template = (ECS_DIR / "worker.json").read_text()
    assert '"value": "${worker_concurrency}"' in template, "WORKER_CONCURRENCY is a literal"
    task_definition = render.render(template, sample_values(template))
    assert task_definition["cpu"] == "2048"
    assert task_definition["memory"] == "8192"
    assert environment(task_definition)["WORKER_CONCURRENCY"] == "3"
    assert environment(task_definition)["ORT_INTRA_OP_THREADS"] == "1"
    assert render.pool_errors(task_definition) == []


@pytest.mark.parametrize(
    ("cpu", "memory", "processes"),
    [("4096", "13312", "6"), ("1024", "5120", "2"), ("512", "3072", "1")],
)
def test_another_task_size_gets_its_own_pool(cpu: str, memory: str, processes: str) -> None:
    template = worker_template(cpu=cpu, memory=memory)
    task_definition = render.render(template, sample_values(template))
    assert environment(task_definition)["WORKER_CONCURRENCY"] == processes
    assert render.problems(task_definition) == []


def test_the_default_layout_fits_the_8_gb_task_and_a_fourth_process_would_not() -> None:
    """3 processes x max(1826 MB peak on a 48 MP PNG, the 2048 MB replacement cap) + 256 MB
    for the main process = 6400 MB of 8192; 4 would need 8448 MB, and 4 vCPU's 6 in 8 GB
    12544 MB."""
    assert 3 * render.POOL_PROCESS_CAP_MB + render.MAIN_PROCESS_MB <= 8192
    assert 4 * render.POOL_PROCESS_CAP_MB + render.MAIN_PROCESS_MB > 8192
    template = worker_template(cpu="4096", memory="8192")
    problems = render.problems(render.render(template, sample_values(template)))
    assert problems == [
        "memory 8192 MiB holds less than 6 pool processes at 2048 MB and the main process "
        "(12544 MB)"
    ]


@pytest.mark.parametrize(
    ("cpu", "processes"), [(256, 1), (512, 1), (1024, 2), (2048, 3), (3072, 5), (4096, 6)]
)
def test_three_processes_per_two_vcpus_rounded_up(cpu: int, processes: int) -> None:
    assert render.worker_processes(cpu) == processes


def test_the_figures_are_the_documented_measurements() -> None:
    operations = (REPO_ROOT / "docs/operations.md").read_text()
    assert f"**{render.POOL_PROCESS_PEAK_MB} MB**" in operations  # bench-soak's peak
    performance = (REPO_ROOT / "docs/performance.md").read_text()
    assert "three pool processes per two vCPUs" in " ".join(performance.split())


def test_planted_literal_concurrency_is_refused() -> None:
    """The mistake: a literal that disagrees with the task's vCPUs (the old one process per
    vCPU, say)."""
    template = worker_template().replace("${worker_concurrency}", "2")
    problems = render.problems(render.render(template, sample_values(template)))
    assert "WORKER_CONCURRENCY 2 is not the layout for cpu 2048 (3 processes)" in problems


@needs_terraform
def test_terraform_derives_the_same_concurrency() -> None:
    expression = load_terraform().locals["worker_concurrency"]
    expression = re.sub(r"^\$\{(.*)\}$", r"\1", expression, flags=re.DOTALL)
    expression = expression.replace("${path.module}", str(TERRAFORM_DIR))
    template = (ECS_DIR / "worker.json").read_text()
    assert (
        terraform_console(TERRAFORM_DIR, expression)
        == (render.derived_values(template)["worker_concurrency"])
    )
