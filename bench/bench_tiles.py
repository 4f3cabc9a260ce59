"""Vector tiles at scale (issue 14): tile size and time on both engines, 10^5 and 10^6 parcels.

A synthetic 永久基本农田 layer (``tests/tiles_support.py``: parcels covering the sample
city evenly) is imported into a fresh store per engine; a fixed set of tiles at zooms
8–16 (every tile over the city at 8, up to ``--per-zoom`` seeded random tiles holding
parcels above) is made once to warm up (index, caches, plans), then timed once more
through :func:`layers.tiles.vector_tile`, in one process. Writes docs/benchmarks-tiles.md.

    python bench/bench_tiles.py --sizes 100000 1000000 [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_vetting import drop_schema, machine, open_postgis, postgres_version  # noqa: E402
from blueprint.layers.errors import NotFound  # noqa: E402
from blueprint.layers.repository import get_layer  # noqa: E402
from blueprint.layers.store import Store, open_store  # noqa: E402
from blueprint.layers.tiles import MAX_TILE_BYTES, vector_tile  # noqa: E402
from tests.tiles_support import farmland_parcels, store_farmland  # noqa: E402

ZOOMS = range(8, 17)
TARGET_MS = 150.0


def tile_set(centres: np.ndarray, per_zoom: int, seed: int = 14) -> list[tuple[int, int, int]]:
    """Every tile holding a parcel at zoom 8, then up to ``per_zoom`` such tiles per zoom."""
    rng = np.random.default_rng(seed)
    out: list[tuple[int, int, int]] = []
    for z in ZOOMS:
        n = 2**z
        x = ((centres[:, 0] + 180) / 360 * n).astype(int)
        lat = np.radians(centres[:, 1])
        y = ((1 - np.arcsinh(np.tan(lat)) / math.pi) / 2 * n).astype(int)
        tiles = np.unique(np.column_stack([x, y]), axis=0)
        if z > min(ZOOMS) and len(tiles) > per_zoom:
            tiles = tiles[rng.choice(len(tiles), per_zoom, replace=False)]
        out += [(z, int(tx), int(ty)) for tx, ty in tiles]
    return out


def run(store: Store, tiles: list[tuple[int, int, int]], load: list[float]) -> dict[str, object]:
    """Three passes over the tiles: cold (the store just opened: the first tile loads the
    layer's index or overview, the first of each zoom its cells; tiles go into the tile
    cache), warm (every tile computed again, the cache bypassed) and cached (from the tile
    cache). Seconds and bytes per tile; warm also in this process's CPU seconds."""
    layer = get_layer("farmland", store=store)
    out: dict[str, object] = {"tiles": tiles}
    for name, cache in (("cold", True), ("warm", False), ("cached", True)):
        times, cpu, sizes = [], [], []
        for z, x, y in tiles:
            t, c = time.perf_counter(), time.process_time()
            data = vector_tile(layer, z, x, y, store=store, cache=cache)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            sizes.append(len(data))
        load.append(os.getloadavg()[0])
        out[name] = np.array(times)
        out[f"{name}_cpu"] = np.array(cpu)
        out["sizes"] = np.array(sizes)
    overview = store.cache.get("tile_overview:farmland")
    out["overview_mb"] = overview[1].nbytes / 1e6 if overview else 0.0
    out["cache_mb"] = sum(len(v) for v in store.cache["tile_cache"]._tiles.values()) / 1e6
    return out


def open_bench_store(engine: str, n: int, url: str | None, tmp: Path,
                     keep: Path | None) -> tuple[Store, str | None, float | None]:
    """The store with the farmland layer of ``n`` parcels: fresh in ``tmp``, or kept in
    ``keep`` (embedded directory, PostGIS schema ``bench_tiles_<n>``) and reused when it
    already holds the layer. Returns the store, a schema to drop and the import seconds
    (None when reused)."""
    from urllib.parse import quote

    import sqlalchemy as sa

    schema = None
    if engine == "embedded":
        store = open_store("", (keep or tmp) / f"embedded-{n}")
    elif keep is None:
        store, schema = open_postgis(str(url), tmp / "postgis")
    else:
        name = f"bench_tiles_{n}"
        eng = sa.create_engine(str(url).replace("postgresql://", "postgresql+psycopg2://", 1))
        with eng.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{name}"'))
        eng.dispose()
        sep = "&" if "?" in str(url) else "?"
        store = open_store(f"{url}{sep}options={quote(f'-csearch_path={name},public')}",
                           keep / f"postgis-{n}")
    try:
        get_layer("farmland", store=store)
        return store, schema, None
    except NotFound:
        pass
    t0 = time.perf_counter()
    store_farmland(store, n, name="farmland")
    return store, schema, time.perf_counter() - t0


def p95(values: np.ndarray) -> float:
    return float(np.percentile(values, 95)) if values.size else float("nan")


