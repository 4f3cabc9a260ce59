"""Benchmark: ``POST /api/vet`` under 32 concurrent clients, 1 and 2 workers, both engines.

Loads the sample city into a fresh embedded store and (with BLUEPRINT_BENCH_DATABASE_URL
or BLUEPRINT_TEST_DATABASE_URL) a fresh PostGIS schema, starts the real server
(`python -m blueprint.service serve --workers W`) on a loopback port for each engine and
worker count, and drives it with C concurrent keep-alive connections for D seconds, each
posting seeded random sites (1–30 ha inside the city, rotated) one after the other.

The load generator is ``wrk`` (C, one thread, a Lua script holding the request bodies,
pinned with ``taskset`` to the last CPU) when it is on PATH, else this script (asyncio +
httpx, pinned the same way while it drives). The server is not pinned: its workers may run
on every CPU. The CPU time the server (all its processes), the PostgreSQL backends serving
it, the generator and the whole machine used during each run is measured from /proc, so the
reader sees how much of the machine each got. Every answer that is not 2xx, and every
failed connection or timeout, is an error. Writes docs/benchmarks-http.md and its plot.

Run:  python bench/bench_http.py --clients 32 --seconds 60     (about 5 minutes per
engine: loading the sample city, then 2 × (start, 3 s warm-up, 60 s run, stop))
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import shapely

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_vetting import machine, postgres_version, random_sites  # noqa: E402
from bench.common import bench_database_url, child_env, sample_stores, store_url  # noqa: E402
from blueprint.layers.store import Store  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
CPUS = sorted(os.sched_getaffinity(0))
# The generator gets the last CPU; the server may use all of them.
GENERATOR_CPU = CPUS[-1]


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(store: Store, workers: int, port: int) -> subprocess.Popen[bytes]:
    """``blueprint serve`` on ``port`` (every CPU allowed); returns once it answers."""
    env = child_env(store)
    server = subprocess.Popen([sys.executable, "-m", "blueprint.service", "serve", "--port",
                               str(port), "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              preexec_fn=lambda: os.sched_setaffinity(0, CPUS))
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


# ---------------------------------------------------------------- CPU accounting (/proc)

def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one live process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def process_waits(pid: int) -> tuple[float, float]:
    """Seconds every thread of one live process has run and has waited runnable for a CPU
    (``/proc/PID/task/*/schedstat``; threads that have ended are not counted)."""
    ran = waited = 0.0
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            on_cpu, queued = task.read_text().split()[:2]
        except (OSError, ValueError):
            continue
        ran += int(on_cpu) / 1e9
        waited += int(queued) / 1e9
    return ran, waited


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                pass
    return found


def postgres_backends(server_pids: list[int]) -> list[int]:
    """The PostgreSQL backends the server's processes are connected to (``ss`` shows
    each socket's process; ``pg_stat_activity`` each backend's client port)."""
    url = os.environ.get("BENCH_HTTP_PG_URL")
    if not url or not shutil.which("ss"):
        return []
    listing = subprocess.run(["ss", "-tnpH", "state", "established"], capture_output=True,
                             text=True).stdout
    ports = []
    for line in listing.splitlines():
        if not any(f"pid={p}," in line for p in server_pids):
            continue
        cols = line.split()
        local, peer = cols[2], cols[3]
        if peer.rsplit(":", 1)[1] == "5432" or peer.endswith(f":{url_port(url)}"):
            ports.append(local.rsplit(":", 1)[1])
    if not ports:
        return []
    out = subprocess.run(["psql", url, "-Atc", "SELECT pid FROM pg_stat_activity WHERE "
                          f"client_port IN ({','.join(ports)})"], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def url_port(url: str) -> str:
    """The port in a PostgreSQL URL (5432 when it names none)."""
    match = re.search(r"@[^/:]+:(\d+)/", url)
    return match.group(1) if match else "5432"


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (all CPUs, /proc/stat)."""
    cols = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = cols[3] + cols[4]
    return (sum(cols[:8]) - idle) / TICK


@contextmanager
def cpu_meter(server: subprocess.Popen[bytes]) -> Iterator[dict[str, Any]]:
    """CPU seconds used while the block runs: ``server`` (all its processes), ``postgres``
    (its backends), ``machine`` (every CPU busy); the caller adds ``generator``."""
    pids = descendants(server.pid)
    backends = postgres_backends(pids)
    before = {p: process_cpu(p) for p in pids + backends}
    waits0 = {p: process_waits(p)[1] for p in pids}
    machine0 = machine_busy()
    used: dict[str, Any] = {}
    yield used
    used["machine"] = machine_busy() - machine0
    pids_after = descendants(server.pid)
    used["server"] = sum(process_cpu(p) - before.get(p, 0.0) for p in pids_after)
    # The processes that did the work: uvicorn's workers, or with one worker the server itself
    # (the supervisor and multiprocessing's resource tracker use next to nothing).
    spent = {p: process_cpu(p) - before.get(p, 0.0) for p in pids_after}
    workers = [p for p in pids_after if p != server.pid and spent[p] > 0.1] or [server.pid]
    used["workers"] = sorted((spent[p] for p in workers), reverse=True)
    used["server_queued"] = sum(process_waits(p)[1] - waits0.get(p, 0.0) for p in pids_after)
    used["postgres"] = sum(process_cpu(p) - before.get(p, 0.0)
                           for p in postgres_backends(pids_after))
    used["server_processes"] = len(pids_after)


# ---------------------------------------------------------------- generators

LUA = r"""-- generated by bench/bench_http.py: POST /api/vet, bodies rotated
local bodies = {
%(bodies)s
}
local n = #bodies
local i = 0
local threads = {}
non2xx = 0
wrk.method = "POST"
wrk.path = "/api/vet"
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
  table.insert(threads, thread)
end

function request()
  i = i + 1
  return wrk.format(nil, nil, nil, bodies[(i %% n) + 1])
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "connect": %%d, ' ..
    '"read": %%d, "write": %%d, "timeout": %%d, "p50_us": %%d, "p95_us": %%d, ' ..
    '"p99_us": %%d, "max_us": %%d}\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def lua_script(bodies: list[dict[str, object]], path: Path) -> Path:
    """The wrk script posting ``bodies`` in turn (long-bracket Lua strings)."""
    items = ",\n".join(f"[==[{json.dumps(b, separators=(',', ':'))}]==]" for b in bodies)
    path.write_text(LUA % {"bodies": items}, encoding="utf-8")
    return path


def drive_wrk(port: int, script: Path, clients: int, seconds: float) -> dict[str, object]:
    """wrk, one thread, ``clients`` connections, pinned to GENERATOR_CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(["taskset", "-c", str(GENERATOR_CPU), "wrk", "-t1", f"-c{clients}",
                          f"-d{seconds:g}s", "--timeout", "60s", "-s", str(script),
                          f"http://127.0.0.1:{port}/api/vet"],
                         capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in run.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if run.returncode or line is None:
        raise SystemExit(f"wrk failed ({run.returncode}): {run.stdout}\n{run.stderr}")
    raw = json.loads(line.split(" ", 1)[1])
    errors = {k: raw[k] for k in ("non2xx", "connect", "read", "write", "timeout") if raw[k]}
    return {"requests": raw["requests"], "seconds": raw["duration_us"] / 1e6,
            "errors": errors,
            "ms": {q: raw[f"{q}_us"] / 1000 for q in ("p50", "p95", "p99", "max")},
            "generator_cpu": (after.ru_utime + after.ru_stime
                              - before.ru_utime - before.ru_stime)}


async def _drive_python(port: int, bodies: list[dict[str, object]], clients: int,
                        seconds: float) -> dict[str, object]:
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
                    status = "2xx" if 200 <= answer.status_code < 300 else str(
                        answer.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                if status == "2xx":
                    latencies.append(time.perf_counter() - t0)
                else:
                    errors[status] = errors.get(status, 0) + 1
                i += clients

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {"requests": len(latencies) + sum(errors.values()), "seconds": elapsed,
            "errors": errors,
            "ms": {"p50": np.percentile(ms, 50), "p95": np.percentile(ms, 95),
                   "p99": np.percentile(ms, 99), "max": ms.max()}}


def drive_python(port: int, bodies: list[dict[str, object]], clients: int,
                 seconds: float) -> dict[str, object]:
    """The fallback generator (asyncio + httpx) in this process, pinned while it drives."""
    os.sched_setaffinity(0, {GENERATOR_CPU})
    cpu0 = time.process_time()
    try:
        result = asyncio.run(_drive_python(port, bodies, clients, seconds))
    finally:
        os.sched_setaffinity(0, CPUS)
    result["generator_cpu"] = time.process_time() - cpu0
    return result


# ---------------------------------------------------------------- main

def main() -> None:
    """Every engine × worker count, then the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--engines", default="embedded,PostGIS")
    parser.add_argument("--no-report", action="store_true",
                        help="print the rows only (development runs)")
    args = parser.parse_args()
    generator = args.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") and shutil.which("taskset") else "python"
    url = bench_database_url() if "PostGIS" in args.engines.split(",") else None
    load_start = os.getloadavg()
    results: dict[tuple[str, int], dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp_name, \
            sample_stores(Path(tmp_name), url) as stores:
        if "PostGIS" in stores:
            os.environ["BENCH_HTTP_PG_URL"] = store_url(stores["PostGIS"])
        bodies = [{"site": shapely.geometry.mapping(s.geometry), "industry": "industrial"}
                  for s in random_sites(stores["embedded"], args.sites)]
        script = lua_script(bodies, Path(tmp_name) / "vet.lua")
        warm = lua_script(bodies[:8], Path(tmp_name) / "warm.lua")
        for workers in (int(w) for w in args.workers.split(",")):
            for name, store in stores.items():
                if name not in args.engines.split(","):
                    continue
                port = free_port()
                server = start_server(store, workers, port)
                try:
                    if generator == "wrk":  # warm every worker
                        drive_wrk(port, warm, 4, 3)
                        with cpu_meter(server) as cpu:
                            result = drive_wrk(port, script, args.clients, args.seconds)
                    else:
                        drive_python(port, bodies[:8], 4, 3)
                        with cpu_meter(server) as cpu:
                            result = drive_python(port, bodies, args.clients, args.seconds)
                finally:
                    stop_server(server)
                result["cpu"] = cpu
                results[(name, workers)] = result
                print(row(name, workers, args.clients, result), flush=True)
    load_end = os.getloadavg()
    if not args.no_report:
        write_report(args, generator, results, url, load_start, load_end)
    bad = {k: v["errors"] for k, v in results.items() if v["errors"]}
    if bad:
        raise SystemExit(f"errors: {bad}")


def row(name: str, workers: int, clients: int, r: dict[str, object]) -> str:
    """One markdown table row."""
    errors: dict[str, int] = r["errors"]  # type: ignore[assignment]
    ms: dict[str, float] = r["ms"]  # type: ignore[assignment]
    cpu: dict[str, Any] = r["cpu"]  # type: ignore[assignment]
    seconds = float(r["seconds"])  # type: ignore[arg-type]
    n_err = sum(errors.values())
    shown = ", ".join(f"{k}: {v}" for k, v in errors.items()) if n_err else "0"
    good = int(r["requests"]) - n_err  # type: ignore[call-overload]
    wall = seconds * len(CPUS)
    pg = f"{cpu['postgres']:.1f}" if name == "PostGIS" else "–"
    gen = float(r["generator_cpu"])  # type: ignore[arg-type]
    return (f"| {name} | {workers} | {clients} | {seconds:.0f} | {r['requests']} | {shown} | "
            f"{good / seconds:.1f} | {ms['p50']:.0f} | {ms['p95']:.0f} | {ms['p99']:.0f} | "
            f"{cpu['server']:.0f} | {' / '.join(f'{w:.0f}' for w in cpu['workers'])} | "
            f"{cpu['server_queued']:.0f} | {pg} | {gen:.1f} | "
            f"{cpu['machine']:.0f} ({100 * cpu['machine'] / wall:.0f} %) |")


HEADER = ("| engine | workers | clients | s | requests | errors | req/s | p50 ms | p95 ms | "
          "p99 ms | server CPU s | per worker | server waiting for a CPU s | "
          "PostgreSQL CPU s | generator CPU s | machine busy CPU s |\n" + "|---" * 16 + "|")


def write_report(args: argparse.Namespace, generator: str,
                 results: dict[tuple[str, int], dict[str, object]], url: str | None,
                 load_start: tuple[float, float, float],
                 load_end: tuple[float, float, float]) -> None:
    """docs/benchmarks-http.md and docs/benchmarks-http.png."""
    rows = [row(name, workers, args.clients, r) for (name, workers), r in results.items()]
    rates = {key: (int(r["requests"]) - sum(r["errors"].values()))  # type: ignore[call-overload,attr-defined]
             / float(r["seconds"]) for key, r in results.items()}  # type: ignore[arg-type]
    scaling = []
    for name in dict.fromkeys(n for n, _ in results):
        counts = sorted(w for n, w in results if n == name)
        if len(counts) > 1:
            base = rates[(name, counts[0])]
            scaling.append(f"{name} " + ", ".join(
                f"{w} workers {rates[(name, w)] / base:.2f}×" for w in counts[1:]))
    pg = f"PostgreSQL: {postgres_version(url)}." if url else "PostGIS: not measured (no URL)."
    if generator == "wrk":
        wrk_version = subprocess.run(["wrk", "--version"], capture_output=True,
                                     text=True).stdout.split("[", 1)[0].strip()
        how = (f"`{wrk_version}` (C; one thread, {args.clients} keep-alive connections, a Lua "
               "script rotating the request bodies and counting non-2xx answers; latency "
               "percentiles from wrk's histogram)")
    else:
        how = (f"this script's fallback generator (asyncio + httpx, {args.clients} clients "
               "with one keep-alive connection each)")
    import fastapi
    import uvicorn

    text = f"""# HTTP vetting under load

Generated by `python bench/bench_http.py --clients {args.clients} --seconds {args.seconds:g}`
on {date.today()}; do not edit by hand.

Machine: {machine()}, uvicorn {uvicorn.__version__}, FastAPI {fastapi.__version__}. {pg}
Load average {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end (the server under
load raises it itself; the **machine busy** column is every CPU's busy time during the run,
the benchmark's and any other job's).

The real server (`blueprint serve --workers W`, uvicorn, each worker process with its own
store and, with W > 1, its own listening socket on the port, `SO_REUSEPORT`; every process
pinned to one native thread: `OMP_NUM_THREADS`, `MKL_NUM_THREADS`, `OPENBLAS_NUM_THREADS`,
`GDAL_NUM_THREADS`, `NUMEXPR_NUM_THREADS` = 1) on a loopback port, the sample city
(Liaocheng) loaded. The load generator is {how}. It is pinned with
`taskset -c {GENERATOR_CPU}` to one CPU; the server is not pinned (its workers may run on
all {len(CPUS)} CPUs, so with 2 workers one of them shares a CPU with the generator). The
requests are `POST /api/vet` of {args.sites} seeded random 1–30 ha sites inside the city,
industry `industrial`, JSON report, in turn, back to back for {args.seconds:g} s after a 3 s
warm-up. Latency is per request as the client sees it (queueing included). An error is any
answer other than 2xx, a failed connection or a timeout (60 s).

CPU columns are CPU seconds during the run, from /proc: **server** is every process of
`blueprint serve` (the uvicorn supervisor and its workers), **per worker** each worker
process's share of it (an uneven split means connections were not spread), **server
waiting for a CPU** the time its threads (summed over all of them) were ready to run but
every CPU was taken (the kernel's run-queue wait, `/proc/PID/task/*/schedstat`: large means
the machine, not the server, was the limit), **PostgreSQL** the backends its connections
are served by, **generator** the load generator, **machine busy** all CPUs (and its share
of {len(CPUS)} CPUs × the run's seconds).

{HEADER}
{chr(10).join(rows)}

Throughput with more workers, relative to 1: {"; ".join(scaling) or "–"}. On a busy machine
the server can only go as fast as the CPU it gets: compare **server CPU s** between the rows.

![requests per second](benchmarks-http.png)

## What kept 2 workers from being faster (found 2026-12-01, fixed)

- **All connections on one worker.** uvicorn's `--workers` hands every worker one shared
  listening socket, and a worker's event loop accepts every connection waiting when it
  wakes: wrk's 32 keep-alive connections all went to the first worker (32 / 0 connections,
  11.4 / 0.0 CPU s in a 15 s run), so 2 workers served like 1. Each worker now listens on a
  socket of its own (`SO_REUSEPORT`, service/workers.py) and the kernel spreads the
  connections (16 / 16, 10.0 / 11.1 CPU s; the **per worker** column).
  `tests/test_stress.py` checks that each of 2 workers answers at least 10 % of the requests.
- **A PostgreSQL connection per request.** With 32 requests in flight a worker ran up to 40
  threads on a pool of 5 (+10 overflow): the overflow connections were opened and closed
  per request (38 different server backends seen in 12 s), each a new backend with the
  overlay statement prepared again. On PostGIS each worker now vets at most
  `BLUEPRINT_POOL_SIZE` sites at once (`POST /api/vet`, `/api/vet/file`; 5 backends for
  the whole run); vetting is Python under one GIL, so more threads never vetted faster.
  The embedded engine keeps the default thread pool (capped at 5 it used more CPU per
  request in a quick comparison: 5.4–6.2 ms against 4.5–4.8 ms).
- Not the cause: the load generator. The old Python generator (asyncio + httpx) spent
  1.6 ms of CPU per request, wrk 0.08 ms (the **generator CPU s** column).
- Per request the server spends about 5 ms of CPU (parsing the site about 1.3 ms, vetting
  about 1.5–2 ms, the JSON report about 0.6 ms, HTTP and FastAPI the rest): one worker
  serves at most about 200 requests/s per free core.
"""
    (REPO / "docs" / "benchmarks-http.md").write_text(text, encoding="utf-8")
    plot(results, rates, REPO / "docs" / "benchmarks-http.png")


def plot(results: dict[tuple[str, int], dict[str, object]],
         rates: dict[tuple[str, int], float], path: Path) -> None:
    """Bars: req/s per engine and worker count, p99 written on each bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    keys = sorted(results, key=lambda k: (k[0] != "embedded", k[1]))
    labels = [f"{name}, {w} worker{'s' if w > 1 else ''}" for name, w in keys]
    colours = ["#4a7dbd" if name == "embedded" else "#e08a3c" for name, _ in keys]
    bars = ax.barh(labels, [rates[k] for k in keys], color=colours)
    for bar, key in zip(bars, keys, strict=True):
        p99 = results[key]["ms"]["p99"]  # type: ignore[index]
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f"  p99 {p99:.0f} ms",
                va="center", fontsize=8)
    ax.set_xlabel("POST /api/vet, requests/s (32 clients)")
    ax.set_xlim(0, max(rates.values()) * 1.3)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
