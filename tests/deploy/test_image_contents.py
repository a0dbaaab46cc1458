"""The images hold the runtime packages only: no dev tooling (devtools/) and no tests/.

Three layers keep them out, and each is checked by running it: .dockerignore (what the build
context holds, as Docker's own pattern rules read it), pyproject.toml's package discovery (what
setuptools' build_py, the step `pip install .` packs into the wheel, copies) and the Dockerfile
(the final stages copy a built venv and docker/ scripts, never the source tree). The built
images themselves are checked in tests/containers/test_images.py.

The worker image holds no rembg either, nor the alpha-matting stack rembg brings: the
distributions the image installs, resolved from pyproject.toml's extras, are checked here.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from tests.deploy.checks import REPO_ROOT
from tests.deploy.conftest import replace_in
from tests.deploy.test_dockerfile import stages

DEV_ONLY = ("devtools", "tests")
RUNTIME_PACKAGES = {"app", "worker"}
FINAL_STAGES = ("base", "api", "runtime")
# rembg and the alpha-matting stack it brings, by distribution (docs/deployment.md, "A lean
# worker"): none of them may reach the worker image.
MATTING_STACK = {
    "rembg",
    "pymatting",
    "numba",
    "llvmlite",
    "scipy",
    "scikit-image",
    "opencv-python",
    "opencv-python-headless",
    "pooch",
}


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker reads it (moby/patternmatcher): `*` and `?` stay
    within one path segment, `**` spans any number of them, a trailing slash is dropped."""
    pattern = pattern.strip().strip("/")
    out, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            out, index = out + ".*", index + 2
        elif pattern[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif pattern[index] == "?":
            out, index = out + "[^/]", index + 1
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    return re.compile(out)


def in_build_context(path: str, dockerignore: str) -> bool:
    """Whether Docker sends `path` to the build: the last pattern that matches the path or one
    of its parent folders decides, a `!` pattern letting it back in."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    included = True
    for line in dockerignore.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        regex = _pattern_regex(line.removeprefix("!"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            included = negated
    return included


def build_context(root: Path) -> list[str]:
    """The repository's files (tracked or not, less git's ignores) that Docker would send."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    dockerignore = (root / ".dockerignore").read_text()
    files = [name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file()]
    return [name for name in files if in_build_context(name, dockerignore)]


def dev_files_in_context(root: Path) -> list[str]:
    return [name for name in build_context(root) if name.split("/")[0] in DEV_ONLY]


def test_the_build_context_holds_no_dev_tooling_or_tests() -> None:
    context = build_context(REPO_ROOT)
    assert dev_files_in_context(REPO_ROOT) == []
    assert {"pyproject.toml", "app/main.py", "worker/tasks.py"} <= set(context)


def test_planted_dockerignore_exception_lets_devtools_in(planted) -> None:
    root = planted(".dockerignore")
    replace_in(root / ".dockerignore", "!worker/\n", "!worker/\n!devtools/\n")
    found = dev_files_in_context(root)
    assert "devtools/local_aws.py" in found
    assert not any(name.startswith("tests/") for name in found)


def packaged_top_level(source: Path, build_lib: Path) -> set[str]:
    """What the wheel of `source` holds at its top level: setuptools' build_py, the step of
    `pip install .` that copies the discovered packages, run on that tree."""
    build_py = ["--quiet", "build_py", "--build-lib", str(build_lib)]
    result = subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", *build_py],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {path.name for path in build_lib.iterdir()}


