"""An optional PNG map of every layer and site (``--preview``; needs matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd

from .geometry import repair

ZONING_COLOURS = {"07": "#ffe08a", "08": "#ff7f7f", "09": "#e34a33", "1001": "#8c6bb1",
                  "1101": "#6a51a3", "12": "#999999", "13": "#3182bd", "14": "#31a354"}


def _layers(ax: Any, lay: Path) -> None:
    """Draw the vector layers of ``lay``."""
    gpd.read_file(lay / "liaocheng_counties.geojson").boundary.plot(ax=ax, color="k", lw=0.6)
    gpd.read_file(lay / "basic_farmland.shp", encoding="GBK").plot(ax=ax, color="#f4c542",
                                                                     alpha=0.6, lw=0)
    gpd.read_file(lay / "urban_boundary.geojson").plot(ax=ax, color="#d8b5e8", lw=0)
    z = gpd.read_file(lay / "zoning.gpkg", layer="zoning")
    z.plot(ax=ax, color=[ZONING_COLOURS[c] for c in z["landuse"]], lw=0.1, edgecolor="w")
    gpd.read_file(lay / "industrial_park.geojson").boundary.plot(ax=ax, color="#fd8d3c", lw=1.2)
    r = gpd.read_file(lay / "ecological_redline.gpkg", layer="redline")
    r["geometry"] = [repair(g) for g in r.geometry]
    r.plot(ax=ax, color="#d7191c", alpha=0.8, lw=0)
    w = gpd.read_file(lay / "water_source.shp")
    w[w.level == 2].plot(ax=ax, color="#9ecae1", alpha=0.5, lw=0)
    w[w.level == 1].plot(ax=ax, color="#08519c", lw=0)


def preview(out: Path, site_parts: dict[str, list[Any]], path: Path) -> None:
    """Draw the sample in ``out`` with the sites' outlines into the PNG ``path``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(12, 13))
    _layers(ax, out / "layers")
    for fname, parts in site_parts.items():
        for _, g in parts:
            gpd.GeoSeries([g]).plot(ax=ax, color="none", edgecolor="lime", lw=1.5)
        c = parts[0][1].centroid
        ax.annotate(fname[:2], (c.x, c.y), xytext=(6, 6), textcoords="offset points",
                    color="k", fontsize=9, fontweight="bold")
    ax.set_title("Liaocheng sample (synthetic)")
    fig.savefig(path, dpi=110)
