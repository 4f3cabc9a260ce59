"""Stress: 32 concurrent clients vet sites against ``blueprint serve --workers 2``.

On both engines, for a bounded time: no crash, no 5xx, no dropped connection, every
answer a valid report equal to the one the same site got when asked alone, and the server
and both its workers still alive (none died and was restarted) at the end. It also holds
``--workers``: two worker processes, each answering a share of the requests, and a clean
exit on SIGTERM with no process left behind. Marked ``stress`` so it is clearly a load
test; it runs in CI like every other test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import shapely

from blueprint.analysis.site import read_site
from blueprint.layers.errors import BlueprintError
from tests.conftest import SAMPLE
from tests.live_server import postgis_schema, serving

CLIENTS = 32
SECONDS = float(os.environ.get("BLUEPRINT_STRESS_SECONDS", "8"))
STARTED = re.compile(r"Started server process \[(\d+)\]")
# uvicorn's access log, with the worker's pid (service/cli/serve.py, log_config)
SERVED = re.compile(r"\[(\d+)\] [\d.]+:\d+ - \"POST /api/vet HTTP/1.1\" 200")


def sample_payloads() -> list[dict[str, Any]]:
    """``/api/vet`` bodies for the sample sites (coordinate files turned into GeoJSON)."""
    bodies = []
    for path in sorted((SAMPLE / "sites").iterdir()):
        if path.suffix not in (".txt", ".geojson"):
            continue
        try:
            site = read_site(path)
        except BlueprintError:
            continue
        bodies.append({"site": json.loads(shapely.to_geojson(site.geometry)),
                       "industry": "industrial"})
    return bodies


def essence(report: dict[str, Any]) -> Any:
    """What must not change between a quiet and a busy server."""
    return (report["verdict"], report["county"], report["site"]["area_m2"],
            [(f["layer"], f["status"], f["feature_ids"], f["overlap_m2"])
             for f in report["findings"]])


def check_report(report: Any, engine: str) -> None:
    """A vetting report, as README documents it."""
    assert isinstance(report, dict)
    assert report["verdict"] in ("pass", "conditional", "fail") and report["verdict_zh"]
    assert report["engine"] == engine and report["summary_zh"].startswith("初审结论")
    assert isinstance(report["findings"], list) and report["findings"]
    assert {"layer", "status", "overlap_m2", "message"} <= set(report["findings"][0])


@pytest.mark.stress
def test_32_clients_vetting_against_two_workers(engine_name: str, tmp_path: Path):
    bodies = sample_payloads()
    assert len(bodies) >= 10
    with ExitStack() as stack:
        url = stack.enter_context(postgis_schema()) if engine_name == "postgis" else ""
        server = stack.enter_context(serving(tmp_path / "bp", workers=2, database_url=url))
        workers = {int(p) for p in STARTED.findall(server.log_text())}
        assert len(workers) == 2 and workers <= children(server.proc.pid)
        with httpx.Client(base_url=server.base, timeout=60) as client:
            answers = [client.post("/api/vet", json=body) for body in bodies]
        assert [a.status_code for a in answers] == [200] * len(bodies)
        expected = []
        for answer in answers:
            check_report(answer.json(), engine_name)
            expected.append(essence(answer.json()))
        statuses, failures = hammer(server.base, bodies, expected, engine_name)
        assert not failures, failures[:5]
        assert set(statuses) == {200} and sum(statuses.values()) >= CLIENTS
        assert server.proc.poll() is None, server.log_text()
        log = server.log_text()
        assert {int(p) for p in STARTED.findall(log)} == workers, log  # none died, replaced
        assert "died" not in log and "Traceback" not in log, log
        served = Counter(int(p) for p in SERVED.findall(log))
        assert set(served) == workers  # both workers answered
        # ... and shared the load: each worker listens on its own socket (SO_REUSEPORT),
        # so the 32 connections are spread over both instead of all landing on the first
        # worker to wake (service/workers.py); 10 % is far below an even split's spread.
        assert min(served.values()) >= 0.1 * sum(served.values()), served
        assert server.stop() == 0  # SIGTERM, as systemd stops it: a clean exit
    assert not children(server.proc.pid)
    assert server.log_text().count("Finished server process") == 2


def children(pid: int) -> set[int]:
    """Process ids of the live children of ``pid`` (``ps``, no extra package)."""
    done = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                          text=True, check=False)
    return {int(p) for p in done.stdout.split()}


def hammer(base: str, bodies: list[dict[str, Any]], expected: list[Any],
           engine: str) -> tuple[Counter[int], list[str]]:
    """``CLIENTS`` threads post sites until ``SECONDS`` pass; statuses and what went wrong."""
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)
    stop = time.monotonic() + SECONDS

    def client_loop(n: int) -> None:
        seen: Counter[int] = Counter()
        wrong: list[str] = []
        with httpx.Client(base_url=base, timeout=120) as client:
            start.wait()
            i = n
            while time.monotonic() < stop:
                i = (i + 1) % len(bodies)
                try:
                    answer = client.post("/api/vet", json=bodies[i])
                    seen[answer.status_code] += 1
                    if answer.status_code != 200:
                        wrong.append(f"site {i}: {answer.status_code} {answer.text[:200]}")
                        continue
                    check_report(answer.json(), engine)
                    if essence(answer.json()) != expected[i]:
                        wrong.append(f"site {i}: report differs from the quiet one")
                except (httpx.HTTPError, AssertionError, ValueError, KeyError) as exc:
                    wrong.append(f"site {i}: {exc!r}")
        with lock:
            statuses.update(seen)
            failures.extend(wrong)

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses, failures
