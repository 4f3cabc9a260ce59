"""Vector tiles on the PostGIS engine: one statement (``sql/tile.sql``) with the GiST index,
``ST_AsMVTGeom`` and ``ST_AsMVT``, by the rules of :mod:`layers.tiles`."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import sqlalchemy as sa

from blueprint.layers.tiles import EARTH_M, MAX_LAT, MIN_FEATURE_PX, SIMPLIFY_PX, TileSpec

if TYPE_CHECKING:
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store


@lru_cache(maxsize=1)
def tile_statement() -> sa.TextClause:
    """The tile SQL, read once from the package data."""
    sql = resources.files("blueprint.layers.engine").joinpath("sql", "tile.sql")
    return sa.text(sql.read_text("utf-8"))


def tile_postgis(layer: LayerInfo, tile: TileSpec, *, store: Store) -> bytes:
    """The tile of ``layer`` made in the database."""
    mx0, my0, mx1, my1 = tile.bounds
    lon0, lat0, lon1, lat1 = tile.lonlat_bbox()
    params = {"layer_id": layer.id, "name": layer.name, "lon0": lon0, "lat0": lat0,
              "lon1": lon1, "lat1": lat1, "mx0": mx0, "my0": my0, "mx1": mx1, "my1": my1,
              "px": tile.pixel_m, "min_px": MIN_FEATURE_PX, "tol": SIMPLIFY_PX * tile.pixel_m,
              "r": EARTH_M, "maxlat": MAX_LAT}
    with store.read() as conn:
        # the planner's cost for a city-zoom tile triggers JIT: seconds of compiling for
        # a statement that runs in milliseconds
        conn.execute(sa.text("SET LOCAL jit = off"))
        data = conn.execute(tile_statement(), params).scalar_one()
    return bytes(data or b"")
