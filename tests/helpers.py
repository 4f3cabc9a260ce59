"""Small builders for test data in real file formats (no mocks)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

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


class StoreFingerprint:
    """What a refused request must leave as it was: the row counts of every table (one
    query for them all, built once), the layers' rows, the newest audit row's hash and the
    raster files. Call it before and after."""

    def __init__(self, store: Any) -> None:
        import sqlalchemy as sa

        self.store = store
        with store.read() as conn:
            tables = [t for t in sa.inspect(conn).get_table_names() if not t.startswith("alembic")]
        self.counts = sa.text(" UNION ALL ".join(  # one round trip for every table
            f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables))

    def __call__(self) -> dict[str, Any]:
        import sqlalchemy as sa

        with self.store.read() as conn:
            found: dict[str, Any] = {row[0]: row[1] for row in conn.execute(self.counts)}
            layers = [tuple(map(str, r)) for r in conn.execute(sa.text(
                "SELECT id, layer_name, version, current, feature_count, checksum "
                "FROM layers ORDER BY id"))]
            found["layers_rows"] = hashlib.sha256(repr(layers).encode()).hexdigest()
            found["audit_last"] = conn.execute(sa.text(
                "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")).scalar()
        raster_dir = self.store.raster_dir
        found["rasters"] = sorted(p.name for p in raster_dir.iterdir()) \
            if raster_dir.exists() else []
        return found


def reader_shell(tmp_path: Path, folder: str) -> tuple[Path, dict[str, str]]:
    """A working folder and an environment in which the docs' commands run as a reader
    types them: ``blueprint`` on PATH (this checkout's, through a shim), the repository's
    ``data/`` in the folder, a fresh embedded store, wide tables."""
    import os
    import sys

    repo = Path(__file__).resolve().parent.parent
    shims = tmp_path / "bin"
    shims.mkdir()
    shim = shims / "blueprint"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m blueprint.service "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / folder
    work.mkdir()
    (work / "data").symlink_to(repo / "data")
    env = {**os.environ, "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(repo), "BLUEPRINT_DATA_DIR": str(work / ".blueprint"),
           "BLUEPRINT_DATABASE_URL": "", "COLUMNS": "160"}
    return work, env
