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
