"""A synthetic 永久基本农田 layer of n parcels over the sample city, for tile tests and
``bench/bench_tiles.py``: a jittered grid of small boxes whose centres lie in the city's
counties, ids in row order from south to north (the first 3,000 by id are a strip)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
COUNTIES = SAMPLE / "layers" / "liaocheng_counties.geojson"
CLASSES = np.array(["011", "012", "013"], dtype=object)


def city() -> shapely.Geometry:
    """The union of the sample city's counties (EPSG:4490)."""
    return shapely.union_all(gpd.read_file(COUNTIES, engine="pyogrio").geometry.values)


def farmland_parcels(n: int, seed: int = 14) -> gpd.GeoDataFrame:
    """About ``n`` parcels (never more) covering the city evenly."""
    area = city()
    x0, y0, x1, y1 = area.bounds
    share = area.area / ((x1 - x0) * (y1 - y0))
    step = float(np.sqrt((x1 - x0) * (y1 - y0) * share / n))
    xs, ys = np.meshgrid(np.arange(x0, x1, step), np.arange(y0, y1, step))
    rng = np.random.default_rng(seed)
    cx = xs.ravel() + step * rng.uniform(0.3, 0.7, xs.size)
    cy = ys.ravel() + step * rng.uniform(0.3, 0.7, xs.size)
    inside = shapely.contains_xy(area, cx, cy)
    cx, cy = cx[inside][:n], cy[inside][:n]
    half = step * rng.uniform(0.25, 0.45, (2, cx.size))
    boxes = shapely.box(cx - half[0], cy - half[1], cx + half[0], cy + half[1])
    return gpd.GeoDataFrame({"tbbh": [f"T{i:07d}" for i in range(cx.size)],
                             "dlbm": CLASSES[rng.integers(0, 3, cx.size)]},
                            geometry=boxes, crs=4490)


def write_farmland(path: Path, n: int, seed: int = 14) -> Path:
    """The parcels as a GeoPackage at ``path``."""
    farmland_parcels(n, seed).to_file(path, engine="pyogrio")
    return path