def rows(n: int, engine: str, result: dict[str, Any], import_s: float | None) -> list[str]:
    """One overall row and one per zoom."""
    sizes = np.asarray(result["sizes"]) / 1000
    zooms = np.array([t[0] for t in result["tiles"]])
    first = result["cold"][0]
    out = []
    for z in [None, *ZOOMS]:
        m = np.ones(zooms.size, dtype=bool) if z is None else zooms == z
        cold, warm = result["cold"][m] * 1000, result["warm"][m] * 1000
        cached, cpu = result["cached"][m] * 1000, result["warm_cpu"][m] * 1000
        if z is None:
            head = (f"| {n:,} | {engine} | all | {int(m.sum())} | "
                    f"{'reused' if import_s is None else f'{import_s:.0f}'} | {first:.1f} | ")
        else:
            head = f"| | | {z} | {int(m.sum())} | | | "
        met = sizes[m].max() * 1000 <= MAX_TILE_BYTES and p95(warm) <= TARGET_MS
        out.append(head + f"{sizes[m].max():.0f} | {np.median(cold):.0f} | {p95(cold):.0f} | "
                   f"{cold.max():.0f} | {np.median(warm):.0f} | {p95(warm):.0f} | "
                   f"{warm.max():.0f} | {p95(cpu):.0f} | {p95(cached):.2f} | "
                   f"{'yes' if met else '**no**'} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--per-zoom", type=int, default=40)
    parser.add_argument("--database-url", default=os.environ.get("BLUEPRINT_TEST_DATABASE_URL"))
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the stores here (PostGIS: schema bench_tiles_<n>) and reuse "
                             "them on the next run")
    parser.add_argument("--import-only", action="store_true",
                        help="only fill the kept stores (with --keep)")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks-tiles.md")
    args = parser.parse_args()
    load = [os.getloadavg()[0]]
    table: list[str] = []
    memory: list[str] = []
    for n in args.sizes:
        frame = farmland_parcels(n)
        centres = np.asarray(shapely.get_coordinates(shapely.centroid(frame.geometry.values)))
        tiles = tile_set(centres, args.per_zoom)
        with tempfile.TemporaryDirectory() as tmp:
            engines = ["embedded"] + (["postgis"] if args.database_url else [])
            for engine in engines:
                store, schema, import_s = open_bench_store(engine, n, args.database_url,
                                                           Path(tmp), args.keep)
                print(f"{n} {engine}: import {import_s}", flush=True)
                if args.import_only:
                    store.close()
                    continue
                try:
                    result = run(store, tiles, load)
                finally:
                    store.close()
                    if schema:
                        drop_schema(args.database_url, schema)
                table += rows(len(frame), engine, result, import_s)
                memory.append(f"{len(frame):,} {engine}: overview {result['overview_mb']:.0f} MB, "
                              f"tile cache {result['cache_mb']:.1f} MB")
                print("\n".join(table[-len(ZOOMS) - 1:]), flush=True)
                load.append(os.getloadavg()[0])
    if not args.import_only:
        write_report(args, table, load, memory)


def goals(table: list[str]) -> str:
    """One line: are the targets met, and where not."""
    missed, current = [], ""
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0]:
            current = f"{cells[0]} {cells[1]}"
        if cells[-1] != "yes":
            missed.append(f"{current} zoom {cells[2]}")
    if not missed:
        return ("**Goals met** at every zoom, both engines, every size run: every tile ≤ "
                f"{MAX_TILE_BYTES // 1000} KB, warm p95 ≤ {TARGET_MS:.0f} ms (at the load "
                "above).")
    return "**Goals not met** at: " + "; ".join(missed) + "."


