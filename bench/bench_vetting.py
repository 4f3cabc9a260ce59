"""Benchmark: batch site vetting on both engines, side by side, in one run.

Loads the sample city into a fresh embedded store and (if BLUEPRINT_BENCH_DATABASE_URL or
BLUEPRINT_TEST_DATABASE_URL is set) a fresh PostGIS schema, vets the same N random sites
(seeded) on each, and writes docs/benchmarks.md and docs/benchmarks.png.

Run:  python bench/bench_vetting.py --sites 1000
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.pg_schemas import drop_schema, fresh_schema  # noqa: E402
from blueprint.analysis.sample import load_sample  # noqa: E402
from blueprint.analysis.site import Site  # noqa: E402
from blueprint.analysis.vetting import VetRequest, vet_site  # noqa: E402
from blueprint.layers.repository import get_layer, list_layers, load_features  # noqa: E402
from blueprint.layers.store import Store, open_store  # noqa: E402

SAMPLE = REPO / "data" / "sample"
# the other bench scripts write their own pages; this report keeps the links to them.
CLI_LINK = ("CLI start-up (`blueprint --help`, `blueprint layers list`): "
            "[benchmarks-cli.md](benchmarks-cli.md), written by `bench/bench_cli_start.py`.\n\n"
            "`blueprint vet-batch` on all cores and the per-site arms beside PostGIS by the "
            "book: [benchmarks-batch.md](benchmarks-batch.md) (`bench/bench_batch.py`); "
            "`POST /api/vet` under 32 clients: [benchmarks-http.md](benchmarks-http.md) "
            "(`bench/bench_http.py`).\n\n"
            "Imports and the embedded cold start at 10^6 features (streamed imports, the index "
            "loaded without attributes): [benchmarks-scale.md](benchmarks-scale.md) "
            "(`bench/bench_scale.py`).\n\n"
            "Map tiles at 10^6 features, per zoom: [benchmarks-tiles.md](benchmarks-tiles.md) "
            "(`bench/bench_tiles.py`); site search: "
            "[benchmarks-site-search.md](benchmarks-site-search.md) "
            "(`bench/bench_site_search.py`).\n\n"
            "Every overlay arm of issue #14 at 10^3 … 10^6 features (both engines' `vet_site` "
            "and overlay, PostGIS by the book, plain `geopandas.overlay`, the STRtree floor), "
            "areas cross-checked: [benchmarks-sizes.md](benchmarks-sizes.md) "
            "(`bench/bench_sizes.py`).\n"
            "How far the embedded overlay at 10^6 is from that floor, against the floor plus "
            "the GEOS cut of the features that must be cut (what any overlay returning pieces "
            "pays) and the least an overlay on GEOS and pyproj does with its pieces projected "
            "and measured (the bound the 3× goal is measured against): "
            "[benchmarks-overlay-floor.md](benchmarks-overlay-floor.md) "
            "(`bench/bench_overlay_floor.py`).")


def random_sites(store: Store, n: int, seed: int = 20261121) -> list[Site]:
    """N rectangles/rotated quads of 1–30 ha inside the city, seeded."""
    admin = next(x for x in list_layers(store=store) if x.kind == "admin_boundary")
    city = shapely.union_all(load_features(get_layer(admin.name, store=store), store=store).geoms)
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = city.bounds
    sites: list[Site] = []
    while len(sites) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not city.contains(shapely.Point(x, y)):
            continue
        w, h = rng.uniform(0.001, 0.006, size=2)
        geom = shapely.affinity.rotate(shapely.box(x, y, x + w, y + h), rng.uniform(0, 90))
        sites.append(Site(geometry=geom, parcels=1, name=f"bench-{len(sites)}", source="bench"))
    return sites


def run_engine(store: Store, sites: list[Site]) -> dict[str, object]:
    """Vet every site once (after one warm-up); return timings and verdict counts."""
    vet_site(VetRequest(site=sites[0]), store=store)  # warm caches / indexes
    times, verdicts = [], {}
    start, cpu = time.perf_counter(), time.process_time()
    for site in sites:
        t0 = time.perf_counter()
        report = vet_site(VetRequest(site=site), store=store)
        times.append(time.perf_counter() - t0)
        verdicts[report.verdict] = verdicts.get(report.verdict, 0) + 1
    total = time.perf_counter() - start
    return {"total_s": total, "times": times, "verdicts": verdicts,
            "cpu_s": time.process_time() - cpu}


def big_redline(path: Path, vertices: int = 120_000) -> None:
    """A wiggly red-line ring of ``vertices`` vertices around the city centre (GeoPackage)."""
    import geopandas as gpd

    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = 0.1 + 0.002 * np.sin(t * 997) + 0.001 * np.sin(t * 3001)
    ring = np.c_[116 + 1.2 * r * np.cos(t), 36.45 + r * np.sin(t)]
    gpd.GeoDataFrame({"hxbh": ["BIG"]}, geometry=[shapely.Polygon(ring)],
                     crs=4490).to_file(path, engine="pyogrio")


def edge_sites(n: int, seed: int = 7) -> list[Site]:
    """N 400 m squares straddling the big red line's edge."""
    rng = np.random.default_rng(seed)
    sites = []
    for a in rng.uniform(0, 2 * np.pi, n):
        x, y = 116 + 0.12 * np.cos(a), 36.45 + 0.1 * np.sin(a)
        geom = shapely.box(x - 0.002, y - 0.002, x + 0.002, y + 0.002)
        sites.append(Site(geometry=geom, parcels=1, name="edge", source="bench"))
    return sites


