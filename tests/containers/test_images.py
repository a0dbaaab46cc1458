"""The two images as built: their configuration, what they hold, and that what they hold runs
as uid 10001 on a read-only root."""

from __future__ import annotations

import json
import subprocess

import pytest

from devtools import podman

pytestmark = pytest.mark.container

# rembg and the alpha-matting stack it brings (docs/deployment.md, "A lean worker"), by module.
MATTING_STACK = ("rembg", "pymatting", "numba", "llvmlite", "scipy", "skimage", "cv2", "pooch")


@pytest.mark.parametrize("target", ["runtime", "api"])
def test_the_image_keeps_its_health_check_and_runs_as_uid_10001(
    images: dict[str, str], target: str
) -> None:
    config = podman.image_config(images[target])
    assert config["User"] == "10001:10001"
    # buildah drops HEALTHCHECK from OCI-format images; the build asks for the docker format.
    assert config["Healthcheck"] is not None
    assert config["Healthcheck"]["Test"] == ["CMD", "image-processor-healthcheck"]
    # The commit it was built from, which the deploy's smoke test compares (.ci/build-images).
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert f"BUILD_COMMIT={commit}" in config["Env"]
    assert config["Labels"]["org.opencontainers.image.revision"] == commit


def test_the_api_image_starts_its_console_scripts_and_holds_no_model_stack(
    images: dict[str, str],
) -> None:
    # Its venv was built at another path and copied: every shebang pointed nowhere.
    for script in ("uvicorn", "alembic", "celery"):
        result = podman.run_once(images["api"], [script, "--version"])
        assert result.passed, (script, result.output)
    absent = podman.run_once(
        images["api"],
        [
            "python",
            "-c",
            "import importlib.util as u, sys; "
            "found = [m for m in ('rembg', 'onnxruntime', 'numba', 'flower') if u.find_spec(m)]; "
            "sys.exit(f'present: {found}' if found else 0)",
        ],
    )
    assert absent.passed, absent.output


def test_the_runtime_image_holds_verified_models_and_no_matting_stack(
    images: dict[str, str],
) -> None:
    verified = podman.run_once(images["runtime"], ["image-processor", "models", "verify"])
    assert verified.passed, verified.output
    assert "u2net: /opt/u2net/u2net.onnx ok" in verified.output
    assert "u2netp: /opt/u2net/u2netp.onnx ok" in verified.output
    # The worker's own modules and onnxruntime are there; nothing of rembg's stack is, and no
    # JIT cache was built or seeded.
    probe = (
        "import importlib.util as u, os, sys; "
        "import worker.tasks, worker.models.onnx_model, onnxruntime; "
        f"found = [m for m in {MATTING_STACK!r} if u.find_spec(m)]; "
        "found += [p for p in ('/opt/numba-cache', '/tmp/numba') if os.path.exists(p)]; "
        "sys.exit(f'present: {found}' if found else 0)"
    )
    result = podman.run_once(images["runtime"], ["python", "-c", probe])
    assert result.passed, result.output


# Run inside each image: the project's files as pip installed them, and what else is importable.
_CONTENTS_PROBE = """
import importlib.metadata, importlib.util, json, pathlib
tops = {f.parts[0] for f in importlib.metadata.distribution("image-processor").files}
print(json.dumps({
    # `..` is the console script in the venv's bin/; the dist-info is pip's own record.
    "packaged": sorted(top for top in tops if top != ".." and not top.endswith(".dist-info")),
    "importable": [name for name in ("devtools", "tests") if importlib.util.find_spec(name)],
    "scripts": sorted(p.name for p in pathlib.Path("/opt/image-processor").iterdir()),
}))
"""


@pytest.mark.parametrize("target", ["runtime", "api"])
def test_the_image_holds_the_runtime_packages_and_no_dev_tooling(
    images: dict[str, str], target: str
) -> None:
    """tests/deploy/test_image_contents.py checks what keeps dev tooling out; this, the result."""
    result = podman.run_once(images[target], ["python", "-c", _CONTENTS_PROBE])
    assert result.passed, result.output
    contents = json.loads(result.output.strip().splitlines()[-1])
    assert contents == {
        "packaged": ["app", "worker"],
        "importable": [],
        "scripts": ["rds-ca-roots.pem", "smoke_test.py"],
    }


# The task definitions' DATABASE_SSLROOTCERT (tests/deploy/test_database_tls.py): libpq loads it
# with OpenSSL, as this does, as the task's user on the read-only root.
_BUNDLE_PROBE = """
import ssl
context = ssl.create_default_context(cafile="/opt/image-processor/rds-ca-roots.pem")
print(len(context.get_ca_certs()))
"""


@pytest.mark.parametrize("target", ["runtime", "api"])
def test_the_image_holds_the_rds_ca_bundle_its_task_definitions_name(
    images: dict[str, str], target: str
) -> None:
    result = podman.run_once(images[target], ["python", "-c", _BUNDLE_PROBE])
    assert result.passed, result.output
    assert result.output.strip().splitlines()[-1] == "81"
