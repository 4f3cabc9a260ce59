"""Writing the vector layers, the manifest and the READMEs, byte-for-byte reproducibly."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from .city import City
from .common import FIXED_DATE, GEO_EPSG, TO_GEO, log, template
from .design import LANDUSE, UB_NAMES
from .geometry import largest_part, to_geo
from .land_supply import supply_columns


def to_geo_all(c: City) -> None:
    """Add the lon/lat (``*_geo``) version of every vector layer built so far."""
    c.ub_geo = {k: to_geo(g) for k, g in c.ub.items()}
    for p in c.park:
        p["geom_geo"] = to_geo(p["geom"])
    for f in c.red:
        if f is c.bowtie:  # kept invalid on purpose
            f["geom_geo"] = shapely.transform(
                f["geom"], lambda xy: np.round(np.column_stack(
                    TO_GEO.transform(xy[:, 0], xy[:, 1])), 8))
        else:  # cut along the urban boundaries as written, so the two only touch
            f["geom_geo"] = largest_part(to_geo(f["geom"]).difference(
                shapely.union_all(list(c.ub_geo.values()))))
    for w in c.ws:
        w["l1_geo"] = to_geo(w["l1"])
        w["l2_geo"] = to_geo(w["l2"])
    for f in c.farm:
        f["geom_geo"] = to_geo(f["geom"])


def write(gdf: gpd.GeoDataFrame, path: Path, **kw: Any) -> None:
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


def _copy(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` unless they are already the same file (a rebuild in place)."""
    if not (dst.exists() and src.samefile(dst)):
        shutil.copyfile(src, dst)


def copy_counties(c: City, lay: Path) -> None:
    """Copy the county boundaries unchanged, with their licence."""
    _copy(c.src, lay / "liaocheng_counties.geojson")
    licence = c.src.with_suffix(".LICENSE")
    if licence.exists():
        _copy(licence, lay / "liaocheng_counties.LICENSE")
    else:
        log(f"warning: no {licence.name} beside {c.src}; keep the licence with the data")


def _frame(columns: dict[str, Any], geoms: list[Any]) -> gpd.GeoDataFrame:
    """A GeoDataFrame in EPSG:4490."""
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=GEO_EPSG)


def _water_frame(c: City) -> gpd.GeoDataFrame:
    """Water sources: level 1 and level 2 of each, in turn."""
    rows = []
    for w in c.ws:
        rows.append((1, f"{w['name']}一级保护区", w["l1_geo"]))
        rows.append((2, f"{w['name']}二级保护区", w["l2_geo"]))
    return _frame({"level": np.array([r[0] for r in rows], dtype="int32"),
                   "name": [r[1] for r in rows]}, [r[2] for r in rows])


def write_layers(c: City) -> None:
    """Write every vector layer into ``layers/``."""
    lay = c.out / "layers"
    lay.mkdir(parents=True, exist_ok=True)
    copy_counties(c, lay)
    red = _frame({"hxbh": [f["hxbh"] for f in c.red], "name": [f["name"] for f in c.red],
                  "type": [f["type"] for f in c.red]}, [f["geom_geo"] for f in c.red])
    write(red, lay / "ecological_redline.gpkg", layer="redline", driver="GPKG")
    farm = _frame({"TBBH": [f"{f['county']}{i + 1:05d}" for i, f in enumerate(c.farm)],
                   "XZQMC": [c.names[f["county"]] for f in c.farm],
                   "DLMC": [f["dlmc"] for f in c.farm]}, [f["geom_geo"] for f in c.farm])
    write(farm, lay / "basic_farmland.shp", driver="ESRI Shapefile", encoding="GBK")
    (lay / "basic_farmland.cpg").unlink(missing_ok=True)
    ub = _frame({"county_code": list(c.ub_geo),
                 "name": [UB_NAMES.get(k, f"{c.names[k]}城镇开发边界") for k in c.ub_geo]},
                list(c.ub_geo.values()))
    write(ub, lay / "urban_boundary.geojson", driver="GeoJSON", layer="urban_boundary")
    zon = _frame({"landuse": [f["landuse"] for f in c.zone],
                  "landuse_name": [LANDUSE[f["landuse"]] for f in c.zone],
                  "county_code": [f["county"] for f in c.zone]}, [f["geom"] for f in c.zone])
    write(zon, lay / "zoning.gpkg", layer="zoning", driver="GPKG")
    write(_water_frame(c), lay / "water_source.shp", driver="ESRI Shapefile", encoding="GBK")
    (lay / "water_source.cpg").write_bytes(b"GBK")
    park = _frame({"name": [p["name"] for p in c.park],
                   "county_code": [p["county"] for p in c.park],
                   "industries": [p["industries"] for p in c.park]},
                  [p["geom_geo"] for p in c.park])
    write(park, lay / "industrial_park.geojson", driver="GeoJSON", layer="industrial_park")
    cols, geoms = supply_columns(c)
    write(_frame(cols, geoms), lay / "land_supply.geojson", driver="GeoJSON",
          layer="land_supply")
    for shp in ("basic_farmland", "water_source"):
        fix_dbf_date(lay / f"{shp}.dbf")


def write_manifest(out: Path) -> None:
    """``manifest.toml``: the layers in import order (from ``templates/manifest.toml``)."""
    (out / "manifest.toml").write_text(template("manifest.toml"), encoding="utf-8")


def write_sample_readme(out: Path) -> None:
    """The sample's ``README.md`` (from ``templates/README.md``)."""
    (out / "README.md").write_text(template("README.md"), encoding="utf-8")


def sites_readme(expected: dict[str, dict[str, Any]]) -> str:
    """``sites/README.md``: the template's introduction, then one table row per site."""
    rows = [f"| `{f}` | {r['county_name']} {r['county_code']} | {r['area_ha']:.4f} | "
            f"{r['designed_industry']} | {r['designed_outcome']} | {r['designed_zh']} | "
            f"{r['designed_en']} |" for f, r in expected.items()]
    return template("sites_README.md") + "\n".join(rows) + "\n"