def run_large(store: Store, layer_file: Path, sites: list[Site]) -> dict[str, object]:
    """Import the big red line alone into ``store`` and vet the edge sites."""
    from blueprint.layers.importer import ImportOptions, import_layer

    t0 = time.perf_counter()
    import_layer(layer_file, ImportOptions(kind="ecological_redline", name="big"), store=store)
    imported = time.perf_counter() - t0
    result = run_engine(store, sites)
    result["import_s"] = imported
    return result


def grid_layer(path: Path, side: int = 250) -> int:
    """A farmland-like layer of side×side small blocks (GeoPackage); returns the count."""
    import geopandas as gpd

    xs, ys = np.meshgrid(np.arange(side) * 0.004 + 115.5, np.arange(side) * 0.004 + 36.0)
    boxes = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + 0.0035, ys.ravel() + 0.0035)
    gpd.GeoDataFrame({"tbbh": [f"T{i:06d}" for i in range(boxes.size)]}, geometry=boxes,
                     crs=4490).to_file(path, engine="pyogrio")
    return int(boxes.size)


def time_imports(store: Store, grid: Path, grid_store: Store) -> dict[str, float]:
    """Seconds to load the sample city into ``store`` and the big grid into ``grid_store``
    (a store of its own, so that the vetting arm sees the sample city only)."""
    from blueprint.layers.importer import ImportOptions, import_layer

    t0 = time.perf_counter()
    load_sample(SAMPLE, store=store, actor="bench")
    t1 = time.perf_counter()
    import_layer(grid, ImportOptions(kind="basic_farmland", name="grid"), store=grid_store)
    return {"sample_s": t1 - t0, "grid_s": time.perf_counter() - t1}


def machine() -> str:
    """A line describing this machine."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}, shapely "
            f"{shapely.__version__}, GEOS {shapely.geos_version_string}")


def postgres_version(url: str) -> str:
    """The server's version string, and whether a standby was streaming from it when the
    run began (one on this machine replays every write of the run, e.g. an import's WAL,
    on the same cores: ``.ci/replica.sh`` starts one for the tests; stop it to measure)."""
    out = subprocess.run(["psql", url, "-Atc", "SELECT split_part(version(), ' on ', 1) "
                          "|| ', PostGIS ' || postgis_lib_version() || '; streaming standbys: '"
                          "|| (SELECT count(*) FROM pg_stat_replication)"],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "?"


def open_postgis(url: str, data_dir: Path) -> tuple[Store, str]:
    """A store in a fresh schema on the server for the benchmark, and the schema's name."""
    schema_url, schema = fresh_schema(url)
    return open_store(schema_url, data_dir), schema


def summarise(name: str, result: dict[str, object], n: int) -> str:
    """One markdown table row."""
    times = sorted(result["times"])  # type: ignore[arg-type]
    p50 = statistics.median(times) * 1000
    p95 = times[int(0.95 * (len(times) - 1))] * 1000
    verdicts = ", ".join(f"{k} {v}" for k, v in sorted(result["verdicts"].items()))  # type: ignore[union-attr]
    cpu = result["cpu_s"] / n * 1000  # type: ignore[operator]
    return (f"| {name} | {n} | {result['total_s']:.1f} | {n / result['total_s']:.0f} | "
            f"{p50:.1f} | {p95:.1f} | {cpu:.2f} | {verdicts} |")


