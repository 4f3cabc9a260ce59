"""Benchmark: ``blueprint vet-batch`` sites/s, one worker vs all cores, both engines.

Loads the sample city into a fresh embedded store and (with BLUEPRINT_BENCH_DATABASE_URL
or BLUEPRINT_TEST_DATABASE_URL) a fresh PostGIS schema, writes N seeded GeoJSON site files
and runs the real command (`python -m blueprint.service vet-batch DIR --workers W`) on
each engine with one worker and with all cores, ROUNDS times, arms interleaved. Every
worker process is pinned to one native thread (OMP/MKL/OPENBLAS/GDAL/NUMEXPR_NUM_THREADS=1).
Also measured, in this process on the same sites: the old path (read_site + vet_site one
site at a time), PostGIS's overlay alone and PostGIS "by the book" (plain per-layer tables
with a GiST index, ST_Intersection in one UNION ALL query), for the ratio of a whole
vet_site to the by-the-book overlay. Writes docs/benchmarks-batch.md and
docs/benchmarks-batch.png.

Run:  python bench/bench_batch.py --sites 2000 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import shapely
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_vetting import machine, postgres_version, random_sites  # noqa: E402
from bench.common import bench_database_url, child_env, sample_stores  # noqa: E402
from blueprint.analysis.site import Site, read_site  # noqa: E402
from blueprint.analysis.vetting import VetRequest, vet_site  # noqa: E402
from blueprint.layers.engine.postgis import overlay_postgis, overlay_read  # noqa: E402
from blueprint.layers.repository import list_layers  # noqa: E402
from blueprint.layers.store import Store  # noqa: E402

HEAD = ("| arm | sites | command s | sites/s, whole command | vetting s | sites/s vetting | "
        "sites/s vetting, every round | client CPU ms/site |\n"
        "|---|---|---|---|---|---|---|---|")


def write_sites(store: Store, n: int, folder: Path) -> list[Path]:
    """N seeded sites (1–30 ha, inside the city) as GeoJSON files."""
    folder.mkdir(parents=True)
    paths = []
    for i, site in enumerate(random_sites(store, n)):
        path = folder / f"site_{i:05d}.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": site.name},
             "geometry": shapely.geometry.mapping(site.geometry)}]}), encoding="utf-8")
        paths.append(path)
    return paths


def run_command(store: Store, folder: Path, workers: int, output: Path) -> dict[str, float]:
    """One ``vet-batch`` run: wall seconds and the CPU seconds of all its processes."""
    env = child_env(store)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "blueprint.service", "vet-batch", str(folder),
                           "--output", str(output), "--workers", str(workers)], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"vet-batch failed: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    took = re.search(r"用时 ([0-9.]+) 秒", done.stdout)
    return {"wall": wall, "cpu": cpu, "vetting": float(took.group(1)) if took else wall}


def reports(path: Path) -> list[dict[str, object]]:
    """The reports of an output file for the cross-check: without the engine's name and
    the layers' import times (each engine's store was loaded at its own time)."""
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    for line in lines:
        line.pop("engine", None)
        for layer in line.get("layers", []):
            layer.pop("imported_at", None)
    return lines


def per_site_arms(stores: dict[str, Store], paths: list[Path]) -> dict[str, dict[str, list[float]]]:
    """Per-site seconds (and this process's CPU seconds, ``ARM:cpu``) of every arm, per
    engine: first the old vet-batch path (read_site + vet_site per file) on each engine;
    then, site by site and arms interleaved (the same load on all of them), vet_site on
    each engine, PostGIS's overlay alone and PostGIS by the book."""
    sites = [read_site(p) for p in paths]
    out: dict[str, dict[str, list[float]]] = {name: {} for name in stores}
    for name, store in stores.items():
        vet_site(VetRequest(site=sites[0]), store=store)
        for path in paths:
            t0 = time.perf_counter()
            vet_site(VetRequest(site=read_site(path)), store=store)
            out[name].setdefault("old", []).append(time.perf_counter() - t0)
    arms: list[tuple[str, str, Callable[[Site], object]]] = [
        (name, "vet_site", lambda site, store=store: vet_site(VetRequest(site=site),
                                                               store=store))
        for name, store in stores.items()]
    if "PostGIS" in stores:
        arms += postgis_overlay_arms(stores["PostGIS"])
    for site in sites:
        for name, arm, run in arms:
            t0, c0 = time.perf_counter(), time.process_time()
            run(site)
            out[name].setdefault(arm, []).append(time.perf_counter() - t0)
            out[name].setdefault(f"{arm}:cpu", []).append(time.process_time() - c0)
    return out


def postgis_overlay_arms(store: Store) -> list[tuple[str, str, Callable[[Site], object]]]:
    """PostGIS overlay alone, and by the book on plain per-layer tables with GiST (read
    the way the engine reads: one pooled connection in autocommit per statement)."""
    vectors = [x for x in list_layers(store=store) if not x.is_raster]
    with store.engine.begin() as conn:
        for layer in vectors:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS book_{layer.id}"))
            conn.execute(sa.text(f"CREATE TABLE book_{layer.id} AS SELECT fid, klass, geom "
                                 f"FROM layer_features WHERE layer_id = {layer.id}"))
            conn.execute(sa.text(f"CREATE INDEX ON book_{layer.id} USING gist (geom)"))
            conn.execute(sa.text(f"ANALYZE book_{layer.id}"))
    book = sa.text(" UNION ALL ".join(
        f"SELECT {layer.id} AS layer_id, fid, ST_Area(ST_Transform(ST_Intersection(geom, "
        f"s.g), CAST(:zone AS integer))) AS area FROM book_{layer.id}, "
        f"(SELECT ST_GeomFromWKB(:site, 4490) AS g) AS s "
        f"WHERE geom && s.g AND ST_Intersects(geom, s.g)" for layer in vectors))

    def by_the_book(site: Site) -> object:
        with overlay_read(store) as conn:  # the same autocommit read as the engine's
            return conn.execute(book, {"site": shapely.to_wkb(site.geometry,
                                                              output_dimension=2),
                                       "zone": site.zone_epsg}).all()

    return [("PostGIS", "overlay", lambda site: overlay_postgis(
                site.geometry, site.zone_epsg, vectors, store=store)),
            ("PostGIS", "book", by_the_book)]


def main() -> None:
    """Run every arm and write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--per-site", type=int, default=300, help="sites for the per-site arms")
    parser.add_argument("--per-site-only", action="store_true",
                        help="only the per-site arms (vet_site, overlay alone, by the book) "
                             "and the ratio, printed; docs/ untouched")
    args = parser.parse_args()
    url = bench_database_url()
    cores = len(os.sched_getaffinity(0))
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp_name:
        tmp = Path(tmp_name)
        with sample_stores(tmp, url) as stores:
            paths = write_sites(stores["embedded"], args.sites, tmp / "sites")
            if args.per_site_only:
                per_site = per_site_arms(stores, paths[:args.per_site])
                print(f"load average {load_start[0]:.1f} at the start, "
                      f"{os.getloadavg()[0]:.1f} at the end, on {cores} cores")
                print(per_site_text(per_site))
                return
            runs: dict[tuple[str, int], list[dict[str, float]]] = {}
            outputs: dict[tuple[str, int], Path] = {}
            for _ in range(args.rounds):
                for name, store in stores.items():
                    for workers in (1, cores):
                        out = tmp / f"{name}-{workers}.jsonl"
                        runs.setdefault((name, workers), []).append(
                            run_command(store, tmp / "sites", workers, out))
                        outputs[(name, workers)] = out
            first = reports(next(iter(outputs.values())))
            agree = all(reports(p) == first for p in outputs.values())
            per_site = per_site_arms(stores, paths[:args.per_site])
    write_report(args, cores, runs, per_site, agree, url, load_start, os.getloadavg())


def write_report(args: argparse.Namespace, cores: int,
                 runs: dict[tuple[str, int], list[dict[str, float]]],
                 per_site: dict[str, dict[str, list[float]]], agree: bool, url: str | None,
                 load_start: tuple[float, float, float],
                 load_end: tuple[float, float, float]) -> None:
    """docs/benchmarks-batch.md and its plot."""
    n = args.sites
    rows = []
    ceiling = ""
    rates: dict[str, float] = {}
    for (name, workers), results in runs.items():
        top = min(results, key=lambda r: r["vetting"])
        cpu = statistics.median(r["cpu"] for r in results)
        label = f"{name}, {workers} worker{'s' if workers > 1 else ''}"
        rates[label] = n / top["vetting"]
        rounds = ", ".join(f"{n / r['vetting']:,.0f}" for r in results)
        rows.append(f"| {label} | {n} | {top['wall']:.2f} | {n / top['wall']:,.0f} | "
                    f"{top['vetting']:.2f} | **{n / top['vetting']:,.0f}** | {rounds} | "
                    f"{cpu / n * 1000:.2f} |")
        if name == "embedded" and workers == cores:
            ceiling = (f"- If the {cores} cores were the command's alone, the CPU it used caps "
                       f"embedded `vet-batch` at {cores} ÷ {cpu / n * 1000:.2f} ms = "
                       f"**{cores * n / cpu:,.0f} sites/s** (an estimate from CPU time, "
                       "start-up included). On PostGIS "
                       "the server's CPU shares the same cores, so no such bound is given.")
    plot(rates, REPO / "docs" / "benchmarks-batch.png")
    pg = f"PostgreSQL: {postgres_version(url)}." if url else "PostGIS: not measured (no URL)."
    text = f"""# vet-batch throughput

Generated by `python bench/bench_batch.py --sites {n} --rounds {args.rounds}` on \
{date.today()}; do not edit by hand.

Machine: {machine()}. {pg}
Load average {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end, on {cores} cores
(the run itself keeps one to two cores busy; more means other jobs shared the machine and
wall-clock figures are pessimistic). CPU ms per site (all the command's processes, user +
system) is the steadier figure.

## `blueprint vet-batch`, sample city (Liaocheng), {n} GeoJSON site files

The real command, one process per worker (`--workers 1` runs in the command's own process),
each worker opening its own store; every process pinned to one native thread
(`OMP_NUM_THREADS`, `MKL_NUM_THREADS`, `OPENBLAS_NUM_THREADS`, `GDAL_NUM_THREADS`,
`NUMEXPR_NUM_THREADS` = 1). "Whole command" includes the start-up (Python imports, the
check that the store has layers); "vetting" is the time the command itself reports (`用时 …
秒`): from starting the workers to the last report written, reading the files included.
Arms interleaved over {args.rounds} rounds; the best round is taken (least
disturbed by the other jobs). On PostGIS the server's CPU is not counted in
CPU ms/site.
All arms wrote the same reports (engine name and the layers' import times aside):
**{"yes" if agree else "NO"}**.

{HEAD}
{chr(10).join(rows)}

{ceiling}

![sites per second](benchmarks-batch.png)

## Per site, in one process (the first {args.per_site} of the same sites)

The old loop first, engine by engine; then, for each site in turn, `vet_site` on each
engine, PostGIS's overlay alone and PostGIS by the book, one after the other, so that
every arm meets the same load. On PostGIS, `vet_site` sends the overlay and reads the
capacity while the server computes it (`layers/engine/pg_send.py`).

Client CPU ms/site is this process's CPU (mean); on PostGIS the server's is not in it.

{per_site_text(per_site)}
"""
    (REPO / "docs" / "benchmarks-batch.md").write_text(text, encoding="utf-8")


def per_site_text(per_site: dict[str, dict[str, list[float]]]) -> str:
    """The per-site table and the ratios of a whole vet_site to the by-the-book overlay."""
    site_rows = []
    for name, arms in per_site.items():
        for arm, label in (("old", "read_site + vet_site per file (the old vet-batch loop)"),
                           ("vet_site", "vet_site alone"), ("overlay", "overlay alone"),
                           ("book", "by the book: per-layer tables, GiST, ST_Intersection, "
                                    "one UNION ALL query")):
            if arm in arms:
                ms = np.array(arms[arm]) * 1000
                cpu = (f"{np.mean(arms[arm + ':cpu']) * 1000:.2f}" if arm + ":cpu" in arms
                       else "")
                site_rows.append(f"| {name} | {label} | {len(ms)} | {np.median(ms):.2f} | "
                                 f"{np.percentile(ms, 95):.2f} | {1000 / np.median(ms):,.0f} | "
                                 f"{cpu} |")
    ratio = ""
    if "PostGIS" in per_site and "book" in per_site["PostGIS"]:
        book = statistics.median(per_site["PostGIS"]["book"])
        ratio = "\n".join(
            f"- {name} whole `vet_site` p50 ÷ PostGIS by-the-book overlay p50: "
            f"**{statistics.median(arms['vet_site']) / book:.2f}**"
            for name, arms in per_site.items())
    return f"""| engine | arm | sites | p50 ms | p95 ms | sites/s at p50 | client CPU ms/site |
|---|---|---|---|---|---|---|
{chr(10).join(site_rows)}

{ratio}"""


def plot(rates: dict[str, float], path: Path) -> None:
    """Bars: sites/s per arm, with the 1,000 sites/s goal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = list(rates)
    ax.barh(names, [rates[x] for x in names], color="#4a7dbd")
    ax.axvline(1000, color="#c0392b", linestyle="--", label="goal: 1,000 sites/s")
    ax.set_xlabel("sites/s, vetting (best round)")
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
