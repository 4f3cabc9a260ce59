"""The land bank (储备/可供地块): parcels the government can supply, for site search.

Placed without the random generator (so every other layer stays as it was): two clean
12 ha parcels in 东昌府区's parks and one in 临清's (a search passes them), one on
farmland outside the urban boundary (fails), one in a level-2 water-source zone
(conditional), one too small for a 12 ha project and one already supplied (已供, not
offered).
"""

from __future__ import annotations

import shapely

from .city import City, Feature
from .common import log
from .geometry import Geom, place, to_geo, to_m

SUITABLE = ("1001",)  # industrial zoning: a parcel meant to pass stays on it


def _park(c: City, name: str) -> Geom:
    return next(p["geom"] for p in c.park if p["name"] == name)


def _unsuitable(c: City) -> Geom:
    return shapely.union_all([to_m(f["geom"]) for f in c.zone
                              if f["landuse"] not in SUITABLE])


def add_land_supply(c: City) -> None:
    """Seven parcels: (id, name, county, status, where, size) placed clear of each other."""
    protected = shapely.union_all([c.red_union, c.ws_all, c.farm_union])
    bad_zoning = _unsuitable(c)
    ws = next(w for w in c.ws if w["name"] == "东昌府区地下水水源地")
    farm = shapely.union_all([f["geom"] for f in c.farm if f["county"] == "371502"])
    plan = [
        ("LC-GD-001", "经开区储备地块一", "371502", "可供", _park(c, "聊城经济技术开发区"),
         (400.0, 300.0), bad_zoning.union(protected)),
        ("LC-GD-002", "高新区储备地块", "371502", "储备", _park(c, "聊城高新技术产业开发区"),
         (400.0, 310.0), bad_zoning.union(protected)),
        ("LC-GD-003", "沙镇储备地块", "371502", "储备", farm, (350.0, 343.0), None),
        ("LC-GD-004", "水源地周边可供地块", "371502", "可供",
         ws["l2"].intersection(c.ub["371502"]), (360.0, 333.0),
         ws["l1"].buffer(150).union(c.red_union)),
        ("LC-GD-005", "经开区零星地块", "371502", "可供", _park(c, "聊城经济技术开发区"),
         (200.0, 150.0), bad_zoning.union(protected)),
        ("LC-GD-006", "经开区已供地块", "371502", "已供", _park(c, "聊城经济技术开发区"),
         (400.0, 300.0), bad_zoning.union(protected)),
        ("LC-GD-007", "临清经开区可供地块", "371581", "可供", _park(c, "临清经济开发区"),
         (380.0, 320.0), bad_zoning.union(protected)),
    ]
    taken: Geom = shapely.Polygon()
    c.supply = []
    for dkbh, name, code, status, region, (w, h), avoid in plan:
        keep_out = taken.buffer(60) if avoid is None else avoid.union(taken.buffer(60))
        geom = place(region, w, h, avoid=keep_out, margin=20.0)
        taken = taken.union(geom)
        c.supply.append(dict(dkbh=dkbh, name=name, county=code, status=status, geom=geom,
                             geom_geo=to_geo(geom)))
    log(f"land bank: {len(c.supply)} parcels")


def supply_columns(c: City) -> tuple[dict[str, list[object]], list[Geom]]:
    """The attribute columns and geometries of ``layers/land_supply.geojson``."""
    feats: list[Feature] = c.supply
    cols: dict[str, list[object]] = {
        "dkbh": [f["dkbh"] for f in feats], "name": [f["name"] for f in feats],
        "status": [f["status"] for f in feats],
        "mj": [round(f["geom"].area, 1) for f in feats],
        "county_code": [f["county"] for f in feats]}
    return cols, [f["geom_geo"] for f in feats]
