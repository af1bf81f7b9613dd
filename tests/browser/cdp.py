"""A small DevTools-protocol client for Debian's headless Chromium, over a pipe.

Chromium started with `--remote-debugging-pipe` reads protocol commands on
file descriptor 3 and writes replies and events on 4, each message a JSON
object followed by a NUL byte. That needs no port, no websocket library and
no downloaded browser: the tests drive the system's `/usr/bin/chromium` with
the standard library only (playwright would add a 40 MB wheel with its own
node driver to do the same few calls).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from pydantic import JsonValue

CHROMIUM = Path("/usr/bin/chromium")
HOW_TO_GET = (
    "headless Chromium is not installed: on Debian or Ubuntu run "
    "`apt-get install chromium` (as root; `make test` does it when it can)"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-pipe",
)
JsonObject = dict[str, JsonValue]


def chromium_path() -> Path | None:
    """The system Chromium, or None (the browser tests then skip with `HOW_TO_GET`)."""
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


class CdpError(Exception):
    """The browser answered a command with an error, died, or did not answer in time."""


@dataclass
class Browser:
    """One Chromium process and the page session the tests drive."""

    process: subprocess.Popen[bytes]
    to_browser: int
    from_browser: int
    session: str = ""
    events: list[JsonObject] = field(default_factory=list)
    _buffer: bytes = b""
    _next_id: int = 0

    # -- the wire --------------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> JsonObject:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("the browser did not answer in time")
            ready, _, _ = select.select([self.from_browser], [], [], min(left, 1.0))
            if not ready:
                if self.process.poll() is not None:
                    raise CdpError(f"the browser exited with {self.process.returncode}")
                continue
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise CdpError("the browser closed its pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return cast(JsonObject, json.loads(message))

    def send(
        self,
        method: str,
        params: JsonObject | None = None,
        timeout: float = 60.0,
        session: bool = True,
    ) -> JsonObject:
        """Send one command and wait for its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        command: JsonObject = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            command["sessionId"] = self.session
        data = json.dumps(command).encode() + b"\0"
        while data:
            written = os.write(self.to_browser, data)
            data = data[written:]
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error']}")
                return cast(JsonObject, message.get("result", {}))
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60.0) -> JsonObject:
        """The first kept or coming event named `method` (it is removed from `events`)."""
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method:
                    del self.events[index]
                    return event
            message = self._read_message(deadline)
            if "method" in message:
                self.events.append(message)

    # -- what the tests use ----------------------------------------------------------------------
    def open(
        self, page: Path, width: int = 1200, height: int = 900, timeout: float = 60.0
    ) -> float:
        """Load a file into the page; the seconds until its load event."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        started = time.monotonic()
        self.send("Page.navigate", {"url": page.resolve().as_uri()})
        self.wait_for("Page.loadEventFired", timeout)
        return time.monotonic() - started

    def evaluate(self, expression: str, timeout: float = 60.0) -> JsonValue:
        """The value of a JavaScript expression in the page (raises on a thrown exception)."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout,
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression!r} threw: {result['exceptionDetails']}")
        value = result.get("result")
        assert isinstance(value, dict)
        return value.get("value")

    def mouse(self, kind: str, x: float, y: float) -> None:
        self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "none"})

    def key(self, key: str, code: str, key_code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent",
                {"type": kind, "key": key, "code": code, "windowsVirtualKeyCode": key_code},
            )

    def screenshot(self, clip: tuple[float, float, float, float] | None = None) -> bytes:
        """A PNG of the viewport, or of the page's box (left, top, width, height)."""
        params: JsonObject = {"format": "png"}
        if clip is not None:
            left, top, width, height = clip
            params["clip"] = {"x": left, "y": top, "width": width, "height": height, "scale": 1}
            params["captureBeyondViewport"] = True
        result = self.send("Page.captureScreenshot", params)
        data = result["data"]
        assert isinstance(data, str)
        return base64.b64decode(data)

    def errors(self) -> list[str]:
        """Script exceptions, console errors and policy violations seen so far, as text."""
        found: list[str] = []
        for event in self.events:
            params = event.get("params")
            assert isinstance(params, dict)
            method = event.get("method")
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {json.dumps(params)[:2000]}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(f"console: {json.dumps(params)[:2000]}")
            elif method == "Log.entryAdded":
                entry = params.get("entry")
                assert isinstance(entry, dict)
                if entry.get("level") == "error":
                    found.append(f"log: {entry.get('text')}")
        return found


@contextmanager
def launch(chromium: Path, timeout: float = 60.0) -> Iterator[Browser]:
    """Start Chromium with a fresh profile, attach to its page, and stop it afterwards."""
    command_read, command_write = os.pipe()
    reply_read, reply_write = os.pipe()

    def wire_fds() -> None:  # runs in the child, before exec
        keep_in, keep_out = os.dup(command_read), os.dup(reply_write)
        os.dup2(keep_in, 3)
        os.dup2(keep_out, 4)

    with tempfile.TemporaryDirectory(prefix="shardplan-chromium-") as profile:
        process = subprocess.Popen(
            [str(chromium), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=wire_fds,  # dup2 onto fds 3 and 4 must happen in the child
        )
        os.close(command_read)
        os.close(reply_write)
        browser = Browser(process, command_write, reply_read)
        try:
            targets = browser.send("Target.getTargets", timeout=timeout)
            infos = targets["targetInfos"]
            assert isinstance(infos, list)
            page = next(t for t in infos if isinstance(t, dict) and t.get("type") == "page")
            attached = browser.send(
                "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}
            )
            session = attached["sessionId"]
            assert isinstance(session, str)
            browser.session = session
            for domain in ("Page", "Runtime", "Log"):
                browser.send(f"{domain}.enable")
            yield browser
        finally:
            with suppress(CdpError, OSError):
                browser.send("Browser.close", timeout=10, session=False)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            os.close(command_write)
            os.close(reply_read)
