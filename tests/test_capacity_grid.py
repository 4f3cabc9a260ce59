"""Capacity statistics from the in-memory grid equal exactextract reading the file itself.

The check keeps each capacity raster in memory (issue 14); the oracle here is the
by-the-book path: exactextract on the rasterio dataset with the site in a GeoDataFrame.
"""

from __future__ import annotations

import math
import os
import shutil

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from exactextract import exact_extract

from blueprint.analysis.capacity import capacity_grid, capacity_under_site
from blueprint.layers.crs import CGCS2000, to_crs
from blueprint.layers.repository import list_layers


def _sites(n: int, seed: int = 5) -> list[shapely.Polygon]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x, y = rng.uniform(115.4, 116.4), rng.uniform(35.9, 36.9)
        w, h = rng.uniform(0.0005, 0.03, size=2)
        out.append(shapely.affinity.rotate(shapely.box(x, y, x + w, y + h), rng.uniform(0, 90)))
    out.append(shapely.box(114.0, 35.0, 118.0, 38.0))  # beyond the raster on every side
    return out


def _oracle(path, site) -> dict[str, float | None]:
    with rasterio.open(path) as src:
        crs = src.crs.to_string()
        frame = gpd.GeoDataFrame(geometry=[to_crs(site, CGCS2000, crs)], crs=crs)
        stats = exact_extract(src, frame, ["mean", "min", "count"], output="pandas")
        n = src.count
    out = {}
    for i in range(1, n + 1):
        for op in ("mean", "min", "count"):
            col = f"band_{i}_{op}" if n > 1 else op
            raw = stats[col].iloc[0]
            value = math.nan if raw is None else float(raw)
            out[f"{i}_{op}"] = None if math.isnan(value) else round(value, 6)
    return out


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_grid_statistics_equal_exactextract_on_the_file(sample_store):
    rasters = [x for x in list_layers(store=sample_store) if x.kind == "env_capacity"]
    assert rasters
    for layer in rasters:
        for site in _sites(40):
            got = capacity_under_site(site, [layer], {})["layers"][0]["bands"]
            want = _oracle(layer.raster_file(), site)
            for i, band in enumerate(got, start=1):
                assert band["mean"] == want[f"{i}_mean"]
                assert band["min"] == want[f"{i}_min"]


def test_a_changed_file_is_read_again(sample_store, tmp_path):
    layer = next(x for x in list_layers(store=sample_store) if x.kind == "env_capacity")
    copy = tmp_path / "grid.tif"
    shutil.copy(layer.raster_file(), copy)
    first = capacity_grid(copy)
    assert capacity_grid(copy) is first  # kept
    with rasterio.open(copy, "r+") as dst:
        dst.write(dst.read(1) + 1, 1)
    os.utime(copy, ns=(copy.stat().st_atime_ns, copy.stat().st_mtime_ns + 10**9))
    again = capacity_grid(copy)
    assert again is not first
    assert np.array_equal(again.bands[0], first.bands[0] + 1)
    with pytest.raises(ValueError):
        first.bands[0][0, 0] = 0  # shared between threads: read-only
