"""``blueprint serve`` as a real subprocess on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import REPO

START_TIMEOUT_S = 180  # waiting for the server to come up, not a performance assertion


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(data: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve the sample city from a fresh embedded store in ``data``; yield the base URL."""
    with server_process(data, extra_env) as (base, _proc):
        yield base


@contextmanager
def server_process(data: Path, extra_env: dict[str, str] | None = None
                   ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As :func:`running_server`, yielding the base URL and the server's process."""
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "BLUEPRINT_DATA_DIR": str(data), "BLUEPRINT_DATABASE_URL": "",
           "BLUEPRINT_BASEMAP_URL": "", **(extra_env or {})}
    log = (data / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "service", "serve", "--sample", "--port",
                             str(port)],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(proc, base, data / "serve.log")
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait_until_up(proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"blueprint serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/api/layers", timeout=5) as answer:
                if answer.status == 200 and json.load(answer):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"blueprint serve did not answer:\n{log.read_text()}")
