"""Land inside and around the city: industrial parks, water sources and basic farmland."""

from __future__ import annotations

import math

import shapely
from shapely.geometry import LineString, Point, box

from .city import City, Feature
from .common import log
from .design import PARKS, WATER
from .geometry import Geom, blob, largest_part, lonlat_m, rect, seat_xy


def add_parks(c: City) -> None:
    """Industrial parks: rotated rectangles with one corner cut, inside the urban boundaries."""
    c.park = []
    for name, code, (ox, oy), (w, h), rot, p_log, industries in PARKS:
        sx, sy = seat_xy(code)
        cx, cy = sx + ox * 1000, sy + oy * 1000
        p = rect(cx, cy, w * 1000, h * 1000, rot)
        # cut one corner off, parks are seldom perfect rectangles
        corner = Point(list(p.exterior.coords)[int(c.rng.integers(0, 4))])
        p = p.difference(corner.buffer(c.rng.uniform(250, 450), quad_segs=1))
        p = p.intersection(c.ub[code].buffer(-60)).difference(c.red_union.buffer(60))
        p = shapely.segmentize(largest_part(p), 100.0)
        area = p.area / 1e6
        assert 1.0 <= area <= 6.0, f"{name}: {area:.2f} km²"
        c.park.append(dict(name=name, county=code, geom=p, industries=industries, p_log=p_log))
    c.park_union = shapely.union_all([p["geom"] for p in c.park])
    log("parks: " + ", ".join(f"{p['name']} {p['geom'].area / 1e6:.1f}" for p in c.park))


def _beside_park(c: City, code: str, park_name: str, r1: float) -> tuple[float, float]:
    """A centre so that level 2 reaches into the park while level 1 stays clear of it."""
    park = next(p for p in c.park if p["name"] == park_name)["geom"]
    sx, sy = seat_xy(code)
    cen = park.centroid
    vx, vy = cen.x - sx, cen.y - sy
    n = math.hypot(vx, vy)
    ray = LineString([(cen.x, cen.y), (cen.x + vx / n * 9000, cen.y + vy / n * 9000)])
    edge = ray.intersection(park.exterior)
    e = min(shapely.get_parts(edge), key=lambda q: q.distance(cen))
    return e.x + vx / n * (r1 + 900), e.y + vy / n * (r1 + 900)


def add_water(c: City) -> None:
    """Drinking water sources: a level 1 polygon and a level 2 ring around it."""
    c.ws = []
    for name, code, where, r1, r2 in WATER:
        if where[0] == "seat":
            sx, sy = seat_xy(code)
            cx, cy = sx + where[1] * 1000, sy + where[2] * 1000
        elif where[0] == "lonlat":
            cx, cy = lonlat_m(where[1], where[2])
        else:
            cx, cy = _beside_park(c, code, where[1], r1)
        l1 = blob(cx, cy, r1, c.rng, n=48, amp=0.08).intersection(c.county[code])
        l2 = blob(cx, cy, r2, c.rng, n=96, amp=0.10).intersection(c.whole)
        l1 = shapely.segmentize(largest_part(l1), 80.0)
        l2 = shapely.segmentize(l2, 150.0).difference(l1)
        assert l1.distance(c.park_union) > 100.0, name
        c.ws.append(dict(name=name, county=code, l1=l1, l2=l2))
    c.ws_l1 = shapely.union_all([w["l1"] for w in c.ws])
    c.ws_all = shapely.union_all([w["l1"] for w in c.ws] + [w["l2"] for w in c.ws])
    log(f"water sources: {len(c.ws)} zones")


def reserve_site04(c: City) -> None:
    """Site 04 comes before the farmland: a village plot right outside 阳谷's boundary."""
    code = "371521"
    sx, sy = seat_xy(code)
    ub = c.ub[code]
    for bearing in range(200, 560, 10):
        t = math.radians(bearing % 360)
        ray = LineString([(sx, sy), (sx + 20000 * math.cos(t), sy + 20000 * math.sin(t))])
        hit = ray.intersection(ub.exterior)
        if hit.is_empty:
            continue
        e = max(shapely.get_parts(hit), key=lambda q: q.distance(Point(sx, sy)))
        site = rect(e.x, e.y, 420, 260, math.degrees(t))
        outside = site.difference(ub)
        clear = c.red_union.union(c.ws_all).union(c.park_union).buffer(400)
        if 0.3 < outside.area / site.area < 0.7 and not site.intersects(clear):
            c.site04_geom = site
            c.reserve = site.buffer(150).difference(ub)
            return
    raise AssertionError("no place for site 04")


def _villages(c: City) -> tuple[Geom, int]:
    """Villages (村庄) away from the urban boundaries: the holes in the farmland."""
    rng = c.rng
    minx, miny, maxx, maxy = c.whole.bounds
    n = int(c.whole.area / 1e6 * 0.3)
    xs = rng.uniform(minx, maxx, n * 2)
    ys = rng.uniform(miny, maxy, n * 2)
    rs = rng.uniform(110, 320, n * 2)
    vil: list[Geom] = []
    for x, y, r in zip(xs, ys, rs, strict=True):
        if len(vil) >= n:
            break
        pt = Point(x, y)
        if c.whole.contains(pt) and c.ub_union.distance(pt) > 800:
            vil.append(blob(x, y, r, rng, n=12, amp=0.2, kmax=3))
    return shapely.union_all(vil), len(vil)


def _grid(bounds: tuple[float, float, float, float], step: float) -> list[Geom]:
    """Square cells of ``step`` metres covering ``bounds``, aligned on multiples of ``step``."""
    minx, miny, maxx, maxy = bounds
    x0 = math.floor(minx / step) * step
    y0 = math.floor(miny / step) * step
    nx = int(math.ceil((maxx - x0) / step))
    ny = int(math.ceil((maxy - y0) / step))
    return [box(x0 + i * step, y0 + j * step, x0 + (i + 1) * step, y0 + (j + 1) * step)
            for j in range(ny) for i in range(nx)]


def add_farmland(c: City) -> None:
    """Permanent basic farmland: 3 km blocks outside towns, parks, red line and villages."""
    villages, n_villages = _villages(c)
    excluded = shapely.union_all([c.ub_union, c.red_union, c.park_union, villages, c.reserve])
    cells = _grid(c.whole.bounds, 3000.0)
    tree = shapely.STRtree(cells)
    feats: list[Feature] = []
    for code in c.codes:
        cg = c.county[code]
        for k in sorted(tree.query(cg, predicate="intersects")):
            keep = c.rng.random() < 0.85
            dl = "水浇地" if c.rng.random() < 0.8 else "旱地"
            if not keep:
                continue
            piece = cells[k].intersection(cg).difference(excluded)
            piece = piece.buffer(-8.0, join_style="mitre", quad_segs=2)
            for part in shapely.get_parts(piece):
                if part.geom_type == "Polygon" and part.area > 20000:
                    feats.append(dict(county=code, dlmc=dl, geom=part))
    c.farm = feats
    c.farm_union = shapely.union_all([f["geom"] for f in feats])
    c.villages = villages
    log(f"farmland: {len(feats)} parcels, {c.farm_union.area / 1e6:.0f} km², "
        f"{n_villages} villages")