def _source_tree(target: Path) -> Path:
    """pyproject.toml and every package folder, dev ones included: pyproject alone must keep
    them out, whatever a future .dockerignore lets through."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, target / name)
    for name in (*sorted(RUNTIME_PACKAGES), *DEV_ONLY):
        shutil.copytree(
            REPO_ROOT / name,
            target / name,
            ignore=shutil.ignore_patterns("__pycache__", ".npm", ".terraform*", "*.png", "*.jpg"),
        )
    return target


def test_the_package_holds_only_the_runtime_packages(tmp_path: Path) -> None:
    source = _source_tree(tmp_path / "source")
    assert packaged_top_level(source, tmp_path / "lib") == RUNTIME_PACKAGES


def test_planted_package_discovery_that_takes_devtools_is_found(tmp_path: Path) -> None:
    source = _source_tree(tmp_path / "source")
    replace_in(source / "pyproject.toml", '"worker", "worker.*"]', '"worker", "worker.*", "dev*"]')
    assert packaged_top_level(source, tmp_path / "lib") == RUNTIME_PACKAGES | {"devtools"}


def final_stage_copy_problems(dockerfile: Path) -> list[str]:
    """The final stages copy a finished venv from a builder stage and scripts from docker/;
    a COPY of anything else from the context would carry source files past the package."""
    problems = []
    named = stages(dockerfile)
    for stage in FINAL_STAGES:
        for keyword, args in named.get(stage, []):
            if keyword != "COPY" or "--from=" in args:
                continue
            sources = [word for word in args.split()[:-1] if not word.startswith("--")]
            problems += [
                f"{stage}: COPY {source} (only docker/ scripts may be copied from the context)"
                for source in sources
                if not source.startswith("docker/")
            ]
    return problems


def test_the_final_stages_copy_no_source_tree() -> None:
    assert final_stage_copy_problems(REPO_ROOT / "Dockerfile") == []


def test_planted_copy_of_devtools_into_the_runtime_stage_is_found(planted) -> None:
    root = planted("Dockerfile")
    replace_in(
        root / "Dockerfile",
        "COPY --from=builder-worker /opt/venv /opt/venv\n",
        "COPY --from=builder-worker /opt/venv /opt/venv\nCOPY devtools/ /opt/devtools/\n",
    )
    assert final_stage_copy_problems(root / "Dockerfile") == [
        "runtime: COPY devtools/ (only docker/ scripts may be copied from the context)"
    ]


def runtime_imports_of_dev_code(packages: list[Path]) -> list[str]:
    """Imports of devtools or tests from the runtime packages: each would fail in the image."""
    found = []
    for package in packages:
        for path in sorted(package.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                found += [
                    f"{path.relative_to(package.parent)}:{node.lineno} imports {name}"
                    for name in names
                    if name.split(".")[0] in DEV_ONLY
                ]
    return found


def test_the_runtime_packages_never_import_dev_code() -> None:
    packages = [REPO_ROOT / name for name in sorted(RUNTIME_PACKAGES)]
    assert runtime_imports_of_dev_code(packages) == []


def test_planted_import_of_devtools_is_found(tmp_path: Path) -> None:
    package = tmp_path / "worker"
    package.mkdir()
    (package / "cli.py").write_text("import os\nfrom devtools.local_aws import main\n")
    assert runtime_imports_of_dev_code([package]) == ["worker/cli.py:2 imports devtools.local_aws"]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def image_requirements(pyproject: Path, *extras: str) -> list[str]:
    """What docker/requirements.py hands pip for the image: the dependencies and the extras."""
    project = tomllib.loads(pyproject.read_text())["project"]
    optional = project["optional-dependencies"]
    return project["dependencies"] + [line for extra in extras for line in optional[extra]]


def installed_closure(requirements: list[str]) -> set[str]:
    """The distributions pip installs for `requirements`, resolved over this venv's metadata:
    `make install` installs every extra from constraints.txt, the versions the image pins."""
    found: set[str] = set()
    done: set[tuple[str, str]] = set()
    pending = [Requirement(line) for line in requirements]
    while pending:
        requirement = pending.pop()
        name = _normal(requirement.name)
        found.add(name)
        for extra in sorted(requirement.extras) or [""]:
            if (name, extra) in done:
                continue
            done.add((name, extra))
            for line in importlib.metadata.requires(requirement.name) or []:
                dependency = Requirement(line)
                if dependency.marker is None or dependency.marker.evaluate({"extra": extra}):
                    pending.append(dependency)
    return found


def test_the_worker_image_installs_no_rembg_or_matting_stack() -> None:
    closure = installed_closure(
        image_requirements(REPO_ROOT / "pyproject.toml", "worker", "flower")
    )
    assert {"onnxruntime", "numpy", "pillow", "celery", "flower"} <= closure
    assert closure & MATTING_STACK == set()


def test_planted_rembg_in_the_worker_extra_brings_the_matting_stack(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    shutil.copy2(REPO_ROOT / "pyproject.toml", pyproject)
    replace_in(pyproject, '"pillow",\n    "rich",\n]', '"pillow",\n    "rembg",\n    "rich",\n]')
    closure = installed_closure(image_requirements(pyproject, "worker", "flower"))
    assert closure & MATTING_STACK == MATTING_STACK - {"opencv-python", "opencv-python-headless"}