def write_report(args: argparse.Namespace, table: list[str], load: list[float],
                 memory: list[str]) -> None:
    """docs/benchmarks-tiles.md."""
    sizes = " ".join(str(n) for n in args.sizes)
    lines = [
        "# Benchmarks: vector tiles",
        "",
        f"Generated by `python bench/bench_tiles.py --sizes {sizes} --per-zoom {args.per_zoom}` "
        f"on {time.strftime('%Y-%m-%d')}; do not edit by hand.",
        "",
        f"Machine: {machine()}. 1-minute load average {min(load):.1f}–{max(load):.1f} on "
        f"{os.cpu_count()} cores during the run (the run keeps about one busy"
        + ("; more: other jobs shared the machine, so times are upper bounds of what the "
           "code does on an idle machine)." if max(load) > 1.6 else ": an idle machine)."),
        f"PostgreSQL: {postgres_version(args.database_url) if args.database_url else 'not run'}.",
        "",
        "## What is measured",
        "",
        "A synthetic 永久基本农田 layer (`tests/tiles_support.py`: parcels evenly over the sample "
        "city, Liaocheng, ~8,700 km²) per size, written into a store per engine through the "
        "importer's last step (`store_farmland`; with `--keep` the stores are kept and reused, "
        "so `import s` may read `reused`). Tiles: every tile holding a parcel at zoom 8, and up "
        f"to {args.per_zoom} seeded random tiles holding parcels at each zoom 9–16, through "
        "`layers.tiles.vector_tile`, in one process, three passes:",
        "",
        "- **cold**: the store just opened, nothing loaded. The first tile loads the layer "
        "(embedded: its spatial index; PostGIS: the overview query) — its time is the "
        "`first tile s` column and is inside the cold max of zoom 8; the first tile of each zoom "
        "≤ 12 also computes that zoom's cells of the overview (the cold max of the zoom);",
        "- **warm**: every tile computed again with the tile cache bypassed (`cache=False`): "
        "the work a tile costs once the layer is loaded. **This is the target's p95**; "
        "`warm CPU p95` is this process's CPU time (on PostGIS the database's share is not in "
        "it), less disturbed by the other jobs than wall time;",
        "- **cached**: the same tiles again from the tile cache (what a repeated request costs).",
        "",
        f"Targets: every tile ≤ {MAX_TILE_BYTES // 1000} KB and warm p95 ≤ {TARGET_MS:.0f} ms "
        "(`met`, per zoom and overall). Times in ms unless named.",
        "",
        "| features | engine | zoom | tiles | import s | first tile s | max KB | cold p50 | "
        "cold p95 | cold max | warm p50 | warm p95 | warm max | warm CPU p95 | cached p95 | "
        "met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *table,
        "",
        goals(table),
        "",
        "Memory after the run (per engine and size): " + "; ".join(memory) + ". The layer's "
        "own index (embedded) is not in these figures.",
        "",
        "## How the map stays true and fast at every zoom",
        "",
        "**Vector tiles at every zoom, with tiny-feature merging; no raster tiles.** Rules "
        "(`layers/tiles.py`, the same on both engines): a feature at least 4 pixels across is "
        "drawn as itself, simplified by half a pixel, clipped to the tile and its 4-pixel "
        "buffer; a smaller one is never dropped but marks the one-pixel cell of its "
        "bounding-box centre, and the marked cells of a tile, joined along rows, are one "
        "feature (`_merged`). So at city zoom a 10^6-parcel layer is drawn where its parcels "
        "are, at screen resolution, in a tile whose size is bounded by its 65,536 pixels, not by "
        "the feature count. Raster tiles at low zoom were not chosen: they would need a "
        "renderer and a style per layer on the server, a second cache of images, and the map "
        "could no longer recolour or pick features client-side; the vector cells already "
        "bound the size and look the same.",
        "",
        "**Low zoom from a per-layer-version overview** (`layers/tile_overview.py`). The "
        "rules need, at zoom ≤ 12, only (a) the features big enough to be drawn whole — the "
        "overview sorts features by web-mercator size, so at zoom z they are a prefix, and a "
        "tile filters that prefix's boxes (a handful at 10^6 parcels) — and (b) the marked "
        "cells: a zoom's cell grid is one global grid of which a tile is a 256 × 256 window, "
        "so each zoom's cells are computed once (sorted integers) and a tile reads its window "
        "with 256 binary searches. A low-zoom tile therefore never touches the 10^5–10^6 "
        "small features. The overview is built lazily by the layer version's first low-zoom "
        "tile (no hook in the importer): embedded from the boxes it keeps beside its spatial "
        "index, PostGIS from one scan returning every box as packed float8 and the fids of "
        "the big ones; it is kept in the store's cache under the layer name and replaced when "
        "a new version is asked for (~24 bytes a feature, plus the cells of each zoom asked "
        "for). On PostGIS the whole features are read by fid and encoded by `ST_AsMVT`; the "
        "merged cells are encoded by `layers/mvt.py` and joined to that tile "
        "(`mvt.join_tiles`): handing PostGIS 10^4 rectangles to encode cost 0.1–0.3 s a tile. "
        "Above zoom 12 a tile holds few features and each engine's spatial query (STRtree; "
        "GiST in `sql/tile.sql`) is used as before.",
        "",
        "**A bounded tile cache** per store (64 MB of tiles, at most 20,000), least recently "
        "used dropped first, keyed by (layer name, layer version, z, x, y). Layer versions are "
        "immutable (a re-import is a new version), so a cached tile is never stale "
        "(`tests/test_tiles.py::test_reimported_layer_shows_new_tiles`); the page also asks "
        "for `?v=<version>`, so the browser's HTTP cache is safe for the same reason.",
        "",
        "Tests: `tests/test_tiles.py` (the overview draws what the spatial query draws, both "
        "engines; engines agree; every small parcel marked at city zoom; re-import), "
        "`tests/test_browser_tiles.py` (10^5 parcels drawn in every county at city zoom in "
        "Chromium).",
        "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
