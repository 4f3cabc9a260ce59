"""The environmental capacity raster (剩余环境容量), 500 m cells in EPSG:4548, six bands."""

from __future__ import annotations

import math

import numpy as np
import rasterio
import rasterio.features
import rasterio.transform
from shapely.geometry import mapping

from .city import City
from .common import WORK_EPSG, log
from .design import SEATS
from .geometry import lonlat_m

CELL = 500.0
# band name, capacity (t/a per cell) far from any town or park
BANDS = [("SO2", 3.6), ("NOx", 6.5), ("COD", 3.2), ("NH3-N", 0.45), ("VOCs", 5.0), ("PM", 3.0)]


def _pressure(c: City, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Development pressure, 0..0.92: Gaussian bumps around the seats and the parks."""
    pressure = np.zeros_like(X)
    for lon, lat, radius in SEATS.values():
        sx, sy = lonlat_m(lon, lat)
        pressure += 0.55 * np.exp(-((X - sx) ** 2 + (Y - sy) ** 2) / (2 * (radius * 0.9) ** 2))
    for p in c.park:
        cen = p["geom"].centroid
        pressure += 0.6 * np.exp(-((X - cen.x) ** 2 + (Y - cen.y) ** 2) / (2 * 2500.0 ** 2))
    return np.clip(pressure, 0, 0.92)


def _band(c: City, base: float, pressure: np.ndarray, X: np.ndarray, Y: np.ndarray,
          outside: np.ndarray) -> np.ndarray:
    """One band: the base capacity less the pressure, with smooth noise, nodata outside."""
    noise = np.zeros_like(X)
    for _ in range(6):
        kx, ky = c.rng.normal(0, 1 / 15000.0, 2)
        noise += np.sin(2 * math.pi * (kx * X + ky * Y) + c.rng.uniform(0, 6.3))
    noise /= math.sqrt(3.0)
    raw = base * (1 - pressure) * (1 + 0.12 * noise)
    v = np.round(np.clip(raw, 0.0, None), 3)
    v[outside] = -9999.0
    return v.astype("float32")


def write_raster(c: City) -> None:
    """Write ``layers/env_capacity.tif``: the city's bounds plus 5 km, tiled and compressed."""
    minx, miny, maxx, maxy = c.whole.bounds
    x0 = math.floor((minx - 5000) / CELL) * CELL
    y1 = math.ceil((maxy + 5000) / CELL) * CELL
    x1 = math.ceil((maxx + 5000) / CELL) * CELL
    y0 = math.floor((miny - 5000) / CELL) * CELL
    w, h = int((x1 - x0) / CELL), int((y1 - y0) / CELL)
    transform = rasterio.transform.from_origin(x0, y1, CELL, CELL)
    X, Y = np.meshgrid(x0 + (np.arange(w) + 0.5) * CELL, y1 - (np.arange(h) + 0.5) * CELL)
    pressure = _pressure(c, X, Y)
    outside = rasterio.features.geometry_mask([mapping(c.whole)], out_shape=(h, w),
                                              transform=transform, invert=False)
    data = np.empty((len(BANDS), h, w), dtype="float32")
    for b, (_, base) in enumerate(BANDS):
        data[b] = _band(c, base, pressure, X, Y, outside)
    path = c.out / "layers" / "env_capacity.tif"
    profile = dict(driver="GTiff", width=w, height=h, count=len(BANDS), dtype="float32",
                   crs=f"EPSG:{WORK_EPSG}", transform=transform, nodata=-9999.0,
                   tiled=True, blockxsize=128, blockysize=128, compress="deflate",
                   predictor=3)
    path.unlink(missing_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for b, (name, _) in enumerate(BANDS, start=1):
            dst.set_band_description(b, name)
            dst.update_tags(b, units="t/a")
        dst.update_tags(units="t/a", description="剩余环境容量（吨/年/栅格）",
                        source="synthetic sample, data/sample/build.py")
    log(f"env_capacity: {w} x {h} cells, 6 bands")
