"""A synthetic 永久基本农田 layer of n parcels over the sample city, for tile tests and
``bench/bench_tiles.py``: a jittered grid of small boxes whose centres lie in the city's
counties, ids in row order from south to north (the first 3,000 by id are a strip)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely

if TYPE_CHECKING:
    from blueprint.layers.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
COUNTIES = SAMPLE / "layers" / "liaocheng_counties.geojson"
CLASSES = np.array(["011", "012", "013"], dtype=object)


def city() -> shapely.Geometry:
    """The union of the sample city's counties (EPSG:4490)."""
    return shapely.union_all(gpd.read_file(COUNTIES, engine="pyogrio").geometry.values)


@lru_cache(maxsize=2)
def farmland_parcels(n: int, seed: int = 14) -> gpd.GeoDataFrame:
    """About ``n`` parcels (never more) covering the city evenly (cached: do not modify)."""
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


def store_farmland(store: Store, n: int, *, name: str = "basic_farmland") -> int:
    """Write about ``n`` parcels straight into ``store`` as a 永久基本农田 layer, through the
    importer's last step (the engine's ``write_features``), without a file: reading,
    repairing and converting 10^5 rows one by one costs a minute on a busy machine, and
    ``tests/test_tiles.py`` covers the real import. Returns the count."""
    import json

    from blueprint.layers.import_model import ImportReport
    from blueprint.layers.importer import _write_vector_layer

    frame = farmland_parcels(n)
    wkbs = shapely.to_wkb(frame.geometry.values, output_dimension=2)
    rows = [{"fid": fid, "klass": None, "geom": wkb,
             "props": json.dumps({"tbbh": fid, "dlbm": cls})}
            for fid, cls, wkb in zip(frame["tbbh"], frame["dlbm"], wkbs, strict=True)]
    report = ImportReport(name=name, kind="basic_farmland", title="永久基本农田",
                          feature_count=len(rows), repaired=0,
                          bbox=tuple(float(v) for v in frame.total_bounds),  # type: ignore[arg-type]
                          source_file="farmland.gpkg", source_crs="EPSG:4490")
    _write_vector_layer(report, rows, "test", store=store, progress=None)
    return len(rows)
