"""Dockerfile: hadolint with every ignore justified, the image's invariants, the same model
provisioning commands CI runs and nothing of the JIT warm-up the lean worker dropped, and the
entrypoint's process types."""

from __future__ import annotations

import re
from pathlib import Path

from app.settings import Settings
from tests.deploy.checks import REPO_ROOT
from tests.deploy.conftest import find_tool, replace_in, run

DOCKERFILE = REPO_ROOT / "Dockerfile"
ENTRYPOINT = REPO_ROOT / "docker" / "entrypoint.sh"

# The process types and their commands: the contract with app/ and worker/.
CONTRACT_COMMANDS = {
    "api": "uvicorn app.main:app --host 0.0.0.0 --port 8000",
    "worker": "celery -A worker.celery_app worker --loglevel=INFO",
    "beat": "celery -A worker.celery_app beat --loglevel=INFO",
    "flower": "python -m worker.flower",
    "migrate": "python -m app.migrate",
}


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined, current = [], ""
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        current += line.rstrip("\\").strip() + " " if line.rstrip().endswith("\\") else line.strip()
        if not line.rstrip().endswith("\\"):
            if current.strip():
                keyword, _, rest = current.strip().partition(" ")
                joined.append((keyword.upper(), rest))
            current = ""
    return joined


def hadolint_problems(root: Path) -> list[str]:
    result = run([find_tool("hadolint"), "--no-color", "Dockerfile"], cwd=root)
    problems = result.stdout.strip().splitlines() if result.returncode else []
    lines = (root / "Dockerfile").read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore=" in line:
            start = number  # the comment block right above the pragma must name each code
            while start > 0 and lines[start - 1].lstrip().startswith("#"):
                start -= 1
            above = " ".join(lines[start:number])
            codes = line.split("ignore=")[1].split(",")
            if not all(code.strip() in above for code in codes):
                problems.append(
                    f"Dockerfile:{number + 1}: ignore of {codes} without a reason above it"
                )
    return problems


def test_hadolint_is_clean_and_every_ignore_is_justified() -> None:
    assert hadolint_problems(REPO_ROOT) == []


def test_planted_mistake_fails_hadolint(planted) -> None:
    root = planted("Dockerfile")
    replace_in(
        root / "Dockerfile",
        "USER 10001:10001\nEXPOSE 8000 5555",
        "RUN cd /tmp && pip install requests\nUSER 10001:10001\nEXPOSE 8000 5555",
    )
    found = hadolint_problems(root)
    assert any("DL3003" in p for p in found), found  # cd instead of WORKDIR
    assert any("DL3013" in p for p in found), found  # unpinned pip install


def test_planted_unjustified_ignore_is_refused(planted) -> None:
    root = planted("Dockerfile")
    replace_in(
        root / "Dockerfile", "# DL3029: x86_64 on purpose, as for the builder.\n", "", count=1
    )
    assert any("without a reason" in p for p in hadolint_problems(root))


