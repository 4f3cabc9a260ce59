"""Writing the demo sites: 界址点坐标 files (``.txt``) and lon/lat GeoJSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon, mapping

from .common import WORK_EPSG, zone_epsg
from .geometry import Geom, to_geo
from .sites import Site

# file name -> ("zone", parcels in the zone CRS as written) or ("geo", lon/lat parcels)
Written = dict[str, tuple[str, list[Geom]]]


def clockwise_from_nw(ring: np.ndarray, clockwise: bool) -> np.ndarray:
    """Ring vertices (open) turned clockwise/anticlockwise, starting at the north-west corner."""
    x, y = ring[:, 0], ring[:, 1]
    area2 = np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)
    if (area2 < 0) != clockwise:
        ring = ring[::-1]
    start = int(np.argmax(ring[:, 1] - ring[:, 0]))
    return np.roll(ring, -start, axis=0)


def _header(zone: int, lb: str, rb: str) -> list[str]:
    """The [属性描述] section and the [地块坐标] heading."""
    return [f"{lb}属性描述{rb}", "格式版本号=1.01", "数据产生单位=聊城市自然资源和规划局",
            "数据产生日期=2026-1-15", "坐标系=2000国家大地坐标系", "几度分带=3",
            "投影类型=高斯克吕格", "计量单位=米", f"带号={zone}", "精度=0.01",
            "转换参数=,,,,,,", f"{lb}地块坐标{rb}"]


def _parcel_lines(i: int, p: dict[str, Any], zone: int, prefix: bool) -> tuple[list[str], Polygon]:
    """The lines of parcel number ``i`` (a header line, then J points) and its polygon."""
    g = p["geom"]
    rings = [clockwise_from_nw(np.asarray(g.exterior.coords)[:-1], True)]
    rings += [clockwise_from_nw(np.asarray(r.coords)[:-1], False) for r in g.interiors]
    rings = [np.round(r, 3) for r in rings]
    poly = Polygon(rings[0], rings[1:])
    assert poly.is_valid
    east = zone * 1e6 if prefix else 0
    rows, k = [], 0
    for rn, r in enumerate(rings, start=1):
        first = k + 1
        for x, y in r:
            k += 1
            rows.append(f"J{k},{rn},{y:.3f},{x + east:.3f}")
        rows.append(f"J{first},{rn},{r[0][1]:.3f},{r[0][0] + east:.3f}")
    head = f"{len(rows)},{poly.area / 1e4:.4f},{i},{p['name']},面,,{p['landuse']},,@"
    return [head, *rows], poly


def write_coordinate_file(path: Path, parcels: list[dict[str, Any]], *, zone: int, prefix: bool,
                          encoding: str, fullwidth: bool = False) -> list[Polygon]:
    """Write a 界址点坐标 file; returns the parcels as written (zone CRS, no prefix)."""
    lb, rb = ("【", "】") if fullwidth else ("[", "]")
    lines = _header(zone, lb, rb)
    written = []
    for i, p in enumerate(parcels, start=1):
        more, poly = _parcel_lines(i, p, zone, prefix)
        lines += more
        written.append(poly)
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    if encoding == "utf-8":
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return written


def write_site_geojson(path: Path, parts: list[tuple[str, Polygon]]) -> None:
    """RFC 7946 FeatureCollection in lon/lat (EPSG:4490 coordinates)."""
    feats = [{"type": "Feature", "properties": {"name": name}, "geometry": mapping(g)}
             for name, g in parts]
    fc = {"type": "FeatureCollection", "features": feats}
    text = json.dumps(fc, ensure_ascii=False, separators=(",", ":"))
    text = text.replace('{"type":"Feature"', '\n{"type":"Feature"')
    path.write_text(text + "\n", encoding="utf-8")


def _in_zone(g: Geom, tr: Transformer) -> Geom:
    """``g`` (EPSG:4548) in the zone CRS of ``tr``."""
    return shapely.transform(g, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))


def write_sites(sites: list[Site], folder: Path) -> tuple[Written, dict[str, list[Any]]]:
    """Write every site into ``folder`` (replacing old site files) and set each site's zone.

    Returns the parcels as written, and each site's lon/lat parts (for the preview).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.suffix in (".txt", ".geojson"):
            old.unlink()
    final: Written = {}
    geo: dict[str, list[Any]] = {}
    for s in sites:
        path = folder / s["file"]
        geo_parts = [(n, to_geo(shapely.segmentize(g, 50.0))) for n, g in s["parts"]]
        geo[s["file"]] = geo_parts
        zone = round(shapely.union_all([g for _, g in geo_parts]).centroid.x / 3)
        s["zone"] = zone
        if path.suffix == ".txt":
            tr = Transformer.from_crs(WORK_EPSG, zone_epsg(zone), always_xy=True)
            parcels = [dict(name=n, landuse=s["landuse"], geom=_in_zone(g, tr))
                       for n, g in s["parts"]]
            polys = write_coordinate_file(path, parcels, zone=zone,
                                          prefix=s.get("zone_prefix", True),
                                          encoding=s.get("encoding", "gbk"),
                                          fullwidth=s.get("fullwidth", False))
            final[s["file"]] = ("zone", polys)
        else:
            write_site_geojson(path, geo_parts)
            final[s["file"]] = ("geo", [g for _, g in geo_parts])
    return final, geo
