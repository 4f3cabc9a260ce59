"""Vector tiles on the PostGIS engine: one statement with ``ST_AsMVTGeom`` and ``ST_AsMVT``,
by the rules of :mod:`layers.tiles`.

Above :data:`~layers.tile_overview.OVERVIEW_MAX_ZOOM` the statement (``sql/tile.sql``)
finds the tile's features through their pieces' GiST index (``layer_features_sub``;
``layer_features`` has none since ``0010_import_speed``) and sorts the small ones into
cells. At that zoom and below the tile comes from the layer's overview
(:mod:`layers.tile_overview`, built once per layer version from one query of every
feature's box and kept in the process):
``sql/tile_overview.sql`` is given the fids of the features drawn whole, so it reads a few
hundred rows by primary key instead of up to 10^6 by GiST, and ``ST_AsMVT`` encodes them;
the marked cells are encoded by :mod:`layers.mvt` (the same feature as the embedded
engine's) and joined to that tile (:func:`layers.mvt.join_tiles`): handing PostGIS 10^4
rectangles to encode cost 0.1–0.3 s a tile, numpy 1 ms.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa

from blueprint.layers.mvt import encode_layer, join_tiles
from blueprint.layers.tile_overview import (
    OVERVIEW_MAX_ZOOM,
    TileOverview,
    cell_batch,
    cell_runs,
    layer_overview,
    mercator_boxes,
    whole_threshold_m,
)
from blueprint.layers.tiles import EARTH_M, EXTENT, MAX_LAT, MIN_FEATURE_PX, SIMPLIFY_PX, TileSpec

if TYPE_CHECKING:
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store


@lru_cache(maxsize=2)
def tile_statement(name: str = "tile.sql") -> sa.TextClause:
    """The tile SQL, read once from the package data."""
    sql = resources.files("blueprint.layers.engine").joinpath("sql", name)
    return sa.text(sql.read_text("utf-8"))


def _overview(layer: LayerInfo, store: Store) -> TileOverview:
    """The overview of ``layer`` (keys: fids), in one scan: every feature's bounding box as
    packed float8 (10^6 boxes in one value, no row handling), and the fids and boxes of the
    features that may be drawn whole at the overview's top zoom (a bound in degrees
    that holds up to the layer's highest latitude; checked exactly here)."""
    query = sa.text(
        "SELECT string_agg(box, ''::bytea), array_agg(fid) FILTER (WHERE big), "
        "       string_agg(box, ''::bytea) FILTER (WHERE big) "
        "FROM (SELECT fid, float8send(ST_XMin(b)) || float8send(ST_YMin(b)) "
        "                  || float8send(ST_XMax(b)) || float8send(ST_YMax(b)) AS box, "
        "             greatest(ST_XMax(b) - ST_XMin(b), ST_YMax(b) - ST_YMin(b)) >= :degrees "
        "                 AS big "
        "      FROM (SELECT fid, box2d(geom) AS b FROM layer_features "
        "            WHERE layer_id = :layer_id) AS f) AS c")
    # web-mercator metres per degree are at most R·π/180 / cos(latitude)
    top_lat = min(MAX_LAT, max(abs(layer.bbox[1]), abs(layer.bbox[3])))
    degrees = math.degrees(whole_threshold_m() * math.cos(math.radians(top_lat)) / EARTH_M)
    with store.read() as conn:
        boxes, fids, big = conn.execute(query, {"layer_id": layer.id, "degrees": degrees}).one()
    lonlat, whole = _boxes(boxes), _boxes(big)
    fids = np.array(fids or [], dtype=object)
    return TileOverview.build(mercator_boxes(lonlat), whole_boxes=mercator_boxes(whole),
                              whole_keys=fids)


def _boxes(packed: bytes | None) -> np.ndarray:
    """(n, 4) boxes from big-endian float8 quadruples (``float8send``)."""
    return np.frombuffer(bytes(packed or b""), dtype=">f8").astype(np.float64).reshape(-1, 4)


def tile_postgis(layer: LayerInfo, tile: TileSpec, *, store: Store) -> bytes:
    """The tile of ``layer`` made in the database."""
    mx0, my0, mx1, my1 = tile.bounds
    lon0, lat0, lon1, lat1 = tile.lonlat_bbox()
    params = {"layer_id": layer.id, "name": layer.name, "lon0": lon0, "lat0": lat0,
              "lon1": lon1, "lat1": lat1, "mx0": mx0, "my0": my0, "mx1": mx1, "my1": my1,
              "px": tile.pixel_m, "min_px": MIN_FEATURE_PX, "tol": SIMPLIFY_PX * tile.pixel_m,
              "r": EARTH_M, "maxlat": MAX_LAT}
    # the pieces' probe (sql/tile.sql): one pixel wider; x = R·lon, and a metre of
    # web-mercator y is at most 1/R radians of latitude
    widen = math.degrees(tile.pixel_m / EARTH_M)
    params.update(plon0=lon0 - widen, plat0=lat0 - widen, plon1=lon1 + widen,
                  plat1=lat1 + widen)
    if tile.z <= OVERVIEW_MAX_ZOOM:
        overview = layer_overview(layer, store=store, build=lambda: _overview(layer, store))
        fids = overview.whole(tile)
        runs = cell_runs(overview.cells(tile))
        if fids.size == 0 and runs.row.size == 0:
            return b""
        params = {"layer_id": layer.id, "name": layer.name, "mx0": mx0, "my0": my0,
                  "mx1": mx1, "my1": my1, "tol": SIMPLIFY_PX * tile.pixel_m,
                  "fids": fids.tolist()}
        data = b""
        if fids.size:
            with store.read() as conn:
                data = bytes(conn.execute(tile_statement("tile_overview.sql"),
                                          params).scalar_one() or b"")
        return join_tiles(data, encode_layer(layer.name, cell_batch(runs), extent=EXTENT))
    with store.read() as conn:
        # the planner's cost for a city-zoom tile triggers JIT: seconds of compiling for
        # a statement that runs in milliseconds
        conn.execute(sa.text("SET LOCAL jit = off"))
        # a tile reads a few thousand rows: a parallel worker costs more to start than it
        # saves (43 vs 49 ms p50 at zoom 13, 10^6 parcels, on this busy 2-core machine)
        conn.execute(sa.text("SET LOCAL max_parallel_workers_per_gather = 0"))
        data = conn.execute(tile_statement(), params).scalar_one()
    return bytes(data or b"")
