"""Benchmark: one PostGIS import of N six-vertex parcels, where its time goes (issue 14).

The cached file of ``bench_sizes.py`` (``parcels-N-20261201.gpkg``, made by its first run)
is imported as the permanent basic farmland into a fresh schema holding the sample city, in
this process. Printed: wall seconds, features/s, client CPU (this process, every thread),
server CPU (the PostgreSQL backends' own ``/proc`` times: the server must run on this
machine), peak RSS, the load average, and every statement of the import that took more
than 50 ms with its wall and server CPU seconds (the COPYs of a streamed import run on a
thread and are summed as one line).

Run:  python bench/bench_import.py [--size 1000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import bench_database_url  # noqa: E402
from bench.pg_schemas import drop_schema, fresh_schema  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def backend_cpu(pid: int) -> float:
    """User + system CPU seconds of a local process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(url: str, gpkg: Path) -> dict[str, Any]:
    import sqlalchemy as sa

    import blueprint.layers.engine.postgis as pg
    from blueprint.analysis.sample import load_sample
    from blueprint.layers.importer import ImportOptions, import_layer
    from blueprint.layers.store import open_store

    store = open_store(url, Path(tempfile.mkdtemp()))
    load_sample(REPO / "data" / "sample", store=store, actor="bench")
    pids: set[int] = set()
    statements: list[tuple[float, float, str]] = []

    def pid_of(conn: Any) -> int:
        return int(conn.connection.dbapi_connection.info.backend_pid)

    @sa.event.listens_for(store.engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, stmt: str, *args: Any) -> None:
        pid = pid_of(conn)
        pids.add(pid)
        conn.info["bench_t"] = (time.perf_counter(), backend_cpu(pid))

    @sa.event.listens_for(store.engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, stmt: str, *args: Any) -> None:
        t, s = conn.info.pop("bench_t")
        if time.perf_counter() - t > 0.05:
            statements.append((time.perf_counter() - t, backend_cpu(pid_of(conn)) - s,
                               " ".join(stmt.split())[:100]))

    copies = {"n": 0, "wall": 0.0}
    real_copy = getattr(pg, "_copy", None)
    if real_copy is not None:  # the writer thread's COPYs (this branch's sink)
        def timed_copy(*args: Any) -> None:
            t = time.perf_counter()
            real_copy(*args)
            copies["n"] += 1
            copies["wall"] += time.perf_counter() - t
        pg._copy = timed_copy  # type: ignore[attr-defined]

    with store.engine.connect():
        pass
    start = {pid: backend_cpu(pid) for pid in pids}
    load0 = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    report = import_layer(gpkg, ImportOptions(kind="basic_farmland", name="basic_farmland",
                                              id_field="tbbh"), store=store)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    server = sum(backend_cpu(pid) - start.get(pid, 0.0) for pid in pids)
    store.close()
    return {"features": report.feature_count, "wall_s": wall, "client_cpu_s": cpu,
            "server_cpu_s": server, "features_per_s": report.feature_count / wall,
            "peak_rss_mb": peak_rss_mb(), "load": (load0, os.getloadavg()),
            "statements": statements, "copies": copies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "blueprint-bench")
    args = parser.parse_args()
    gpkg = args.cache / f"parcels-{args.size}-20261201.gpkg"
    if not gpkg.exists():
        sys.exit(f"{gpkg} is missing: run bench/bench_sizes.py --sizes {args.size} once")
    url = bench_database_url()
    if not url:
        sys.exit("no PostGIS: set BLUEPRINT_BENCH_DATABASE_URL or BLUEPRINT_TEST_DATABASE_URL")
    schema_url, schema = fresh_schema(url, prefix="bench_import")
    try:
        r = measure(schema_url, gpkg)
    finally:
        drop_schema(url, schema)
    print(f"{r['features']:,} features: {r['wall_s']:.1f} s wall, "
          f"{r['features_per_s']:,.0f} features/s, client CPU {r['client_cpu_s']:.1f} s, "
          f"server CPU {r['server_cpu_s']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB, "
          f"load {r['load'][0][0]:.1f} → {r['load'][1][0]:.1f} on {os.cpu_count()} cores")
    if r["copies"]["n"]:
        print(f"  {r['copies']['n']} COPYs on the writer thread: {r['copies']['wall']:.1f} s")
    for wall, server, stmt in r["statements"]:
        print(f"  {wall:6.2f} s wall {server:6.2f} s server  {stmt}")


if __name__ == "__main__":
    main()
