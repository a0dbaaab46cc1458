"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe): no
port, no websocket library; commands go in on fd 3, answers come out on fd 4, each a JSON text
ended by a NUL byte. Enough to open a page, run a line of script in it and take a screenshot.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_binary() -> str:
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    pytest.skip(  # on CI, a failure (tests/conftest.py)
        "NO CHROMIUM BINARY ON PATH: the browser test did not run. "
        "Install Debian's `chromium` package (`make system-deps`)."
    )


class Page:
    """One tab of a browser, attached in flat mode (commands carry its session id)."""

    def __init__(self, browser: Browser, session_id: str) -> None:
        self.browser = browser
        self.session_id = session_id

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.send(method, session_id=self.session_id, **params)

    def evaluate(self, expression: str) -> Any:
        answer = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise AssertionError(f"{expression!r} raised: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float = 30.0) -> Any:
        """The expression's value once it is truthy (and the document has loaded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = self.evaluate("document.readyState") == "complete"
            value = self.evaluate(expression) if ready else None
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {expression!r} in the page")

    def screenshot(self, target: Path) -> None:
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        target.write_bytes(base64.b64decode(shot["data"]))


class Browser:
    def __init__(self, process: subprocess.Popen[bytes], to_browser: int, from_browser: int):
        self.process = process
        self._out = os.fdopen(to_browser, "wb")
        self._in = os.fdopen(from_browser, "rb")
        self._next_id = 0

    def send(self, method: str, *, session_id: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session_id is not None:
            command["sessionId"] = session_id
        self._out.write(json.dumps(command).encode() + b"\0")
        self._out.flush()
        while True:  # events arrive in between; only the answer to this command matters here
            message = json.loads(self._read_message())
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def _read_message(self) -> bytes:
        chunks = bytearray()
        while (byte := self._in.read(1)) != b"\0":
            if not byte:
                raise AssertionError(f"chromium closed its pipe (exit {self.process.poll()})")
            chunks += byte
        return bytes(chunks)

    def open(self, url: str, *, width: int = 1440, height: int = 900) -> Page:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(self, session)
        page.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        page.send("Page.navigate", url=url)
        return page


@contextmanager
def headless_chromium(profile: Path) -> Iterator[Browser]:
    """Chromium with the protocol on fds 3 and 4; stopped by its PID at the end."""
    to_browser_read, to_browser = os.pipe()
    from_browser, from_browser_write = os.pipe()

    def _wire_pipes() -> None:
        # In the child, before exec: the two ends become its fds 3 and 4 (copied above 9 first,
        # so neither can be overwritten by the other's dup2). dup2's copies are inheritable;
        # everything else the test process opened is not (PEP 446), hence close_fds=False.
        reads = fcntl.fcntl(to_browser_read, fcntl.F_DUPFD, 10)
        writes = fcntl.fcntl(from_browser_write, fcntl.F_DUPFD, 10)
        os.dup2(reads, 3)
        os.dup2(writes, 4)

    process = subprocess.Popen(
        [
            chromium_binary(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_wire_pipes,
        close_fds=False,
    )
    os.close(to_browser_read)
    os.close(from_browser_write)
    browser = Browser(process, to_browser, from_browser)
    try:
        yield browser
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
