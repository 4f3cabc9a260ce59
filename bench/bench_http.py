"""Benchmark: ``POST /api/vet`` under 32 concurrent clients, 1 and 2 workers, both engines.

Loads the sample city into a fresh embedded store and (with BLUEPRINT_BENCH_DATABASE_URL
or BLUEPRINT_TEST_DATABASE_URL) a fresh PostGIS schema, starts the real server
(`python -m blueprint.service serve --workers W`) on a loopback port for each engine and
worker count, and drives it with C concurrent clients (asyncio + httpx, keep-alive, one
connection each) for D seconds, each client posting seeded random sites (1–30 ha inside
the city) one after the other. Counts every answer that is not 200 as an error, and
writes docs/benchmarks-http.md.

Run:  python bench/bench_http.py --clients 32 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import numpy as np
import shapely

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_vetting import machine, postgres_version, random_sites  # noqa: E402
from bench.common import bench_database_url, child_env, sample_stores  # noqa: E402
from blueprint.layers.store import Store  # noqa: E402


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(store: Store, workers: int, port: int) -> subprocess.Popen[bytes]:
    """``blueprint serve`` on ``port``; returns once it answers."""
    env = child_env(store)
    server = subprocess.Popen([sys.executable, "-m", "blueprint.service", "serve", "--port",
                               str(port), "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/layers", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_server(server)
    raise SystemExit("the server did not answer within 180 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Ctrl+C for the server (uvicorn stops its workers), then wait for it."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


async def drive(port: int, bodies: list[dict[str, object]], clients: int,
                seconds: float) -> dict[str, object]:
    """``clients`` loops posting sites for ``seconds``; latencies and non-200 answers."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    stop_at = time.perf_counter() + seconds

    async def client(k: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                     timeout=60) as http:
            i = k
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                try:
                    answer = await http.post("/api/vet", json=bodies[i % len(bodies)])
                    status = str(answer.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                if status == "200":
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors[status] = errors.get(status, 0) + 1
                i += clients

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    return {"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - started}


def main() -> None:
    """Every engine × worker count, then the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--sites", type=int, default=500)
    args = parser.parse_args()
    url = bench_database_url()
    load_start = os.getloadavg()
    results: dict[tuple[str, int], dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp_name, \
            sample_stores(Path(tmp_name), url) as stores:
        bodies = [{"site": shapely.geometry.mapping(s.geometry), "industry": "industrial"}
                  for s in random_sites(stores["embedded"], args.sites)]
        for workers in (int(w) for w in args.workers.split(",")):
            for name, store in stores.items():
                port = free_port()
                server = start_server(store, workers, port)
                try:
                    asyncio.run(drive(port, bodies[:8], 4, 3))  # warm every worker
                    results[(name, workers)] = asyncio.run(
                        drive(port, bodies, args.clients, args.seconds))
                finally:
                    stop_server(server)
    write_report(args, results, url, load_start, os.getloadavg())
    bad = {k: v["errors"] for k, v in results.items() if v["errors"]}
    if bad:
        raise SystemExit(f"errors: {bad}")


def write_report(args: argparse.Namespace, results: dict[tuple[str, int], dict[str, object]],
                 url: str | None, load_start: tuple[float, float, float],
                 load_end: tuple[float, float, float]) -> None:
    """docs/benchmarks-http.md."""
    rows = []
    for (name, workers), r in results.items():
        ms = np.array(r["latencies"]) * 1000  # type: ignore[arg-type]
        errors = r["errors"]
        n_err = sum(errors.values())  # type: ignore[attr-defined]
        shown = ", ".join(f"{k}: {v}" for k, v in errors.items()) if n_err else "0"  # type: ignore[attr-defined]
        rows.append(f"| {name} | {workers} | {args.clients} | {r['seconds']:.0f} | {len(ms)} | "
                    f"{shown} | {len(ms) / r['seconds']:.1f} | {np.percentile(ms, 50):.0f} | "  # type: ignore[operator]
                    f"{np.percentile(ms, 95):.0f} | {np.percentile(ms, 99):.0f} |")
    pg = f"PostgreSQL: {postgres_version(url)}." if url else "PostGIS: not measured (no URL)."
    text = f"""# HTTP vetting under load

Generated by `python bench/bench_http.py --clients {args.clients} --seconds {args.seconds:g}`
on {date.today()}; do not edit by hand.

Machine: {machine()}. {pg}
**The machine was shared with other jobs during the run** (other test suites and a soak
test): load average {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end. The
load generator (this script: asyncio + httpx) runs on the same cores as the server.

The real server (`blueprint serve --workers W`, uvicorn, each worker process with its own
store; every process pinned to one native thread: `OMP_NUM_THREADS`, `MKL_NUM_THREADS`,
`OPENBLAS_NUM_THREADS`, `GDAL_NUM_THREADS`, `NUMEXPR_NUM_THREADS` = 1) on a loopback port,
the sample city (Liaocheng) loaded. {args.clients} clients, each with one keep-alive
connection, post `POST /api/vet` (a random 1–30 ha site, seeded, industry `industrial`,
JSON report) back to back for {args.seconds:g} s, after a short warm-up. Latency is per
request as the client sees it (queueing included). An error is any answer other than 200
or a failed connection.

| engine | workers | clients | s | requests | errors | req/s | p50 ms | p95 ms | p99 ms |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""
    (REPO / "docs" / "benchmarks-http.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
