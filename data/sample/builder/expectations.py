"""The designed facts of each demo site, computed from the files as written.

Each site (as written: the coordinate file's rounded vertices, or the GeoJSON's lon/lat) is
overlaid with each layer (read back from its file, repaired with ``make_valid``) in the site's
own CGCS2000 3-degree Gauss-Krüger zone, with plain shapely: no product code is involved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import shapely
from pyproj import Transformer

from .checks import check_designed_facts
from .common import GEO_EPSG, zone_epsg
from .geometry import Geom, repair
from .site_files import Written
from .sites import Site

Layer = tuple[list[Any], list[Any] | None, np.ndarray]  # ids, classes, repaired geometries


def read_layer(path: Path, layer: str | None, id_field: str | None, *, cls: str | None = None,
               encoding: str | None = None) -> Layer:
    """(ids, classes, repaired geometries) of a layer file as written."""
    kw: dict[str, Any] = {"layer": layer} if layer else {}
    if encoding:
        kw["encoding"] = encoding
    df = pyogrio.read_dataframe(path, **kw)
    ids = list(df[id_field]) if id_field else [None] * len(df)
    classes = list(df[cls]) if cls else None
    geoms = np.array([repair(g) for g in df.geometry], dtype=object)
    return ids, classes, geoms


def read_layers(lay: Path) -> dict[str, Layer]:
    """Every vector layer of the sample, by kind."""
    return {
        "admin_boundary": read_layer(lay / "liaocheng_counties.geojson", None, "id"),
        "ecological_redline": read_layer(lay / "ecological_redline.gpkg", "redline", "hxbh"),
        "basic_farmland": read_layer(lay / "basic_farmland.shp", None, "TBBH", encoding="GBK"),
        "urban_boundary": read_layer(lay / "urban_boundary.geojson", None, "county_code"),
        "zoning": read_layer(lay / "zoning.gpkg", "zoning", None, cls="landuse"),
        "water_source": read_layer(lay / "water_source.shp", None, "name", cls="level"),
        "industrial_park": read_layer(lay / "industrial_park.geojson", None, "name"),
    }


class Projected:
    """Layers projected into a zone CRS, each with its STRtree, made once per (layer, zone)."""

    def __init__(self, layers: dict[str, Layer]):
        self.layers = layers
        self.cache: dict[tuple[str, int], tuple[np.ndarray, shapely.STRtree]] = {}

    def get(self, kind: str, epsg: int, tr: Transformer) -> tuple[np.ndarray, shapely.STRtree]:
        """The geometries of layer ``kind`` in ``epsg`` and their STRtree."""
        if (kind, epsg) not in self.cache:
            pg = _project(self.layers[kind][2], tr)
            self.cache[(kind, epsg)] = (pg, shapely.STRtree(pg))
        return self.cache[(kind, epsg)]


def _project(g: Geom, tr: Transformer) -> Geom:
    return shapely.transform(g, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))


def _overlay(rec: dict[str, Any], kind: str, site: Geom, layer: Layer,
             pg: np.ndarray, tree: shapely.STRtree) -> list[tuple[str, float]]:
    """Record the overlap of ``site`` with one layer in ``rec``; returns (id, area) hits."""
    ids, classes, _ = layer
    tot, hit = 0.0, []
    by_cls: dict[str, float] = {}
    for i in sorted(tree.query(site, predicate="intersects")):
        a = pg[i].intersection(site).area
        if a <= 0:
            continue
        tot += a
        hit.append((str(ids[i]), a))
        if classes is not None:
            k = str(classes[i])
            by_cls[k] = by_cls.get(k, 0.0) + a
    rec["overlap_m2"][kind] = round(tot, 2)
    if by_cls:
        rec["overlap_by_class_m2"][kind] = {k: round(v, 2) for k, v in sorted(by_cls.items())}
    if hit and kind != "zoning":
        rec["features"][kind] = sorted(i for i, _ in hit)
    return hit


def site_record(s: Site, written: tuple[str, list[Geom]], projected: Projected,
                names: dict[str, str]) -> dict[str, Any]:
    """The expectations of one site."""
    kind, polys = written
    zone = s["zone"]
    epsg = zone_epsg(zone)
    tr = Transformer.from_crs(GEO_EPSG, epsg, always_xy=True)
    site = shapely.union_all(polys if kind == "zone" else [_project(g, tr) for g in polys])
    rec: dict[str, Any] = {
        "name": "；".join(n for n, _ in s["parts"]), "zone": zone, "epsg": epsg,
        "parcels": len(polys), "area_m2": round(site.area, 2),
        "area_ha": round(site.area / 1e4, 4), "overlap_m2": {}, "overlap_by_class_m2": {},
        "features": {}}
    county = None
    for lk, layer in projected.layers.items():
        hit = _overlay(rec, lk, site, layer, *projected.get(lk, epsg, tr))
        if lk == "admin_boundary":
            county = max(hit, key=lambda t: t[1])[0]
    assert county is not None and county == s["county"], (s["file"], county)
    rec["county_code"] = county
    rec["county_name"] = names[county]
    rec["designed_industry"] = s["industry"]
    rec["designed_outcome"] = s["outcome"]
    if "by_industry" in s:
        rec["designed_outcome_by_industry"] = s["by_industry"]
    rec["designed_zh"] = s["what_zh"]
    rec["designed_en"] = s["what_en"]
    return rec


def expectations(sites: list[Site], written: Written, layers_dir: Path,
                 names: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Overlaps of each site (as written) with each layer (as written), in m², checked."""
    projected = Projected(read_layers(layers_dir))
    out = {s["file"]: site_record(s, written[s["file"]], projected, names) for s in sites}
    check_designed_facts(out)
    return out
