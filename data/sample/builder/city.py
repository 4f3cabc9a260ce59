"""The city's frame: counties, wetlands, urban development boundaries and the red line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import substring

from .common import GEO_EPSG, SEED, log
from .design import BOWTIE, RIVERS, SEATS, WETLANDS, YELLOW_RIVER
from .geometry import (
    Geom,
    blob,
    largest_part,
    lonlat_m,
    meander,
    repair,
    smooth_line,
    to_m,
    variable_corridor,
)

Feature = dict[str, Any]  # one feature under construction: attributes plus "geom" (EPSG:4548)


class City:
    """Holds the intermediate layers (EPSG:4548 unless the name ends in _geo).

    Every step of the build reads what the earlier steps left here and adds its own layer;
    all randomness comes from the one seeded ``rng``, so the steps must run in build order.
    """

    codes: list[str]
    names: dict[str, str]
    county_geo: dict[str, Geom]
    county: dict[str, Geom]
    whole: Geom
    wet: list[Feature]
    bowtie: Feature
    wet_union: Geom
    ub: dict[str, Geom]
    ub_union: Geom
    ub_geo: dict[str, Geom]
    red: list[Feature]
    red_union: Geom
    park: list[Feature]
    park_union: Geom
    ws: list[Feature]
    ws_l1: Geom
    ws_all: Geom
    site04_geom: Polygon
    reserve: Geom
    farm: list[Feature]
    farm_union: Geom
    villages: Geom
    zone: list[Feature]
    supply: list[Feature]

    def __init__(self, counties_path: Path, out: Path):
        self.src = counties_path
        self.out = out
        self.rng = np.random.default_rng(SEED)


def add_counties(c: City) -> None:
    """Read the county boundaries, repairing the invalid ones."""
    g = gpd.read_file(c.src).set_crs(GEO_EPSG, allow_override=True)
    codes = [str(x) for x in g["id"]]
    invalid = int((~g.is_valid).sum())
    geo = [repair(x) for x in g.geometry]
    assert all(x.is_valid and not x.is_empty for x in geo)
    c.codes = codes
    c.names = dict(zip(codes, list(g["name"]), strict=True))
    c.county_geo = dict(zip(codes, geo, strict=True))
    c.county = {k: repair(to_m(x)) for k, x in c.county_geo.items()}
    c.whole = shapely.union_all(list(c.county.values()))
    log(f"counties: {len(codes)} ({invalid} invalid repaired with make_valid)")
    for code, (lon, lat, _) in SEATS.items():
        assert c.county_geo[code].contains(Point(lon, lat)), f"seat of {code} outside"


def add_wetlands(c: City) -> None:
    """Lakes and wetlands of the red line, plus the deliberately self-intersecting bow-tie."""
    c.wet = []
    for name, typ, lon, lat, hx, hy, rot in WETLANDS:
        cx, cy = lonlat_m(lon, lat)
        b = affinity.scale(blob(0, 0, 1.0, c.rng, n=64, amp=0.12), hx, hy, origin=(0, 0))
        b = affinity.translate(affinity.rotate(b, rot, origin=(0, 0)), cx, cy)
        owner = [k for k in c.codes if c.county[k].contains(b)]
        assert len(owner) == 1, f"wetland {name} not inside one county: {owner}"
        c.wet.append(dict(name=name, type=typ, geom=b, county=owner[0]))
    name, typ, lon, lat, hx, hy = BOWTIE
    cx, cy = lonlat_m(lon, lat)
    # a "bow-tie": the ring crosses itself (A, B, D, C), as digitising mistakes do
    a, b, cc, d = (cx - hx, cy - hy), (cx + hx, cy - hy), (cx + hx, cy + hy), (cx - hx, cy + hy)
    bow = Polygon([a, b, d, cc, a])
    assert not bow.is_valid
    owner = [k for k in c.codes if c.county[k].contains(repair(bow))]
    assert len(owner) == 1
    c.bowtie = dict(name=name, type=typ, geom=bow, county=owner[0])
    c.wet_union = shapely.union_all([w["geom"] for w in c.wet] + [repair(bow)])


def add_urban(c: City) -> None:
    """One urban development boundary around each county seat, clear of the wetlands."""
    c.ub = {}
    for code in sorted(SEATS):
        lon, lat, radius = SEATS[code]
        cx, cy = lonlat_m(lon, lat)
        b = blob(cx, cy, radius, c.rng, n=140, amp=0.22)
        g = b.intersection(c.county[code].buffer(-30)).difference(c.wet_union)
        g = largest_part(g)
        assert g.contains(Point(cx, cy)) or code == "371502", code
        c.ub[code] = shapely.segmentize(g, 250.0)
    c.ub_union = shapely.union_all(list(c.ub.values()))
    log("urban boundaries: " + ", ".join(f"{c.names[k]} {g.area / 1e6:.0f} km²"
                                          for k, g in c.ub.items()))


def _river_corridors(c: City) -> list[tuple[str, Geom]]:
    """The Yellow River along the south-eastern city edge, then the rivers across the city."""
    name, a, b, widths = YELLOW_RIVER
    ring = LineString(largest_part(c.whole).exterior.coords)
    da, db = ring.project(Point(lonlat_m(*a))), ring.project(Point(lonlat_m(*b)))
    lo, hi = sorted((da, db))
    inner = substring(ring, lo, hi)
    if inner.length > ring.length / 2:  # take the short way round
        inner = shapely.line_merge(shapely.union(substring(ring, hi, ring.length),
                                                 substring(ring, 0, lo)))
    inner = shapely.simplify(inner, 30.0)
    corridors = [(name, variable_corridor(inner, (widths[0] * 2, widths[1] * 2), c.rng,
                                          cap="flat").intersection(c.whole))]
    for name, pts, widths, amp in RIVERS:
        xy = smooth_line([lonlat_m(*p) for p in pts])
        line = LineString(meander(xy, amp, c.rng)).simplify(15.0)
        corridors.append((name, variable_corridor(line, widths, c.rng)))
    return corridors


def _number_redline(c: City, feats: list[Feature]) -> None:
    """Sort the red line features by county and type, give them hxbh codes and full names."""
    order = {"湖泊": 0, "湿地": 1, "河流": 2}
    feats.sort(key=lambda f: (f["county"], order[f["type"]], -f["geom"].area))
    seq: dict[str, int] = {}
    for f in feats:
        seq[f["county"]] = seq.get(f["county"], 0) + 1
        f["hxbh"] = f"HX{f['county']}-{seq[f['county']]:03d}"
        if f["type"] == "河流":
            f["name"] = f"{f['name']}（{c.names[f['county']]}段）生态保护红线"
        else:
            f["name"] = f"{f['name']}生态保护红线"


def add_redline(c: City) -> None:
    """The ecological red line: river corridors cut at the urban boundaries, and wetlands."""
    taken = shapely.union(c.wet_union, c.ub_union)
    feats = []
    for name, corr in _river_corridors(c):
        corr = corr.difference(taken)
        taken = shapely.union(taken, corr)
        for code in c.codes:
            piece = corr.intersection(c.county[code])
            for part in shapely.get_parts(piece):
                if part.geom_type == "Polygon" and part.area > 20000:
                    feats.append(dict(name=name, type="河流", geom=part, county=code))
    feats.extend(c.wet)
    feats.append(c.bowtie)
    _number_redline(c, feats)
    c.red = feats
    c.red_union = shapely.union_all([repair(f["geom"]) for f in feats])
    assert not c.red_union.intersection(c.ub_union).area > 1.0
    log(f"red line: {len(feats)} features, {c.red_union.area / 1e6:.1f} km²")
