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

import numpy as np
import shapely

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_vetting import drop_schema, machine, open_postgis, postgres_version  # noqa: E402
from blueprint.layers.importer import ImportOptions, import_layer  # noqa: E402
from blueprint.layers.repository import get_layer  # noqa: E402
from blueprint.layers.store import Store, open_store  # noqa: E402
from blueprint.layers.tiles import MAX_TILE_BYTES, vector_tile  # noqa: E402
from tests.tiles_support import farmland_parcels  # noqa: E402

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


def run(store: Store, tiles: list[tuple[int, int, int]]) -> dict[str, object]:
    """Warm-up pass, then the timed pass: seconds and bytes per tile."""
    layer = get_layer("farmland", store=store)
    t0 = time.perf_counter()
    for z, x, y in tiles:
        vector_tile(layer, z, x, y, store=store)
    warm_s = time.perf_counter() - t0
    times, sizes = [], []
    for z, x, y in tiles:
        t = time.perf_counter()
        data = vector_tile(layer, z, x, y, store=store)
        times.append(time.perf_counter() - t)
        sizes.append(len(data))
    return {"tiles": tiles, "times": np.array(times), "sizes": np.array(sizes),
            "warm_s": warm_s}


def p95(values: np.ndarray) -> float:
    return float(np.percentile(values, 95)) if values.size else float("nan")


def rows(n: int, engine: str, result: dict[str, object], import_s: float) -> list[str]:
    """One overall row and one per zoom."""
    times = np.asarray(result["times"]) * 1000
    sizes = np.asarray(result["sizes"]) / 1000
    zooms = np.array([t[0] for t in result["tiles"]])  # type: ignore[attr-defined]
    out = [f"| {n:,} | {engine} | all | {len(times)} | {import_s:.0f} | {sizes.max():.0f} | "
           f"{p95(sizes):.0f} | {np.median(times):.0f} | {p95(times):.0f} | "
           f"{int((sizes * 1000 > MAX_TILE_BYTES).sum())} |"]
    for z in ZOOMS:
        m = zooms == z
        out.append(f"| | | {z} | {int(m.sum())} | | {sizes[m].max():.0f} | {p95(sizes[m]):.0f} | "
                   f"{np.median(times[m]):.0f} | {p95(times[m]):.0f} | "
                   f"{int((sizes[m] * 1000 > MAX_TILE_BYTES).sum())} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--per-zoom", type=int, default=40)
    parser.add_argument("--database-url", default=os.environ.get("BLUEPRINT_TEST_DATABASE_URL"))
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks-tiles.md")
    args = parser.parse_args()
    load = [os.getloadavg()[0]]
    table: list[str] = []
    for n in args.sizes:
        frame = farmland_parcels(n)
        centres = np.asarray(shapely.get_coordinates(shapely.centroid(frame.geometry.values)))
        tiles = tile_set(centres, args.per_zoom)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "farmland.gpkg"
            frame.to_file(path, engine="pyogrio")
            engines = ["embedded"] + (["postgis"] if args.database_url else [])
            for engine in engines:
                schema = None
                if engine == "embedded":
                    store = open_store("", Path(tmp) / "embedded")
                else:
                    store, schema = open_postgis(args.database_url, Path(tmp) / "postgis")
                try:
                    t0 = time.perf_counter()
                    import_layer(path, ImportOptions(kind="basic_farmland", name="farmland",
                                                     class_field="dlbm"), store=store)
                    import_s = time.perf_counter() - t0
                    result = run(store, tiles)
                finally:
                    store.close()
                    if schema:
                        drop_schema(args.database_url, schema)
                table += rows(len(frame), engine, result, import_s)
                print(table[-len(ZOOMS) - 1], flush=True)
                load.append(os.getloadavg()[0])
    write_report(args, table, load)


def write_report(args: argparse.Namespace, table: list[str], load: list[float]) -> None:
    """docs/benchmarks-tiles.md."""
    sizes = " ".join(str(n) for n in args.sizes)
    lines = [
        "# Benchmarks: vector tiles",
        "",
        f"Generated by `python bench/bench_tiles.py --sizes {sizes} --per-zoom {args.per_zoom}` "
        f"on {time.strftime('%Y-%m-%d')}; do not edit by hand.",
        "",
        f"Machine: {machine()}. **Shared**: other jobs ran on it at the same time (1-minute "
        f"load average {min(load):.1f}–{max(load):.1f} on {os.cpu_count()} cores during the "
        "run), so times are upper bounds of what the code does on an idle machine.",
        f"PostgreSQL: {postgres_version(args.database_url) if args.database_url else 'not run'}.",
        "",
        "A synthetic 永久基本农田 layer (`tests/tiles_support.py`: parcels evenly over the sample "
        "city, Liaocheng, ~8,700 km²) per size, imported into a fresh store per engine. Tiles: "
        "every tile holding a parcel at zoom 8, and up to "
        f"{args.per_zoom} seeded random tiles holding parcels at each zoom 9–16; each tile made "
        "once to warm up (spatial index built, plans cached), then timed once more through "
        "`layers.tiles.vector_tile` (no tile cache: every tile is computed). Targets: every "
        f"tile ≤ {MAX_TILE_BYTES // 1000} KB, p95 ≤ {TARGET_MS:.0f} ms warm.",
        "",
        "| features | engine | zoom | tiles | import s | max KB | p95 KB | p50 ms | p95 ms | "
        "tiles > 500 KB |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *table,
        "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
