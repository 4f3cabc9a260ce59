"""Small builders for test data in real file formats (no mocks)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

GK39 = 4548  # CGCS2000 3-degree GK, CM 117°E, no zone prefix
# A point well inside Liaocheng's 东昌府区 in EPSG:4548 (about 115.98°E 36.45°N).
X0, Y0 = 410_000.0, 4_034_000.0


def box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    """A w×h metre rectangle with its lower-left corner at (X0+x, Y0+y) in EPSG:4548."""
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def frame(geoms: list, crs: int | str | None = GK39, **columns: list) -> gpd.GeoDataFrame:
    """A GeoDataFrame from geometries and columns."""
    return gpd.GeoDataFrame(dict(columns), geometry=geoms, crs=crs)


def write(gdf: gpd.GeoDataFrame, path: Path, **kwargs: object) -> Path:
    """Write with pyogrio, choosing the driver from the suffix."""
    drivers = {".shp": "ESRI Shapefile", ".gpkg": "GPKG", ".geojson": "GeoJSON",
               ".gdb": "OpenFileGDB"}
    gdf.to_file(path, driver=drivers[path.suffix], engine="pyogrio", **kwargs)
    return path


def zipped_site_without_crs(folder: Path, name: str = "园区地块") -> Path:
    """A zipped Shapefile of one park site, without ``.prj``: a file that has no CRS."""
    import zipfile

    site = shapely.box(116.0368, 36.4392, 116.0392, 36.4407)
    shp = write(frame([site], crs=None, name=[name]), folder / f"{name}.shp")
    packed = folder / f"{name}.zip"
    with zipfile.ZipFile(packed, "w") as zf:
        for part in (".shp", ".shx", ".dbf"):
            zf.write(shp.with_suffix(part), shp.with_suffix(part).name)
    return packed
