"""Zoning blocks (用途分区) inside the urban boundaries, drawn in EPSG:4490.

The blocks are cut from a lon/lat grid so that neighbouring blocks share their edges exactly;
inside the parks they are industrial or logistics, elsewhere the class depends on the distance
from the county seat and on smooth random fields, so that classes come in clusters.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import shapely
from shapely.geometry import box

from .city import City, Feature
from .common import log
from .design import SEATS, URBAN_CLASSES
from .geometry import Geom, lonlat_m, to_m

Field = Callable[[str, float, float], float]


def landuse_fields(rng: np.random.Generator) -> Field:
    """One smooth random field per urban class, so that classes come in clusters."""
    params = {}
    for cls in URBAN_CLASSES:
        waves = []
        for _ in range(4):
            wl = rng.uniform(2500.0, 6000.0)
            ang = rng.uniform(0, math.pi)
            waves.append((math.cos(ang) / wl, math.sin(ang) / wl, rng.uniform(0, 2 * math.pi)))
        params[cls] = waves

    def field(cls: str, x: float, y: float) -> float:
        return sum(math.sin(2 * math.pi * (kx * x + ky * y) + ph)
                   for kx, ky, ph in params[cls]) / 2.0
    return field


def pick_landuse(d: float, u: np.ndarray, x: float, y: float, field: Field) -> str:
    """Land-use class of an urban block at relative distance ``d`` from the seat centre."""
    if d < 0.3:
        table = {"09": 0.30, "08": 0.22, "07": 0.33, "14": 0.10, "12": 0.05, "13": 0.02}
    elif d < 0.7:
        table = {"07": 0.55, "08": 0.10, "09": 0.12, "14": 0.10, "13": 0.06, "12": 0.07}
    else:
        table = {"07": 0.45, "14": 0.18, "13": 0.12, "12": 0.15, "08": 0.10, "09": 0.03}
    # Gumbel-max over log-probabilities shifted by the smooth fields: clustered, seeded
    best, score = "07", -1e9
    for i, cls in enumerate(URBAN_CLASSES):
        if cls not in table:
            continue
        gumbel = -math.log(-math.log(min(max(u[i], 1e-12), 1 - 1e-12)))
        sc = math.log(table[cls]) + 1.6 * field(cls, x, y) + 0.6 * gumbel
        if sc > score:
            best, score = cls, sc
    return best


def _axis(lo: float, hi: float, origin: float, step: float) -> np.ndarray:
    """Grid lines every ``step`` degrees from ``origin`` that cover [lo, hi]."""
    k = np.arange(math.floor((lo - origin) / step), math.ceil((hi - origin) / step) + 1)
    return np.round(origin + k * step, 8)


def _county_blocks(c: City, code: str, field: Field) -> list[Feature]:
    """The zoning blocks of one county's urban boundary."""
    dx, dy = 0.0112, 0.009
    ubg = c.ub_geo[code]
    parks = [p for p in c.park if p["county"] == code]
    park_geo = shapely.union_all([p["geom_geo"] for p in parks])
    lon, lat, radius = SEATS[code]
    sx, sy = lonlat_m(lon, lat)
    minx, miny, maxx, maxy = ubg.bounds
    gx, gy = _axis(minx, maxx, 115.0, dx), _axis(miny, maxy, 35.5, dy)
    feats: list[Feature] = []
    for j in range(len(gy) - 1):
        for i in range(len(gx) - 1):
            cell = box(gx[i], gy[j], gx[i + 1], gy[j + 1])
            if not cell.intersects(ubg):
                continue
            a = cell.intersection(ubg)
            u1, u2 = c.rng.random(), c.rng.random(len(URBAN_CLASSES))
            for part in _polygons(a.intersection(park_geo)):
                pk = next(p for p in parks if p["geom_geo"].intersects(part))
                cls = "1101" if u1 < pk["p_log"] else "1001"
                feats.append(dict(county=code, landuse=cls, geom=part))
            for part in _polygons(a.difference(park_geo)):
                m = to_m(part.centroid)
                d = math.hypot(m.x - sx, m.y - sy) / radius
                feats.append(dict(county=code, landuse=pick_landuse(d, u2, m.x, m.y, field),
                                  geom=part))
    return feats


def _polygons(geom: Geom) -> list[Geom]:
    """The non-empty polygons among the parts of ``geom``."""
    return [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]


def add_zoning(c: City) -> None:
    """Zoning blocks for every urban boundary; slivers under 300 m² are dropped."""
    field = landuse_fields(c.rng)
    feats = [f for code in sorted(c.ub) for f in _county_blocks(c, code, field)]
    c.zone = [f for f in feats if to_m(f["geom"]).area >= 300.0]
    log(f"zoning: {len(c.zone)} blocks")
