"""The demo sites, designed against the layers (EPSG:4548).

What each site is meant to show (names, industry, designed outcome, descriptions, file options)
is text in ``templates/sites.toml``; this module draws each site's parcels.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from typing import Any

import shapely
from shapely.geometry import LineString, Point, Polygon, box

from .city import City
from .common import TEMPLATES
from .geometry import Geom, place, rect, seat_xy, to_m

Site = dict[str, Any]  # one entry of sites.toml plus "parts": [(parcel name, polygon), ...]


def zoning_of(c: City, code: str, classes: tuple[str, ...], within: Geom = None) -> Geom:
    """The zoning blocks of ``code`` with a class in ``classes`` (EPSG:4548), clipped."""
    g = shapely.union_all([to_m(f["geom"]) for f in c.zone
                           if f["county"] == code and f["landuse"] in classes])
    return g if within is None else g.intersection(within)


def park(c: City, name: str) -> Geom:
    """The industrial park called ``name``."""
    return next(p for p in c.park if p["name"] == name)["geom"]


def water(c: City, county: str) -> dict[str, Any]:
    """The (first) water source of ``county``."""
    return next(w for w in c.ws if w["county"] == county)


def _avoid(c: City) -> Geom:
    return shapely.union_all([c.ws_all, c.red_union])


def _exit_point(ring: Geom, origin: Any, dx: float, dy: float) -> Any:
    """Where the ray from ``origin`` along (dx, dy) first leaves through ``ring``."""
    ray = LineString([(origin.x, origin.y), (origin.x + dx, origin.y + dy)])
    return min(shapely.get_parts(ray.intersection(ring)), key=lambda q: q.distance(origin))


def site01(c: City) -> list[Geom]:
    """Clean industrial site in 聊城经济技术开发区 on 工业用地."""
    region = zoning_of(c, "371502", ("1001",), park(c, "聊城经济技术开发区"))
    return [place(region, 420, 300, angle=12, avoid=_avoid(c))]


def site02(c: City) -> list[Geom]:
    """Straddles the 东昌湖 red line."""
    lake = next(f for f in c.red if f["name"].startswith("东昌湖"))["geom"]
    e = _exit_point(lake.exterior, lake.centroid, 6000, -6000)
    return [rect(e.x, e.y, 300, 260, -45)]


def site03(c: City) -> list[Geom]:
    """On basic farmland in rural 茌平."""
    target = c.county["371523"].difference(c.ub_union.buffer(3000))
    blocks = [f["geom"] for f in c.farm if f["county"] == "371523" and f["geom"].within(target)
              and f["geom"].area > 5e6]
    blocks.sort(key=lambda q: -q.buffer(-150).area)
    return [place(blocks[0], 260, 230, angle=0, avoid=_avoid(c))]


def site04(c: City) -> list[Geom]:
    """Partly outside the urban boundary of 阳谷, on village land (reserved before farmland)."""
    return [c.site04_geom]


def site05(c: City) -> list[Geom]:
    """Touches level 1 of 临清市地下水水源地."""
    w = water(c, "371581")
    cen = w["l1"].centroid
    lsx, lsy = seat_xy("371581")
    vx, vy = cen.x - lsx, cen.y - lsy
    n = math.hypot(vx, vy)
    e = _exit_point(w["l1"].exterior, cen, vx / n * 3000, vy / n * 3000)
    return [rect(e.x + vx / n * 60, e.y + vy / n * 60, 240, 190,
                 math.degrees(math.atan2(vy, vx)))]


def site06(c: City) -> list[Geom]:
    """Inside level 2 only, on industrial zoning in 高唐经济开发区."""
    w = water(c, "371526")
    region = zoning_of(c, "371526", ("1001",), park(c, "高唐经济开发区")).intersection(w["l2"])
    return [place(region, 300, 280, angle=-8, avoid=w["l1"].buffer(200).union(c.red_union))]


def site07(c: City) -> list[Geom]:
    """Two parcels in 茌平经济开发区."""
    region = zoning_of(c, "371523", ("1001",), park(c, "茌平经济开发区"))
    g1 = place(region, 260, 160, angle=-5, avoid=_avoid(c))
    g2 = place(region, 300, 200, angle=-5, avoid=_avoid(c).union(g1.buffer(150)))
    return [g1, g2]


def site08(c: City) -> list[Geom]:
    """One parcel with a hole in 临清经济开发区."""
    region = zoning_of(c, "371581", ("1001",), park(c, "临清经济开发区"))
    outer = place(region, 480, 340, angle=20, avoid=_avoid(c))
    cen = outer.centroid
    return [Polygon(outer.exterior.coords, [rect(cen.x, cen.y, 130, 90, 20).exterior.coords])]


def site09(c: City) -> list[Geom]:
    """Zone 38 without prefix: 冠县, west of 115.5E."""
    west = to_m(box(115.0, 35.5, 115.49, 37.5))
    region = zoning_of(c, "371525", ("1001",), park(c, "冠县经济开发区")).intersection(west)
    return [place(region, 280, 220, angle=0, avoid=_avoid(c))]


def site10(c: City) -> list[Geom]:
    """Residential zoning near the centre of 聊城."""
    center = Point(seat_xy("371502"))
    res = zoning_of(c, "371502", ("07",)).intersection(center.buffer(0.5 * 9000))
    return [place(res, 180, 160, angle=0, avoid=_avoid(c).union(c.park_union), prefer=center)]


def site11(c: City) -> list[Geom]:
    """A 40 m road corridor leaving 莘县's urban boundary across farmland."""
    sx, sy = seat_xy("371522")
    ub = c.ub["371522"]
    bad = shapely.union_all([c.red_union, c.ws_all, c.park_union])
    for bearing in range(190, 550, 10):
        t = math.radians(bearing % 360)
        ray = LineString([(sx, sy), (sx + 20000 * math.cos(t), sy + 20000 * math.sin(t))])
        hit = ray.intersection(ub.exterior)
        e = max(shapely.get_parts(hit), key=lambda q: q.distance(Point(sx, sy)))
        t2 = t + math.radians(25)
        a = (e.x - 300 * math.cos(t), e.y - 300 * math.sin(t))
        m = (e.x + 3500 * math.cos(t), e.y + 3500 * math.sin(t))
        z = (m[0] + 2500 * math.cos(t2), m[1] + 2500 * math.sin(t2))
        g = LineString([a, m, z]).buffer(20, cap_style="flat", join_style="mitre")
        if (c.county["371522"].buffer(-500).contains(g) and g.distance(bad) > 300
                and g.intersection(c.farm_union).area > 0.5 * g.area):
            return [shapely.segmentize(g, 200.0)]
    raise AssertionError("no route for the road")


def site12(c: City) -> list[Geom]:
    """GBK, zone 39: a logistics block in 东阿经济开发区."""
    region = zoning_of(c, "371524", ("1101",), park(c, "东阿经济开发区"))
    return [place(region, 240, 200, angle=15, avoid=_avoid(c))]


DRAW: dict[str, Callable[[City], list[Geom]]] = {
    "01": site01, "02": site02, "03": site03, "04": site04, "05": site05, "06": site06,
    "07": site07, "08": site08, "09": site09, "10": site10, "11": site11, "12": site12,
}


def design_sites(c: City) -> list[Site]:
    """Every site of ``templates/sites.toml``, in order, with its parcels drawn."""
    specs = tomllib.loads((TEMPLATES / "sites.toml").read_text(encoding="utf-8"))["site"]
    sites = []
    for spec in specs:
        geoms = DRAW[spec["file"][:2]](c)
        names = spec.pop("parcels")
        assert len(names) == len(geoms), spec["file"]
        sites.append(spec | {"parts": list(zip(names, geoms, strict=True))})
    return sites