def plot(panels: dict[str, dict[str, dict[str, object]]], path: Path) -> None:
    """One histogram panel per benchmark, engines overlaid on shared bins (to the p99)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4))
    for ax, (title, results) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        every = np.concatenate([np.array(r["times"]) * 1000 for r in results.values()])
        bins = np.linspace(every.min(), np.percentile(every, 99), 50)
        for name, result in results.items():
            ax.hist(np.clip(np.array(result["times"]) * 1000, None, bins[-1]), bins=bins,
                    alpha=0.6, label=name)
        ax.set_xlabel("time per site (ms; the last bin holds the slowest 1%)")
        ax.set_ylabel("sites")
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    """Run both arms and write the report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=1000)
    args = parser.parse_args()
    url = os.environ.get("BLUEPRINT_BENCH_DATABASE_URL") or \
        os.environ.get("BLUEPRINT_TEST_DATABASE_URL")
    load_start = os.getloadavg()[0]
    results: dict[str, dict[str, object]] = {}
    large: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big_redline.gpkg"
        big_redline(big)
        edges = edge_sites(args.sites // 5)
        grid = Path(tmp) / "grid.gpkg"
        grid_count = grid_layer(grid)
        imports: dict[str, dict[str, float]] = {}
        embedded = open_store("", Path(tmp) / "embedded")
        imports["embedded"] = time_imports(embedded, grid, open_store("", Path(tmp) / "grid"))
        sites = random_sites(embedded, args.sites)
        results["embedded (SQLite + shapely STRtree)"] = run_engine(embedded, sites)
        large["embedded"] = run_large(open_store("", Path(tmp) / "large"), big, edges)
        if url:
            store, schema = open_postgis(url, Path(tmp) / "postgis")
            grid_store, grid_schema = open_postgis(url, Path(tmp) / "postgis-grid")
            try:
                imports["PostGIS"] = time_imports(store, grid, grid_store)
                results["PostGIS (SQL, GiST, ST_Subdivide)"] = run_engine(store, sites)
            finally:
                for opened, name in ((store, schema), (grid_store, grid_schema)):
                    opened.close()
                    drop_schema(url, name)
            store, schema = open_postgis(url, Path(tmp) / "postgis-large")
            try:
                large["PostGIS"] = run_large(store, big, edges)
            finally:
                store.close()
                drop_schema(url, schema)
    write_report(results, args.sites, url, large, (grid_count, imports),
                 (load_start, os.getloadavg()[0]))


def large_rows(large: dict[str, dict[str, object]]) -> list[str]:
    """Markdown rows for the large-polygon arm."""
    rows = []
    for name, r in large.items():
        times = sorted(r["times"])  # type: ignore[arg-type]
        rows.append(f"| {name} | {r['import_s']:.2f} | {len(times)} | "
                    f"{statistics.median(times) * 1000:.1f} | "
                    f"{times[int(0.95 * (len(times) - 1))] * 1000:.1f} |")
    return rows


def import_rows(count: int, imports: dict[str, dict[str, float]]) -> list[str]:
    """Markdown rows for the import arm."""
    return [f"| {name} | {t['sample_s']:.1f} | {t['grid_s']:.1f} | {count / t['grid_s']:,.0f} |"
            for name, t in imports.items()]


def write_report(results: dict[str, dict[str, object]], n: int, url: str | None,
                 large: dict[str, dict[str, object]],
                 imports: tuple[int, dict[str, dict[str, float]]],
                 load: tuple[float, float]) -> None:
    """docs/benchmarks.md and docs/benchmarks.png."""
    docs = REPO / "docs"
    docs.mkdir(exist_ok=True)
    plot({"Sample city, random sites": results,
          "Sites on a 120,000-vertex red line": large}, docs / "benchmarks.png")
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python bench/bench_vetting.py --sites "
        f"{n}` on {time.strftime('%Y-%m-%d')}; do not edit by hand.",
        "",
        f"Machine: {machine()}.",
        f"PostgreSQL: {postgres_version(url) if url else 'not run (no database URL)'}.",
        "",
        f"Load average {load[0]:.1f} at the start and {load[1]:.1f} at the end, on "
        f"{len(os.sched_getaffinity(0))} cores: "
        + ("**the machine was shared with other jobs during the run**; wall-clock times "
           "are pessimistic and noisy, the client CPU ms per site steadier (on PostGIS the "
           "server's CPU is not in it)." if max(load) > 1.5 else "an idle machine."),
        "",
        "## Batch site vetting, sample city (Liaocheng), every vector layer + capacity raster",
        "",
        f"The same {n} random sites (1–30 ha, seeded) vetted one at a time through "
        "`analysis.vetting.vet_site`, after one warm-up call, on each engine in one run.",
        "",
        "| engine | sites | total s | sites/s | p50 ms | p95 ms | client CPU ms/site | verdicts |",
        "|---|---|---|---|---|---|---|---|",
        *[summarise(name, r, n) for name, r in results.items()],
        "",
        "![latency histogram](benchmarks.png)",
        "",
        "## One huge red-line polygon (120,000 vertices)",
        "",
        "A single wiggly red-line ring of 120,000 vertices imported alone, then "
        f"{n // 5} sites of 400 m × 400 m, each straddling its edge, vetted one at a time. "
        "PostGIS filters on the ST_Subdivide pieces (≤ 256 vertices, GiST) and cuts the "
        "overlap from the whole feature, first clipped to a box around the site "
        "(ST_ClipByBox2D, for features over 64 KB), each cut computed once per statement; "
        "the embedded engine filters with its STRtree and cuts with GEOS.",
        "",
        "| engine | import s | sites | p50 ms | p95 ms |",
        "|---|---|---|---|---|",
        *large_rows(large),
        "",
        "## Imports",
        "",
        "The whole sample city (8 layers, 2,205 features, a 6-band GeoTIFF, quotas) through "
        f"`blueprint sample load`'s code path, then one GeoPackage of {imports[0]:,} small "
        "polygons imported as basic farmland (SQLite inserts in batches of 2,000; PostGIS COPY "
        "in batches of 2,000 with ST_Subdivide, then ANALYZE).",
        "",
        "| engine | sample city s | big layer s | features/s |",
        "|---|---|---|---|",
        *import_rows(*imports),
        "",
        CLI_LINK,
        "",
    ]
    (docs / "benchmarks.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
