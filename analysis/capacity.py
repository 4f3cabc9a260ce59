"""Environmental capacity (环境容量) left under a site, from the capacity rasters.

Both engines read the rasters with rasterio through exactextract: the raster files are
kept under the data folder and referenced from the layer catalogue (PostGIS stores the
path, not the pixels: capacity grids are small, and exactextract's exact cell-coverage
weights have no equal in PostGIS raster).
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import rasterio
from exactextract import exact_extract
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.amounts import parse_pairs
from blueprint.layers.crs import CGCS2000, to_crs
from blueprint.layers.errors import BadInput
from blueprint.layers.repository import LayerInfo

POLLUTANT_ALIASES = {
    "so2": "SO2", "nox": "NOx", "cod": "COD", "nh3-n": "NH3-N", "nh3n": "NH3-N",
    "nh3_n": "NH3-N", "氨氮": "NH3-N", "vocs": "VOCs", "voc": "VOCs", "pm": "PM",
    "particulates": "PM", "颗粒物": "PM", "二氧化硫": "SO2", "氮氧化物": "NOx",
}
# Share of the site the raster must cover (with data) for a capacity check to count.
FULL_COVER = 0.999
POLLUTANT_NAMES_ZH = {"SO2": "二氧化硫", "NOx": "氮氧化物", "COD": "化学需氧量",
                      "NH3-N": "氨氮", "VOCs": "挥发性有机物", "PM": "颗粒物"}


def pollutant(name: str) -> str:
    """Canonical pollutant code (SO2, NOx, COD, NH3-N, VOCs, PM) for a user's spelling."""
    key = name.strip().lower()
    if key in POLLUTANT_ALIASES:
        return POLLUTANT_ALIASES[key]
    raise BadInput(f"unknown pollutant {name!r}; use SO2, NOx, COD, NH3-N, VOCs or PM",
                   message_zh=f"未知的污染物“{name}”")


def parse_emissions(text: str | None) -> dict[str, float]:
    """Parse ``SO2=12.5,NOx=30`` into ``{"SO2": 12.5, "NOx": 30.0}`` (t/yr)."""
    def bad(part: str) -> BadInput:
        return BadInput(f"emission {part!r} is not POLLUTANT=TONNES",
                        message_zh=f"排放量“{part}”格式应为 污染物=吨数")

    return {pollutant(key): amount for key, amount in parse_pairs(text, float, bad)}


def capacity_under_site(site: BaseGeometry, layers: list[LayerInfo],
                        emissions: dict[str, float]) -> dict[str, Any]:
    """Area-weighted mean and minimum of each capacity band under ``site`` (EPSG:4490).

    Cells partly covered count by their covered share (exactextract's coverage weights).
    With ``emissions`` (t/yr per pollutant), each band says whether the demand fits: it
    fits when it is no more than the minimum remaining capacity under the site.
    """
    results = [_layer_capacity(site, layer, emissions) for layer in layers]
    checks = [b["fits"] for r in results for b in r["bands"] if b["fits"] is not None]
    return {"layers": results, "fits": all(checks) if checks else None,
            "emissions": emissions}


def _layer_capacity(site: BaseGeometry, layer: LayerInfo,
                    emissions: dict[str, float]) -> dict[str, Any]:
    with rasterio.open(layer.raster_file()) as src:  # the file carries its own CRS
        crs = src.crs.to_string()
        cell_m2 = abs(src.transform.a * src.transform.e)
        frame = gpd.GeoDataFrame(geometry=[to_crs(site, CGCS2000, crs)], crs=crs)
        stats = exact_extract(src, frame, ["mean", "min", "count"], output="pandas")
    site_area = float(frame.area.iloc[0]) or 1.0
    n = len(layer.bands)
    bands = []
    for i, name in enumerate(layer.bands, start=1):
        mean, low = _stat(stats, f"band_{i}_mean", n), _stat(stats, f"band_{i}_min", n)
        covered = min(1.0, (_stat(stats, f"band_{i}_count", n) or 0.0) * cell_m2 / site_area)
        code = _band_pollutant(name)
        demand = emissions.get(code) if code else None
        fits = None
        if demand is not None and low is not None and covered >= FULL_COVER:
            fits = demand <= low
        bands.append({"band": name, "pollutant": code,
                      "title": POLLUTANT_NAMES_ZH.get(code or "", name), "mean": mean,
                      "min": low, "covered_share": round(covered, 4), "demand": demand,
                      "fits": fits})
    return {"layer": layer.name, "title": layer.title, "units": "t/a", "bands": bands}


def _stat(stats: Any, column: str, nbands: int) -> float | None:
    if column not in stats.columns and nbands == 1:
        column = column.split("_", 2)[-1]
    raw = stats[column].iloc[0] if column in stats.columns else None
    value = math.nan if raw is None else float(raw)
    return None if math.isnan(value) else round(value, 6)


def _band_pollutant(name: str) -> str | None:
    try:
        return pollutant(name)
    except BadInput:
        return None
