"""The API stays small: importing it pulls in no worker code, no model runtime, no socket."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, socket, sys
opened = []
real_connect = socket.socket.connect
def _record(self, address):
    opened.append(str(address))
    return real_connect(self, address)
socket.socket.connect = _record
import app.main
app.main.app.openapi()
heavy = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {"worker", "rembg", "onnxruntime", "numpy", "PIL", "pymatting"}
)
print(json.dumps({"heavy": heavy, "sockets": opened}))
"""


def test_importing_the_api_loads_no_worker_or_model_code_and_opens_no_socket() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"heavy": [], "sockets": []}
