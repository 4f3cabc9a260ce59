"""Candidate sites "anywhere": compact rectangles of the requested area inside the region.

For each side ratio and orientation of the search file, rectangles of the requested area
are centred on a grid (aligned to multiples of its step, so the same region always gives
the same grid), kept when they lie inside the allowed region less a small margin, scored
with the cheap geometric criteria and picked greedily, best first, without overlaps. The
vetting then has the last word on each (``analysis.site_search.search``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import GeometryType
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.site_search.config import SearchConfig
from blueprint.analysis.site_search.ranking import geometric_scores
from blueprint.analysis.site_search.region_types import Region

MAX_SCORED = 8000  # feasible rectangles scored at most (evenly thinned beyond)
REFINE = (1.0, 4.0, 16.0)  # grid refinements tried while too few rectangles fit
PER_WANTED, MIN_PER_SHAPE = 40, 800  # centres tried per shape: the best by a cheap score


@dataclass
class Placement:
    """A rectangle placed in the region (projected), with its expected status and score."""

    geometry: BaseGeometry
    conditional: bool
    score: float


def place_rectangles(region: Region, area_m2: float, want: int, *, config: SearchConfig,
                     near: BaseGeometry | None = None,
                     avoid: Sequence[BaseGeometry] = ()) -> list[Placement]:
    """Up to ``want`` non-overlapping rectangles of ``area_m2`` inside ``region.allowed``,
    none over a geometry of ``avoid`` (projected: the land-bank parcels proposed).

    Examples
    --------
    >>> picks = place_rectangles(region, 120_000, 10, config=config)  # doctest: +SKIP
    >>> all(region.allowed.contains(p.geometry) for p in picks)  # doctest: +SKIP
    True
    """
    if region.allowed.is_empty or region.allowed.area < area_m2:
        return []
    safe = shapely.buffer(region.allowed, -config.margin_m, join_style="mitre")
    if safe.is_empty:
        return []
    passing = shapely.difference(safe, shapely.buffer(region.conditional, config.margin_m,
                                                      quad_segs=2))
    for geom in (safe, passing, region.park, region.suitable):
        if geom is not None:
            shapely.prepare(geom)
    proxy = _point_scores(region, passing, config, near)
    keep = max(want * PER_WANTED, MIN_PER_SHAPE)
    for refine in REFINE:  # a finer grid only where a coarse one found too little room
        found = [_fitting(safe, area_m2, aspect, angle, config, refine, proxy, keep)
                 for aspect in config.aspects for angle in _angles(aspect, config)]
        rects = np.concatenate([f[0] for f in found])
        centres = np.concatenate([f[1] for f in found])
        if rects.size >= want * 4:
            break
    if rects.size == 0:
        return []
    if rects.size > MAX_SCORED:
        thin = np.linspace(0, rects.size - 1, MAX_SCORED).astype(int)
        rects, centres = rects[thin], centres[thin]
    conditional = ~shapely.contains(passing, rects)
    scores = _scores(rects, centres, region, config, near)
    keys = np.round(centres[:, 0]) * 1e7 + np.round(centres[:, 1])
    order = np.lexsort((keys, -scores, conditional))
    return _greedy(rects, conditional, scores, order, want, list(avoid))


def _angles(aspect: float, config: SearchConfig) -> list[float]:
    """Orientations in [0, 180) (a square repeats every 90 degrees)."""
    period = 90.0 if aspect == 1.0 else 180.0
    return sorted({a % period for a in config.orientations_deg})


def _point_scores(region: Region, passing: BaseGeometry, config: SearchConfig,
                  near: BaseGeometry | None) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A cheap score of grid centres (in a park, on suitable zoning, in the passing part,
    near the seat): which centres are worth a rectangle at all."""
    w = config.weights
    targets = np.array([(t.x, t.y) for t in ([near] if near is not None else region.seats)])

    def score(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dist = np.min(np.hypot(x[:, None] - targets[None, :, 0],
                               y[:, None] - targets[None, :, 1]), axis=1)
        total = w["distance"] * np.maximum(0.0, 1.0 - dist / config.distance_scale_m)
        total = total + 1000.0 * shapely.contains_xy(passing, x, y)
        if not region.park.is_empty:
            total = total + w["in_park"] * shapely.contains_xy(region.park, x, y)
        if region.suitable is not None and not region.suitable.is_empty:
            total = total + w["zoning_match"] * shapely.contains_xy(region.suitable, x, y)
        return np.asarray(total, dtype=float)

    return score


def _fitting(safe: BaseGeometry, area_m2: float, aspect: float, angle: float,
             config: SearchConfig, refine: float,
             proxy: Callable[[np.ndarray, np.ndarray], np.ndarray], keep: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Rectangles of one shape on the grid that lie inside ``safe``, and their centres:
    only the ``keep`` centres that score best on :func:`_point_scores` are tried."""
    w = math.sqrt(area_m2 * aspect)
    h = area_m2 / w
    t = math.radians(angle)
    corners = np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])
    rot = corners @ np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
    x0, y0, x1, y1 = safe.bounds
    step = max(h * config.grid_step / refine,
               math.sqrt((x1 - x0) * (y1 - y0) / config.max_grid_points), 1.0)
    xs = np.arange(math.floor(x0 / step), math.ceil(x1 / step) + 1) * step
    ys = np.arange(math.floor(y0 / step), math.ceil(y1 / step) + 1) * step
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    inside = shapely.contains_xy(safe, gx, gy)
    gx, gy = gx[inside], gy[inside]
    if gx.size > keep:
        best = np.lexsort((gy, gx, -proxy(gx, gy)))[:keep]
        gx, gy = gx[best], gy[best]
    centres = np.column_stack([gx, gy])
    if centres.size == 0:
        return np.array([], dtype=object), np.empty((0, 2))
    ring = np.concatenate([rot, rot[:1]])  # closed: built in one vectorised call
    coords = (ring[None, :, :] + centres[:, None, :]).reshape(-1, 2)
    n = len(centres)
    rects = shapely.from_ragged_array(GeometryType.POLYGON, coords,
                                      (np.arange(0, 5 * n + 1, 5), np.arange(n + 1)))
    ok = shapely.contains(safe, rects)
    return rects[ok], centres[ok]


def _share(rects: np.ndarray, prefer: BaseGeometry | None) -> np.ndarray:
    out = np.zeros(len(rects))
    if prefer is None or prefer.is_empty:
        return out
    shapely.prepare(prefer)
    hit = shapely.intersects(prefer, rects)
    if hit.any():
        out[hit] = shapely.area(shapely.intersection(rects[hit], prefer)) / \
            shapely.area(rects[hit])
    return out


def _scores(rects: np.ndarray, centres: np.ndarray, region: Region, config: SearchConfig,
            near: BaseGeometry | None) -> np.ndarray:
    targets = [near] if near is not None else region.seats
    xy = np.array([(t.x, t.y) for t in targets])
    dist = np.min(np.hypot(centres[:, None, 0] - xy[None, :, 0],
                           centres[:, None, 1] - xy[None, :, 1]), axis=1)
    zoning = _share(rects, region.suitable) if region.suitable is not None else None
    compact = 4 * math.pi * shapely.area(rects) / shapely.length(rects) ** 2
    return np.round(geometric_scores(_share(rects, region.park), zoning, compact, dist,
                                     config), 6)


def _greedy(rects: np.ndarray, conditional: np.ndarray, scores: np.ndarray,
            order: np.ndarray, want: int, taken: list[BaseGeometry]) -> list[Placement]:
    chosen: list[Placement] = []
    for i in order:
        if len(chosen) >= want:
            break
        g = rects[i]
        if taken and shapely.intersects(np.array(taken, dtype=object), g).any():
            continue
        taken.append(g)
        chosen.append(Placement(geometry=g, conditional=bool(conditional[i]),
                                score=float(scores[i])))
    return chosen
