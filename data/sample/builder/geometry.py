"""Geometry helpers: CRS transforms, repairs, random blobs, smooth lines and placement."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Polygon, box
from shapely.ops import nearest_points, substring

from .common import TO_GEO, TO_M
from .design import SEATS

Geom = Any  # a shapely geometry (or an array of them, where the helper is vectorised)


def to_m(geom: Geom) -> Geom:
    """EPSG:4490 -> EPSG:4548."""
    return shapely.transform(geom, lambda c: np.column_stack(TO_M.transform(c[:, 0], c[:, 1])))


def to_geo(geom: Geom, ndigits: int = 8) -> Geom:
    """EPSG:4548 -> EPSG:4490, coordinates rounded to ``ndigits`` decimals of a degree."""
    def f(c: np.ndarray) -> np.ndarray:
        x, y = TO_GEO.transform(c[:, 0], c[:, 1])
        return np.round(np.column_stack([x, y]), ndigits)
    out = shapely.transform(geom, f)
    if not out.is_valid:
        out = polygonal(shapely.make_valid(out))
    return out


def lonlat_m(lon: float, lat: float) -> tuple[float, float]:
    """A lon/lat point in EPSG:4548 metres."""
    x, y = TO_M.transform(lon, lat)
    return float(x), float(y)


def polygonal(geom: Geom) -> Geom:
    """Keep only the polygonal parts of ``geom`` (make_valid may add lines and points)."""
    if geom is None or geom.is_empty:
        return Polygon()
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def repair(geom: Geom) -> Geom:
    """``make_valid``, polygonal parts only."""
    return polygonal(shapely.make_valid(geom))


def largest_part(geom: Geom) -> Geom:
    """The part of ``geom`` with the largest area (an empty polygon if there is none)."""
    parts = list(shapely.get_parts(geom))
    if not parts:
        return Polygon()
    return max(parts, key=lambda p: p.area)


def blob(cx: float, cy: float, radius: float, rng: np.random.Generator, *, n: int = 120,
         amp: float = 0.16, kmax: int = 6) -> Polygon:
    """An irregular star-shaped polygon: radius modulated by a few random harmonics."""
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, kmax + 1):
        a = rng.uniform(0.3, 1.0) * amp / (k - 1) ** 0.7
        r += a * np.sin(k * t + rng.uniform(0, 2 * math.pi))
    r = np.clip(r, 0.55, 1.6) * radius
    return Polygon(np.column_stack([cx + r * np.cos(t), cy + r * np.sin(t)]))


def rect(cx: float, cy: float, w: float, h: float, angle: float = 0.0) -> Polygon:
    """A ``w`` x ``h`` rectangle centred on (cx, cy), turned ``angle`` degrees anticlockwise."""
    p = box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return affinity.rotate(p, angle, origin=(cx, cy)) if angle else p


def smooth_line(points: list[tuple[float, float]], step: float = 150.0) -> np.ndarray:
    """Catmull-Rom spline through ``points`` sampled about every ``step`` metres."""
    p = np.asarray(points, dtype=float)
    p = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        n = max(2, int(np.linalg.norm(p2 - p1) / step))
        for t in np.linspace(0, 1, n, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                              + (-p0 + 3 * p1 - 3 * p2 + p3) * t3))
    out.append(p[-2])
    return np.asarray(out)


def meander(xy: np.ndarray, amp: float, rng: np.random.Generator) -> np.ndarray:
    """Shift a densified line sideways by a sum of sinusoids along its length."""
    d = np.diff(xy, axis=0)
    s = np.concatenate([[0.0], np.cumsum(np.hypot(d[:, 0], d[:, 1]))])
    tang = np.gradient(xy, axis=0)
    tang /= np.hypot(tang[:, 0], tang[:, 1])[:, None]
    normal = np.column_stack([-tang[:, 1], tang[:, 0]])
    off = np.zeros(len(xy))
    for wl in (2500.0, 5200.0, 9700.0):
        off += amp * rng.uniform(0.4, 1.0) * np.sin(2 * math.pi * s / wl + rng.uniform(0, 6.3))
    return xy + normal * off[:, None]


def variable_corridor(line: LineString, widths: tuple[float, float], rng: np.random.Generator,
                      chunk: float = 9000.0, cap: str = "round") -> Geom:
    """Buffer a line in chunks of ~9 km, each with its own full width in ``widths``."""
    n = max(1, round(line.length / chunk))
    parts = []
    for i in range(n):
        seg = substring(line, line.length * i / n, line.length * (i + 1) / n)
        w = rng.uniform(*widths)
        parts.append(seg.buffer(w / 2, quad_segs=6, cap_style=cap))
    return shapely.union_all(parts)


def place(region: Geom, w: float, h: float, *, angle: float = 0.0, avoid: Geom = None,
          prefer: Geom = None, margin: float = 40.0) -> Polygon:
    """A w x h rectangle inside ``region`` (with a margin), kept clear of ``avoid``."""
    r = math.hypot(w, h) / 2 + margin
    room = region.buffer(-r)
    if avoid is not None and not avoid.is_empty:
        room = room.difference(avoid.buffer(r))
    if room.is_empty:
        raise AssertionError("no room to place a site")
    if prefer is not None:
        pt = nearest_points(room, prefer)[0]
    else:
        pt = room.point_on_surface()
    return rect(pt.x, pt.y, w, h, angle)


def seat_xy(code: str) -> tuple[float, float]:
    """The county seat of ``code`` in EPSG:4548 metres."""
    lon, lat, _ = SEATS[code]
    return lonlat_m(lon, lat)
