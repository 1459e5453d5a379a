"""Start and stop real local servers for tests: a free port on 127.0.0.1, a readiness poll, and
termination by PID."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(cmd: Sequence[str], ready_url: str, log: Path, *, timeout: float = 90) -> Iterator[subprocess.Popen]:
    """Run `cmd` until `ready_url` answers, yield the process, then stop it (kill if it lingers)."""
    with log.open("w") as out:
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{cmd[0]} exited early: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(ready_url, timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"no answer from {ready_url} in {timeout:.0f} s: {log.read_text()[-2000:]}")
            time.sleep(0.3)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def flaky_proxy(upstream: str, fail_every: int) -> Iterator[tuple[str, dict[str, int]]]:
    """A real HTTP server on 127.0.0.1 that forwards to `upstream` but answers every
    `fail_every`-th POST with 503, as an overloaded inference server does. Yields its base URL
    (same path as `upstream`) and live counters of forwarded and failed requests."""
    import threading
    import urllib.error
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlsplit

    up = urlsplit(upstream)
    counts = {"posts": 0, "failed": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _forward(self, body: bytes | None) -> None:
            req = urllib.request.Request(f"{up.scheme}://{up.netloc}{self.path}", data=body, method=self.command,
                                         headers={"Content-Type": self.headers.get("Content-Type", "application/json")})
            try:
                with urllib.request.urlopen(req, timeout=120) as r:
                    status, payload, ctype = r.status, r.read(), r.headers.get("Content-Type", "application/json")
            except urllib.error.HTTPError as e:
                status, payload, ctype = e.code, e.read(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._forward(None)

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                counts["posts"] += 1
                fail = counts["posts"] % fail_every == 0
                counts["failed"] += fail
            if fail:
                payload = b'{"error": {"message": "overloaded, try again"}}'
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            self._forward(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{up.path}", counts
    finally:
        server.shutdown()
        server.server_close()