def ci_provisioning_commands() -> list[str]:
    """The `image-processor ...` commands of the Makefile targets CI runs to provision the
    models (`make test` depends on `models`, and on `warmup`, which now warms only the dev
    venv's rembg reference and runs no `image-processor` command)."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    commands = []
    for target in ("models", "warmup"):
        match = re.search(rf"^{target}:.*\n((?:\t.*\n?)+)", makefile, re.MULTILINE)
        for line in match.group(1).splitlines() if match else []:
            command = re.search(r"image-processor\s+[\w -]+", line)
            if command:
                commands.append(" ".join(command.group(0).split()))
    return commands


def dockerfile_provisioning_problems(dockerfile: Path) -> list[str]:
    runs = " ".join(args for keyword, args in instructions(dockerfile) if keyword == "RUN")
    needed = {
        *ci_provisioning_commands(),
        "image-processor models fetch",
        "image-processor models verify",
    }
    return [f"the Dockerfile does not run `{c}`" for c in sorted(needed) if c not in runs]


def test_the_image_provisions_like_ci() -> None:
    assert ci_provisioning_commands() == ["image-processor models fetch"]
    assert dockerfile_provisioning_problems(DOCKERFILE) == []


def test_planted_missing_verify_is_refused(planted) -> None:
    root = planted("Dockerfile")
    replace_in(root / "Dockerfile", "image-processor models verify", "true")
    assert dockerfile_provisioning_problems(root / "Dockerfile") == [
        "the Dockerfile does not run `image-processor models verify`"
    ]


def lean_worker_problems(dockerfile: Path, entrypoint: Path) -> list[str]:
    """The worker imports no rembg, so nothing of numba's JIT cache may come back: no warm-up
    at build, no NUMBA_* setting, no cache seeded by the entrypoint. And no MODEL_CHAIN in the
    image: the settings default rules unless a deploy sets its own."""
    problems = []
    for keyword, args in instructions(dockerfile):
        if "numba" in args.lower():
            problems.append(f"Dockerfile: {keyword} mentions numba")
        if keyword == "RUN" and "image-processor warmup" in args:
            problems.append("Dockerfile: RUN image-processor warmup")
        if keyword == "ENV" and "MODEL_CHAIN" in args:
            problems.append("Dockerfile: ENV MODEL_CHAIN overrides the settings default")
    commands = [
        line for line in entrypoint.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    if any("numba" in line.lower() for line in commands):
        problems.append("docker/entrypoint.sh: seeds a numba cache")
    return problems


def test_the_worker_image_has_no_jit_warmup_and_no_model_chain() -> None:
    assert lean_worker_problems(DOCKERFILE, ENTRYPOINT) == []


def test_planted_warmup_and_numba_cache_are_refused(planted) -> None:
    root = planted("Dockerfile", "docker/entrypoint.sh")
    replace_in(
        root / "Dockerfile",
        "ENV U2NET_HOME=/opt/u2net\n",
        "ENV U2NET_HOME=/opt/u2net \\\n    NUMBA_CACHE_DIR=/tmp/numba \\\n"
        "    MODEL_CHAIN=u2net,u2netp\n",
    )
    replace_in(
        root / "Dockerfile",
        " && chmod -R a+rX,a-w /opt/u2net\n",
        " && chmod -R a+rX,a-w /opt/u2net \\\n && image-processor warmup\n",
    )
    replace_in(
        root / "docker/entrypoint.sh",
        "set -eu\n",
        'set -eu\ncp -R /opt/numba-cache/. "${NUMBA_CACHE_DIR:-/tmp/numba}/"\n',
    )
    problems = lean_worker_problems(root / "Dockerfile", root / "docker/entrypoint.sh")
    assert problems == [
        "Dockerfile: ENV mentions numba",
        "Dockerfile: ENV MODEL_CHAIN overrides the settings default",
        "Dockerfile: RUN image-processor warmup",
        "docker/entrypoint.sh: seeds a numba cache",
    ]


# The Python each Debian release ships: the stand-in base CI builds the image on.
DEBIAN_PYTHON = {"bookworm": "3.11", "trixie": "3.13"}


def standin_release() -> tuple[str, str]:
    """(Debian release, Python minor) of the stand-in base .ci/base-image debootstraps."""
    script = (REPO_ROOT / ".ci" / "base-image").read_text()
    release = re.search(r"debootstrap --variant=minbase (\w+) ", script).group(1)
    return release, DEBIAN_PYTHON[release]


def image_problems(dockerfile: Path) -> list[str]:
    steps = instructions(dockerfile)
    text = dockerfile.read_text()
    problems = []
    froms = [args for keyword, args in steps if keyword == "FROM"]
    if len(froms) < 2:
        problems.append("not multi-stage")
    for args in froms:
        if not args.startswith("--platform=linux/amd64") and args.split()[0] not in {
            "builder",
            "base",
            "builder-api",
            "builder-worker",
        }:
            problems.append(f"FROM {args}: not linux/amd64")
    base = re.search(r"^ARG PYTHON_IMAGE=python:(\d+\.\d+)\.\d+-slim-(\w+)$", text, re.MULTILINE)
    release, minor = standin_release()
    if not base or base.groups() != (minor, release):
        problems.append(
            f"base image is not a version-pinned python:{minor}.x-slim-{release}, "
            "the Python and Debian release of CI's stand-in base (.ci/base-image)"
        )
    users = [args for keyword, args in steps if keyword == "USER"]
    if not users or any(u.split(":")[0] in {"0", "root"} for u in users):
        problems.append("the image must end as a non-root user")
    if not any(keyword == "HEALTHCHECK" for keyword, _ in steps):
        problems.append("no HEALTHCHECK")
    env = " ".join(args for keyword, args in steps if keyword == "ENV")
    if "U2NET_HOME=/opt/u2net" not in env:
        problems.append("ENV U2NET_HOME=/opt/u2net missing")
    runs = " ".join(args for keyword, args in steps if keyword == "RUN")
    if "requirements.py worker flower" not in runs or "-c constraints.txt -r" not in runs:
        problems.append("dependencies must install from constraints.txt with .[worker,flower]")
    return problems


def test_image_invariants() -> None:
    assert image_problems(DOCKERFILE) == []


def test_planted_python_that_ci_cannot_build_is_refused(planted) -> None:
    root = planted("Dockerfile")
    replace_in(root / "Dockerfile", "python:3.11.14-slim-bookworm", "python:3.12.12-slim-bookworm")
    assert any("stand-in base" in problem for problem in image_problems(root / "Dockerfile"))


def test_planted_root_user_is_refused(planted) -> None:
    root = planted("Dockerfile")
    replace_in(root / "Dockerfile", "USER 10001:10001", "USER root")
    assert "the image must end as a non-root user" in image_problems(root / "Dockerfile")


def test_dockerignore_keeps_the_context_small() -> None:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*", "ignore everything, then allow what the image needs"
    assert "!.env" not in patterns
    assert "!.venv" not in patterns


def test_entrypoint_runs_the_contract_commands() -> None:
    script = ENTRYPOINT.read_text()
    for process, command in CONTRACT_COMMANDS.items():
        assert re.search(
            rf"^\s+{process}\)\n(?:\s+#.*\n)*\s+exec {re.escape(command)}", script, re.MULTILINE
        ), process


def test_entrypoint_passes_shellcheck(planted) -> None:
    shellcheck = find_tool("shellcheck")
    assert run([shellcheck, "docker/entrypoint.sh", "docker/healthcheck.sh"]).returncode == 0
    root = planted("docker/entrypoint.sh")
    replace_in(
        root / "docker/entrypoint.sh",
        """printf '%s\\n' "$process" >""",
        """printf '%s\\n' $process >""",
    )
    result = run([shellcheck, "docker/entrypoint.sh"], cwd=root)
    assert result.returncode != 0
    assert "SC2086" in result.stdout


def stages(dockerfile: Path) -> dict[str, list[tuple[str, str]]]:
    """The instructions of each named stage (`FROM ... AS name`), in order."""
    named: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, args in instructions(dockerfile):
        if keyword == "FROM":
            current = named.setdefault(args.split()[-1], [])
        else:
            current.append((keyword, args))
    return named


def build_commit_problems(dockerfile: Path) -> list[str]:
    """Both final images carry the commit they were built from (the deploy's smoke test
    compares it), declared after the stage's last RUN so that a new commit rebuilds nothing."""
    default = Settings.model_fields["build_commit"].default
    problems = []
    for stage in ("api", "runtime"):
        steps = stages(dockerfile).get(stage, [])
        declared = [
            i for i, step in enumerate(steps) if step[0] == "ARG" and "BUILD_COMMIT" in step[1]
        ]
        if not declared:
            problems.append(f"{stage}: no ARG BUILD_COMMIT")
            continue
        if steps[declared[0]][1] != f"BUILD_COMMIT={default}":
            problems.append(f"{stage}: ARG BUILD_COMMIT must default to {default!r}, as Settings")
        after = steps[declared[0] :]
        if ("ENV", "BUILD_COMMIT=${BUILD_COMMIT}") not in after:
            problems.append(f"{stage}: no ENV BUILD_COMMIT=${{BUILD_COMMIT}}")
        if ("LABEL", "org.opencontainers.image.revision=${BUILD_COMMIT}") not in after:
            problems.append(f"{stage}: no LABEL org.opencontainers.image.revision")
        if any(keyword == "RUN" for keyword, _ in after):
            problems.append(f"{stage}: a RUN after ARG BUILD_COMMIT reruns on every commit")
    return problems


def test_both_images_carry_their_commit() -> None:
    assert build_commit_problems(DOCKERFILE) == []


def test_planted_api_image_without_its_commit_is_refused(planted) -> None:
    root = planted("Dockerfile")
    replace_in(root / "Dockerfile", "ENV BUILD_COMMIT=${BUILD_COMMIT}\n", "", count=1)
    assert build_commit_problems(root / "Dockerfile") == [
        "api: no ENV BUILD_COMMIT=${BUILD_COMMIT}"
    ]


def test_planted_commit_above_the_model_layer_is_refused(planted) -> None:
    root = planted("Dockerfile")
    replace_in(
        root / "Dockerfile",
        "RUN image-processor models fetch",
        "ARG BUILD_COMMIT=unknown\nRUN image-processor models fetch",
    )
    assert build_commit_problems(root / "Dockerfile") == [
        "runtime: a RUN after ARG BUILD_COMMIT reruns on every commit"
    ]
