"""``blueprint serve --workers N``: N worker processes, each with its own store, serve requests
and stop cleanly on SIGTERM (what systemd sends)."""

from __future__ import annotations

import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.live_server import LiveServer, serving

ACCESS = re.compile(r"\[(\d+)\] [\d.]+:\d+ - \"GET /api/layers HTTP/1.1\" 200")
STARTED = re.compile(r"Started server process \[(\d+)\]")


def children(pid: int) -> set[int]:
    """Process ids of the live children of ``pid`` (``ps``, no extra package)."""
    done = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                          text=True, check=False)
    return {int(p) for p in done.stdout.split()}


def pids_serving(server: LiveServer) -> set[int]:
    """The worker process ids that the access log shows answering requests."""
    return {int(p) for p in ACCESS.findall(server.log_text())}


def get_layers(base: str) -> int:
    # A new connection per request: the kernel hands each to whichever worker accepts.
    with httpx.Client(base_url=base, timeout=60) as client:
        return client.get("/api/layers").status_code


def test_two_workers_both_serve_and_shut_down_cleanly(tmp_path: Path):
    with serving(tmp_path / "bp", workers=2) as server:
        workers = {int(p) for p in STARTED.findall(server.log_text())}
        assert len(workers) == 2 and server.proc.pid not in workers
        assert workers <= children(server.proc.pid)
        deadline = time.monotonic() + 60
        with ThreadPoolExecutor(8) as pool:
            while pids_serving(server) != workers and time.monotonic() < deadline:
                assert set(pool.map(get_layers, [server.base] * 16)) == {200}
                time.sleep(0.2)  # the access log is written by the workers
        assert pids_serving(server) == workers, server.log_text()
        assert server.stop() == 0, server.log_text()
    assert not children(server.proc.pid)
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid)
    log = server.log_text()
    assert "Traceback" not in log and "died" not in log
    assert log.count("Finished server process") == 2


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return "zombie"
