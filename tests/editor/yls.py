"""The real yaml-language-server, installed once under `.cache/yls` and spoken to over stdio.

The editor test must exercise the engine users run (VS Code's YAML extension,
Neovim's and Helix's YAML support all embed this server), not our reading of
its documentation. npm installs a pinned version once; later runs reuse it.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
YLS_VERSIONS = ("1.19.2", "1.25.0")
"""Pinned: the last release that only knows draft-07 (what many installed editors run) and the
newest 1.x (2.x needs node 22). The schema must work in both."""
YLS_CACHE = REPO / ".cache" / "yls"

JsonObject = dict[str, object]


def ensure_yaml_language_server(version: str) -> Path | None:
    """Path of the server's entry script, installing it first if needed; None without node/npm."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    prefix = YLS_CACHE / version
    entry = prefix / "node_modules" / "yaml-language-server" / "bin" / "yaml-language-server"
    if entry.is_file():
        return entry
    prefix.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--loglevel=error",
            f"yaml-language-server@{version}",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return entry


@dataclass
class Diagnostic:
    """The part of an LSP diagnostic the tests compare: 1-based start line, message."""

    line: int
    end_line: int
    message: str
    severity: int


@dataclass
class LanguageServer:
    """A minimal LSP client: JSON-RPC over the server's stdin/stdout."""

    process: subprocess.Popen[bytes]
    settings: JsonObject
    _inbox: queue.Queue[JsonObject] = field(default_factory=queue.Queue)
    _next_id: int = 1
    diagnostics: dict[str, list[Diagnostic]] = field(default_factory=dict)

    @classmethod
    def start(cls, entry: Path, settings: JsonObject) -> LanguageServer:
        process = subprocess.Popen(
            ["node", str(entry), "--stdio"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        server = cls(process=process, settings=settings)
        threading.Thread(target=server._read_loop, daemon=True).start()
        return server

    def _read_loop(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = 0
            while True:
                header = stream.readline()
                if not header:
                    return
                if header in (b"\r\n", b"\n"):
                    break
                name, _, value = header.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
            self._inbox.put(json.loads(stream.read(length)))

    def _send(self, message: JsonObject) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        stdin.flush()

    def request(self, method: str, params: JsonObject, timeout: float = 30.0) -> object:
        request_id = self._next_id
        self._next_id += 1
        self._send({"id": request_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("id") == request_id and "method" not in message:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return message.get("result")

    def notify(self, method: str, params: JsonObject) -> None:
        self._send({"method": method, "params": params})

    def _receive(self, deadline: float) -> JsonObject:
        """The next message, answering the server's own requests and recording diagnostics."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("yaml-language-server did not answer in time")
            message = self._inbox.get(timeout=remaining)
            method = message.get("method")
            if method == "textDocument/publishDiagnostics":
                params = message["params"]
                assert isinstance(params, dict)
                self.diagnostics[str(params["uri"])] = [
                    Diagnostic(
                        line=int(d["range"]["start"]["line"]) + 1,
                        end_line=int(d["range"]["end"]["line"]) + 1,
                        message=str(d["message"]),
                        severity=int(d.get("severity", 1)),
                    )
                    for d in params["diagnostics"]
                ]
            if isinstance(method, str) and "id" in message:
                self._answer(message)
                continue
            return message

    def _answer(self, message: JsonObject) -> None:
        result: object = None
        if message["method"] == "workspace/configuration":
            params = message["params"]
            assert isinstance(params, dict)
            result = [
                self.settings.get(str(item.get("section", "")).split(".")[0])
                for item in params["items"]
            ]
        self._send({"id": message["id"], "result": result})

    def initialize(self, root: Path) -> None:
        self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri(),
                "capabilities": {
                    "workspace": {"configuration": True, "didChangeConfiguration": {}},
                    "textDocument": {"publishDiagnostics": {"relatedInformation": False}},
                },
                "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            },
        )
        self.notify("initialized", {})
        self.notify("workspace/didChangeConfiguration", {"settings": self.settings})

    def open_and_wait(self, path: Path, timeout: float = 20.0) -> list[Diagnostic]:
        """Open a document and wait for its diagnostics (the server publishes them once validated)."""
        uri = path.resolve().as_uri()
        self.diagnostics.pop(uri, None)
        self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "yaml",
                    "version": 1,
                    "text": path.read_text(encoding="utf-8"),
                }
            },
        )
        deadline = time.monotonic() + timeout
        while uri not in self.diagnostics:
            try:
                self._receive(deadline)
            except queue.Empty as empty:  # no verdict is not "no problems"
                raise TimeoutError(f"no diagnostics published for {path}") from empty
        return self.diagnostics[uri]

    def close(self, path: Path) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": path.resolve().as_uri()}})

    def stop(self) -> None:
        try:
            self.request("shutdown", {}, timeout=5.0)
            self.notify("exit", {})
            self.process.wait(timeout=5)
        except (TimeoutError, queue.Empty, OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


if __name__ == "__main__":  # `python -m tests.editor.yls`: install ahead of the test run
    for pinned in YLS_VERSIONS:
        print(ensure_yaml_language_server(pinned) or "node/npm not found: nothing installed")
