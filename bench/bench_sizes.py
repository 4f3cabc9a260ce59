"""Benchmark: every overlay arm of issue #14 at 10^3 … 10^6 features, side by side.

For each size N the sample city (聊城市) is loaded into a fresh embedded store and a fresh
PostGIS schema, and its permanent basic farmland is replaced by N seeded parcels over the
whole city (``bench_scale.generate``; a new layer version, as a re-import would make).
Then, in one process, the arms in turn (every arm meets the same load; their order turns
at each step) and at each step each arm on another site (none runs on the caches another
just warmed), the same seeded sites (1–30 ha) go through (geopandas afterwards, on its
own: its allocations would empty the caches of whichever arm ran next):

- embedded ``vet_site`` (overlay + environmental capacity + rules + report) and its
  overlay alone (``Backend.overlay``: STRtree filter, GEOS cut, areas in the zone);
- PostGIS ``vet_site`` and its overlay alone (one prepared statement);
- PostGIS *by the book*: plain per-layer tables with a GiST index, ``ST_Intersection`` in
  one ``UNION ALL`` query (no subdivision, no shortcuts);
- plain ``geopandas.overlay`` per layer, areas with ``to_crs`` (on the first sites only:
  it takes seconds per site at 10^6);
- the floor: ``shapely.STRtree.query`` on every vector layer, the boxes only (what any
  overlay pays before it cuts a single geometry) and with ``predicate="intersects"`` (the
  features the site touches, found exactly: what any overlay must know).

The overlap area of every (site, layer, feature) is compared across the arms that cut
(both overlays, both ``vet_site`` reports, by the book, geopandas): the page says whether
they agree. Imports are timed in fresh processes (features/s and that process's peak RSS);
the first ``vet_site`` of each engine in the arms' process is its cold start.

Threads: every process runs with one native thread (``OMP_NUM_THREADS`` … = 1, see
``bench/common.py``) and the arms run one after the other in one Python thread; the
PostgreSQL backend serving the PostGIS arms is a separate process and may use the other
core while the client waits (its CPU is not in the client CPU column).

Run:  python bench/bench_sizes.py [--sizes 1000,10000,100000,1000000] [--sites 200]
Writes docs/benchmarks-sizes.md and docs/benchmarks-sizes.png.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import PINNED, bench_database_url  # noqa: E402
from bench.pg_schemas import drop_schema, fresh_schema  # noqa: E402

SEED = 20261201
SLIVER = 0.01  # m², as the engines (layers.engine.overlay_types.SLIVER_M2)
# geopandas.overlay sites per size (it takes ~2.7 s per site at 10^6)
GEOPANDAS_SITES = {1_000: 100, 10_000: 60, 100_000: 30, 1_000_000: 10}
ARMS = [
    ("emb_vet", "embedded `vet_site` (whole check)"),
    ("emb_overlay", "embedded overlay only"),
    ("pg_vet", "PostGIS `vet_site` (whole check)"),
    ("pg_overlay", "PostGIS overlay only"),
    ("book", "PostGIS by the book (per-layer tables, GiST, ST_Intersection, one UNION ALL)"),
    ("geopandas", "plain `geopandas.overlay`"),
    ("floor", "floor: `STRtree.query` alone (boxes)"),
    ("floor_exact", "floor: `STRtree.query(predicate=\"intersects\")` (the features touched)"),
]
CUTTING = ["emb_vet", "emb_overlay", "pg_vet", "pg_overlay", "book", "geopandas"]


# ---------------------------------------------------------------- child: imports


def child_import(engine: str, data_dir: Path, url: str, gpkg: Path) -> dict[str, Any]:
    """Load the sample city and import the N parcels as its farmland (a new version)."""
    from blueprint.analysis.sample import load_sample
    from blueprint.layers.importer import ImportOptions, import_layer
    from blueprint.layers.store import open_store

    store = open_store(url if engine == "PostGIS" else "", data_dir)
    load_sample(REPO / "data" / "sample", store=store, actor="bench")
    t0, c0 = time.perf_counter(), time.process_time()
    report = import_layer(gpkg, ImportOptions(kind="basic_farmland", name="basic_farmland",
                                              id_field="tbbh"), store=store)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    store.close()
    return {"import_s": wall, "import_cpu_s": cpu, "features": report.feature_count,
            "maxrss_mb": _hwm_mb()}  # VmHWM: ru_maxrss would keep the parent's across exec


# ---------------------------------------------------------------- child: arms


def _hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _overlap_areas(overlaps: Any, site: int, out: dict[tuple[int, str, str], float]) -> None:
    for layer in overlaps:
        for hit in layer.hits:
            out[(site, layer.layer.name, str(hit.fid))] = float(hit.area_m2)


def child_arms(data_dir: Path, url: str, n_sites: int, gp_sites: int) -> dict[str, Any]:
    """Every arm on the same sites, interleaved site by site; per-site seconds, client CPU
    seconds and the overlap areas of the cutting arms."""
    import geopandas as gpd
    import shapely

    from bench.bench_batch import postgis_overlay_arms
    from bench.bench_vetting import random_sites
    from blueprint.analysis.vetting import VetRequest, vet_site
    from blueprint.layers.feature_arrays import load_features
    from blueprint.layers.repository import list_layers
    from blueprint.layers.store import open_store

    stores = {"embedded": open_store("", data_dir / "embedded"),
              "PostGIS": open_store(url, data_dir / "postgis")}
    vectors = {name: [x for x in list_layers(store=s) if not x.is_raster]
               for name, s in stores.items()}
    sites = random_sites(stores["embedded"], n_sites)
    cold: dict[str, float] = {}
    for name, store in stores.items():  # the first vet_site: indexes, rasters, statements
        t0 = time.perf_counter()
        vet_site(VetRequest(site=sites[0]), store=store)
        cold[name] = time.perf_counter() - t0
    hwm_engines = _hwm_mb()

    pg = stores["PostGIS"]
    names = {x.id: x.name for x in vectors["PostGIS"]}
    book = {arm: run for _, arm, run in postgis_overlay_arms(pg)}["book"]  # bench_batch's

    frames, trees = {}, {}
    for layer in vectors["embedded"]:
        feats = load_features(layer, store=stores["embedded"])
        frames[layer.name] = gpd.GeoDataFrame({"fid": feats.fids.astype(str)},
                                              geometry=feats.geoms, crs=4490)
        frames[layer.name].sindex  # noqa: B018 - built once, as plain geopandas use does
        trees[layer.name] = shapely.STRtree(feats.geoms)
    hwm_all = _hwm_mb()
    # The frames and trees above are millions of Python objects at 10^6: left to the cyclic
    # garbage collector, every full collection would walk them all, and bill whichever arm
    # happened to trigger it (the ones that allocate most). They live until the end.
    gc.collect()
    gc.freeze()

    areas: dict[str, dict[tuple[int, str, str], float]] = {arm: {} for arm, _ in ARMS}

    def run_vet(arm: str, store_name: str) -> Callable[[int, Any], None]:
        def run(i: int, site: Any) -> None:
            report = vet_site(VetRequest(site=site), store=stores[store_name])
            _overlap_areas(report.overlay.overlaps, i, areas[arm])
        return run

    def run_overlay(arm: str, store_name: str) -> Callable[[int, Any], None]:
        store = stores[store_name]

        def run(i: int, site: Any) -> None:
            result = store.backend.overlay(site.geometry, site.zone_epsg, vectors[store_name],
                                           store=store)
            _overlap_areas(result, i, areas[arm])
        return run

    def run_book(i: int, site: Any) -> None:
        rows: Any = book(site)
        for layer_id, fid, area in rows:
            if area > SLIVER:
                areas["book"][(i, names[layer_id], str(fid))] = float(area)

    def run_geopandas(i: int, site: Any) -> None:
        one = gpd.GeoDataFrame(geometry=[site.geometry], crs=4490)
        for name, frame in frames.items():
            cut = gpd.overlay(one, frame, how="intersection", keep_geom_type=True)
            for fid, area in zip(cut["fid"], cut.geometry.to_crs(site.zone_epsg).area,
                                 strict=True):
                if area > SLIVER:
                    areas["geopandas"][(i, name, str(fid))] = float(area)

    def run_floor(i: int, site: Any) -> None:
        for tree in trees.values():
            tree.query(site.geometry)

    def run_floor_exact(i: int, site: Any) -> None:
        for tree in trees.values():
            tree.query(site.geometry, predicate="intersects")

    runs: dict[str, Callable[[int, Any], None]] = {
        "emb_vet": run_vet("emb_vet", "embedded"),
        "emb_overlay": run_overlay("emb_overlay", "embedded"),
        "pg_vet": run_vet("pg_vet", "PostGIS"),
        "pg_overlay": run_overlay("pg_overlay", "PostGIS"),
        "book": run_book, "geopandas": run_geopandas, "floor": run_floor,
        "floor_exact": run_floor_exact}
    # One pass over every site for every arm before the measured one (geopandas: one call,
    # it keeps nothing between calls but its index): the steady state of a running service,
    # with statements prepared, PostgreSQL's buffers read and the embedded index's features
    # decoded once (the first pass measured ~0.7 ms more per embedded site at 10^3).
    for arm in runs:
        for site in sites if arm != "geopandas" else sites[:1]:
            runs[arm](-1, site)
    for area_map in areas.values():
        for key in [k for k in area_map if k[0] == -1]:
            del area_map[key]
    by_site: dict[str, dict[int, tuple[float, float]]] = {arm: {} for arm in runs}

    def measure(arm: str, i: int) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        runs[arm](i, sites[i])
        by_site[arm][i] = (time.perf_counter() - t0, time.process_time() - c0)

    turns = [arm for arm in runs if arm != "geopandas"]
    spread = max(1, len(sites) // len(turns))
    for step in range(len(sites)):
        # At each step every arm runs once, each on another site (every arm still meets
        # every site once): an arm run right after another on the same site would find
        # that site's features in the CPU's caches and PostgreSQL's pages just touched.
        # The arms' order turns at each step, so that none always follows the same one.
        for j in range(len(turns)):
            k = (step + j) % len(turns)
            measure(turns[k], (step + k * spread) % len(sites))
    # geopandas on its own afterwards: seconds per site of allocations that would empty
    # the CPU's caches and wake the garbage collector for whichever arm ran next
    for i in range(min(gp_sites, len(sites))):
        measure("geopandas", i)
    # in site order, so that the first sites of every arm are the same sites
    times = {arm: [by_site[arm][i][0] for i in sorted(by_site[arm])] for arm in runs}
    cpus = {arm: [by_site[arm][i][1] for i in sorted(by_site[arm])] for arm in runs}
    for store in stores.values():
        store.close()
    return {"times": times, "cpus": cpus, "cold_s": cold, "hwm_engines_mb": hwm_engines,
            "hwm_all_mb": hwm_all, "sites": n_sites, "gp_sites": gp_sites,
            "agreement": agreement(areas, gp_sites),
            "features": {x.name: x.feature_count for x in vectors["embedded"]}}


def agreement(areas: dict[str, dict[tuple[int, str, str], float]], gp_sites: int
              ) -> dict[str, Any]:
    """Each cutting arm against the embedded overlay: overlapped features compared one by
    one (missing = 0 m²), within 0.05 m² or 1e-6 of the area."""
    ref = areas["emb_overlay"]
    out: dict[str, Any] = {"pairs": len(ref),
                           "site_layer_pairs": len({k[:2] for k in ref})}
    for arm in CUTTING:
        if arm == "emb_overlay":
            continue
        other = areas[arm]
        keys = set(ref) | set(other)
        if arm == "geopandas":
            keys = {k for k in keys if k[0] < gp_sites}
        bad = [k for k in keys
               if abs(ref.get(k, 0.0) - other.get(k, 0.0))
               > max(0.05, 1e-6 * max(ref.get(k, 0.0), other.get(k, 0.0)))]
        worst = max((abs(ref.get(k, 0.0) - other.get(k, 0.0)) for k in keys), default=0.0)
        out[arm] = {"compared": len(keys), "disagree": len(bad), "worst_m2": worst,
                    "examples": [list(map(str, k)) for k in sorted(bad)[:3]]}
    return out


# ---------------------------------------------------------------- parent


def child(argv: list[str]) -> dict[str, Any]:
    """Run this script's ``--child`` mode in a fresh process with pinned threads."""
    env = {**os.environ, **PINNED, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, __file__, "--child", *argv], env=env,
                          capture_output=True, text=True, cwd=REPO, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child {argv[:2]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def run_size(n: int, n_sites: int, cache: Path, url: str) -> dict[str, Any]:
    """One size: generate (cached), import on both engines, then the arms."""
    from bench.bench_scale import generate

    gpkg = cache / f"parcels-{n}-{SEED}.gpkg"
    if not gpkg.exists():
        print(f"  generating {n:,} parcels …", flush=True)
        generate(gpkg, n, seed=SEED)
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-sizes-{n}-"))
    schema_url, schema = fresh_schema(url)
    try:
        imports = {}
        for engine in ("embedded", "PostGIS"):
            print(f"  importing on {engine} …", flush=True)
            imports[engine] = child(["import", engine, str(tmp / engine.lower()), schema_url,
                                     str(gpkg)])
        print(f"  arms on {n_sites} sites …", flush=True)
        arms = child(["arms", str(tmp), schema_url, str(n_sites),
                      str(min(GEOPANDAS_SITES.get(n, 10), n_sites))])
        return {"n": n, "imports": imports, **arms}
    finally:
        drop_schema(url, schema)
        shutil.rmtree(tmp, ignore_errors=True)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (ms)."""
    import numpy as np

    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "blueprint-bench")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks-sizes.md")
    parser.add_argument("--render", type=Path, help="write the page from a run's JSON")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        if mode == "import":
            result = child_import(rest[0], Path(rest[1]), rest[2], Path(rest[3]))
        else:
            result = child_arms(Path(rest[0]), rest[1], int(rest[2]), int(rest[3]))
        print(json.dumps(result))
        return
    if args.render:
        run = json.loads(args.render.read_text(encoding="utf-8"))
    else:
        url = bench_database_url()
        if not url:
            raise SystemExit("set BLUEPRINT_BENCH_DATABASE_URL or BLUEPRINT_TEST_DATABASE_URL")
        args.cache.mkdir(parents=True, exist_ok=True)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        run = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
               "load_start": os.getloadavg(), "sizes": []}
        for n in [int(x) for x in args.sizes.split(",")]:
            print(f"{n:,} features", flush=True)
            run["sizes"].append(run_size(n, args.sites, args.cache, url))
        run["load_end"] = os.getloadavg()
        from bench.bench_vetting import machine, postgres_version

        run["machine"], run["postgres"] = machine(), postgres_version(url)
        args.output.with_suffix(".json").write_text(json.dumps(run), encoding="utf-8")
    write_page(run, args.output)
    plot(run, args.output.with_suffix(".png"))
    print(f"wrote {args.output}")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "–"


def write_page(run: dict[str, Any], path: Path) -> None:
    """docs/benchmarks-sizes.md from a run."""
    lines = [
        "# Benchmark: the overlay arms at 10^3 … 10^6 features",
        "",
        f"Generated by `python bench/bench_sizes.py` on {run['when']}; do not edit by hand.",
        "",
        f"Machine: {run['machine']}. PostgreSQL: {run['postgres']}.",
        f"Load average (1, 5, 15 min) at the start {tuple(round(x, 1) for x in run['load_start'])}"
        f", at the end {tuple(round(x, 1) for x in run['load_end'])}, on 2 cores.",
        "",
        "The sample city's permanent basic farmland replaced by N seeded six-vertex parcels "
        "over the whole city (a new layer version), every other layer of the sample as it is "
        "(7 vector layers and the capacity raster). The same seeded sites (1–30 ha) through "
        "every arm, the arms in turn (their order turning at each step), so that every arm "
        "meets the same load, and at each step each arm on another site (none runs on the "
        "caches another just warmed for the same site); `geopandas.overlay` afterwards on "
        "its own (its allocations would empty the caches of whichever arm ran next); "
        "before it all, one "
        "unmeasured pass over every site for every arm (geopandas: one call), so that "
        "statements are prepared, buffers read and decoded features cached, as in a running "
        "service. Every process runs one native thread (OMP/MKL/OPENBLAS/GDAL/NUMEXPR "
        "= 1) and the arms one after the other in one Python thread; the PostgreSQL backend "
        "serving the PostGIS arms is its own process and may use the other core while the "
        "client waits (client CPU excludes it). `geopandas.overlay` runs on the first sites "
        "only (seconds per site at 10^6); its ratio is taken on those same sites.",
        "",
    ]
    for size in run["sizes"]:
        n, times, cpus = size["n"], size["times"], size["cpus"]
        lines += [f"## {n:,} farmland parcels", "",
                  "| arm | sites | p50 ms | p95 ms | p99 ms | sites/s at p50 "
                  "| client CPU ms/site |",
                  "|---|---|---|---|---|---|---|"]
        for arm, label in ARMS:
            values = times[arm]
            p50 = pct(values, 50)
            lines.append(f"| {label} | {len(values)} | {p50:.2f} | {pct(values, 95):.2f} | "
                         f"{pct(values, 99):.2f} | {1000 / p50:,.0f} | "
                         f"{statistics.fmean(cpus[arm]) * 1000:.2f} |")
        gp = size["gp_sites"]
        p = {arm: pct(times[arm], 50) for arm in times}
        p_gp = {arm: pct(times[arm][:gp], 50) for arm in times}
        agree = size["agreement"]
        verdict = all(agree[arm]["disagree"] == 0 for arm in CUTTING if arm != "emb_overlay")
        lines += [
            "",
            f"- embedded `vet_site` ÷ PostGIS by the book: **{_ratio(p['emb_vet'], p['book'])}**;"
            f" PostGIS `vet_site` ÷ by the book: **{_ratio(p['pg_vet'], p['book'])}** "
            "(goal: < 1 on both engines).",
            f"- embedded overlay ÷ floor: **{_ratio(p['emb_overlay'], p['floor'])}** (boxes), "
            f"**{_ratio(p['emb_overlay'], p['floor_exact'])}** (features touched); PostGIS "
            f"overlay ÷ floor: {_ratio(p['pg_overlay'], p['floor'])} (boxes), "
            f"{_ratio(p['pg_overlay'], p['floor_exact'])} (features touched) "
            "(goal at 10^6: within 3×).",
            f"- plain `geopandas.overlay` ÷ embedded overlay, on the first {gp} sites: "
            f"**{_ratio(p_gp['geopandas'], p_gp['emb_overlay'])}×**; ÷ PostGIS overlay: "
            f"{_ratio(p_gp['geopandas'], p_gp['pg_overlay'])}× (goal at 10^5: at least 100×).",
            f"- The first `vet_site` in the process (indexes, rasters, statements): embedded "
            f"{size['cold_s']['embedded']:.2f} s, PostGIS {size['cold_s']['PostGIS']:.2f} s; "
            f"peak RSS of the arms' process {size['hwm_engines_mb']:.0f} MB with both engines "
            f"open, {size['hwm_all_mb']:.0f} MB once geopandas frames and trees were loaded.",
            f"- Areas: {agree['pairs']:,} overlapped (site, layer, feature) pieces on "
            f"{agree['site_layer_pairs']:,} (site, layer) pairs; every cutting arm against "
            f"the embedded overlay: **{'all agree' if verdict else 'DISAGREE'}** "
            + "; ".join(f"{a}: {agree[a]['compared']:,} compared, {agree[a]['disagree']} "
                        f"differ, worst {agree[a]['worst_m2']:.3g} m²"
                        for a in CUTTING if a != "emb_overlay") + ".",
            "",
            "| engine | import s | features/s | client CPU s "
            "| peak RSS of the importing process MB |",
            "|---|---|---|---|---|",
        ]
        for engine, imp in size["imports"].items():
            lines.append(f"| {engine} | {imp['import_s']:.1f} | "
                         f"{imp['features'] / imp['import_s']:,.0f} | {imp['import_cpu_s']:.1f} "
                         f"| {imp['maxrss_mb']:.0f} |")
        lines.append("")
    lines += ["![p50 per arm and size](benchmarks-sizes.png)", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def plot(run: dict[str, Any], path: Path) -> None:
    """p50 ms per arm against the farmland's feature count, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ns = [s["n"] for s in run["sizes"]]
    for arm, label in ARMS:
        ax.plot(ns, [pct(s["times"][arm], 50) for s in run["sizes"]], marker="o",
                label=label.replace("`", ""))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("farmland parcels")
    ax.set_ylabel("p50 ms per site")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
