"""``blueprint serve`` as a real subprocess on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, _create_schema, _drop_schema, _with_schema, postgis_url

START_TIMEOUT_S = 180  # waiting for the server to come up, not a performance assertion


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """A running ``blueprint serve``: its base URL, process and log file."""

    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        """Everything the server (and its workers) logged so far."""
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        """Ask the server to stop (SIGTERM, as systemd does); its exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


@contextmanager
def running_server(data: Path) -> Iterator[str]:
    """Serve the sample city from a fresh embedded store in ``data``; yield the base URL."""
    with serving(data) as server:
        yield server.base


@contextmanager
def serving(data: Path, *, workers: int = 1, database_url: str = "",
            extra_env: dict[str, str] | None = None,
            options: tuple[str, ...] = ()) -> Iterator[LiveServer]:
    """``blueprint serve --sample --workers N`` (and ``options``) on a free port, on a fresh
    store: embedded in ``data``, or PostGIS at ``database_url``; yield the running
    :class:`LiveServer`."""
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "BLUEPRINT_DATA_DIR": str(data), "BLUEPRINT_DATABASE_URL": database_url,
           "BLUEPRINT_BASEMAP_URL": "", "PYTHONPATH": str(REPO), **(extra_env or {})}
    log_path = data / "serve.log"
    log = log_path.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "blueprint.service", "serve", "--sample",
                             "--port", str(port), "--workers", str(workers), *options],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(base=f"http://127.0.0.1:{port}", proc=proc, log=log_path)
    try:
        _wait_until_up(proc, server.base, log_path)
        _wait_for_workers(server, workers)
        yield server
    finally:
        try:
            server.stop()
        finally:
            log.close()


#: The password of every user a browser test's server is given (:func:`serving_city`).
PASSWORD = "browser-test-password"
#: A user of a served city: name, role, county (None: city level), department.
ServedUser = tuple[str, str, "str | None", "str | None"]


@contextmanager
def serving_city(data: Path, users: list[ServedUser],
                 setup: Callable[[Any], None] | None = None) -> Iterator[str]:
    """:func:`serving` the sample city with ``users`` (each with :data:`PASSWORD`) and
    whatever ``setup(store)`` records through the core; yield the server's base URL."""
    from blueprint.layers.store import open_store
    from blueprint.layers.users import create_user

    with serving(data) as live:
        store = open_store("", data)
        try:
            for name, role, county, department in users:
                create_user(name, role, county, store=store, actor="test",
                            department=department, password=PASSWORD)
            if setup is not None:
                setup(store)
        finally:
            store.close()
        yield live.base


@contextmanager
def postgis_schema() -> Iterator[str]:
    """A fresh, empty PostGIS schema for a server; yield its URL (dropped afterwards)."""
    url = postgis_url()
    assert url is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _create_schema(url, schema)
    try:
        yield _with_schema(url, schema)
    finally:
        _drop_schema(url, schema)


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


def _wait_for_workers(server: LiveServer, workers: int) -> None:
    """The first worker answers before the others have started: wait for all of them."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while server.log_text().count("Application startup complete") < workers:
        if server.proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"not all {workers} workers started:\n{server.log_text()}")
        time.sleep(0.2)
