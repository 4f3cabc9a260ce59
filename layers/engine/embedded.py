"""The embedded engine: SQLite (WAL) for records, shapely with STRtrees for geometry.

Features are stored as WKB; each layer's STRtree is built once per layer version
(:mod:`layers.engine.embedded_index`) and the overlay runs in numpy-vectorised shapely.
Writers serialise at ``BEGIN IMMEDIATE``, so the import and ledger locks have nothing
left to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry
from sqlalchemy import event

from layers.crs import CGCS2000, to_crs
from layers.engine.base import Backend, BBox, FeaturePage, geojson_feature
from layers.engine.embedded_index import LayerIndex, layer_index
from layers.engine.overlay_types import SLIVER_M2, FeatureHit, LayerOverlap
from layers.schema import layer_features

if TYPE_CHECKING:
    from layers.repository import LayerInfo
    from layers.store import Store


class EmbeddedBackend(Backend):
    """SQLite + shapely: no server, everything in the data folder."""

    name = "embedded"

    def create_engine(self, database_url: str, data_dir: Path, *, pool_size: int) -> sa.Engine:
        """SQLite in ``data_dir/blueprint.db`` (WAL; writers take the lock at BEGIN)."""
        return _sqlite_engine(data_dir)

    def prepare_schema(self, conn: sa.Connection) -> None:
        """Nothing: SQLite needs no extension."""

    def overlay(self, site: BaseGeometry, zone_epsg: int, layers: list[LayerInfo], *,
                store: Store) -> list[LayerOverlap]:
        """Overlay with shapely and the layers' STRtrees (:func:`overlay_embedded`)."""
        return overlay_embedded(site, zone_epsg, layers, store=store)

    def page_features(self, layer: LayerInfo, bbox: BBox | None, *, store: Store, limit: int,
                      offset: int, tolerance: float) -> FeaturePage:
        """A page from the layer's cached arrays, filtered by its STRtree."""
        index = layer_index(layer, store=store)
        arrays = index.arrays
        if bbox:
            idx = np.sort(index.tree.query(shapely.box(*bbox), predicate="intersects"))
        else:
            idx = np.arange(len(arrays.fids))
        order = idx[np.argsort(arrays.fids[idx], kind="stable")]
        page = order[offset:offset + limit]
        geoms = arrays.geoms[page]
        if tolerance > 0:
            geoms = shapely.simplify(geoms, tolerance, preserve_topology=True)
        feats = [geojson_feature(str(arrays.fids[i]), arrays.klass[i], arrays.props[i], g)
                 for i, g in zip(page, geoms, strict=True)]
        return FeaturePage(features=feats, matched=int(idx.size))

    def lock_layer_name(self, conn: sa.Connection, name: str) -> None:
        """Nothing: the import's ``BEGIN IMMEDIATE`` already holds the one write lock."""

    def clear_features(self, conn: sa.Connection, layer_id: int) -> None:
        """Delete the layer's feature rows."""
        conn.execute(layer_features.delete().where(layer_features.c.layer_id == layer_id))

    def write_features(self, conn: sa.Connection, layer_id: int,
                       rows: Sequence[dict[str, Any]], *, batch: int) -> Iterator[int]:
        """Executemany inserts, ``batch`` rows at a time."""
        for start in range(0, len(rows), batch):
            chunk = [dict(r, layer_id=layer_id) for r in rows[start:start + batch]]
            conn.execute(layer_features.insert(), chunk)
            yield start + len(chunk)

    def after_import(self, *, store: Store) -> None:
        """Nothing: the STRtree is rebuilt on first use of the new layer version."""

    def lock_ledger(self, conn: sa.Connection, scopes: Iterable[tuple[int, str]]) -> None:
        """Nothing: SQLite writers are already serialised by ``BEGIN IMMEDIATE``."""


def _sqlite_engine(data_dir: Path) -> sa.Engine:
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        f"sqlite:///{data_dir / 'blueprint.db'}",
        connect_args={"timeout": 60, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers serialise at BEGIN: no lost updates, no deadlock upgrades.
        # Readers (Store.read) begin deferred and are never blocked by a writer (WAL).
        read_only = conn.get_execution_options().get("blueprint_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def overlay_embedded(site: BaseGeometry, zone_epsg: int, layers: list[LayerInfo], *,
                     store: Store) -> list[LayerOverlap]:
    """Overlay ``site`` (EPSG:4490) on ``layers`` with shapely and STRtrees."""
    shapely.prepare(site)
    return [_overlay_one(site, zone_epsg, layer, layer_index(layer, store=store))
            for layer in layers]


def _overlay_one(site: BaseGeometry, zone_epsg: int, layer: LayerInfo,
                 index: LayerIndex) -> LayerOverlap:
    result = LayerOverlap(layer=layer)
    cand = index.tree.query(site, predicate="intersects")
    if cand.size == 0:
        return result
    geoms = index.arrays.geoms[cand]
    pieces = _intersections(geoms, site)
    projected = to_crs(pieces, CGCS2000, zone_epsg)
    areas = shapely.area(projected)
    keep = areas > SLIVER_M2
    klass = index.arrays.klass[cand]
    result.hits = [FeatureHit(fid=str(f), klass=k, area_m2=float(a), geometry=g)
                   for f, k, a, g in zip(index.arrays.fids[cand][keep], klass[keep],
                                         areas[keep], pieces[keep], strict=True)]
    if not keep.any():
        return result
    result.area_m2 = float(shapely.union_all(projected[keep]).area)
    for value in dict.fromkeys(klass[keep]):
        mask = keep & (klass == value)
        result.class_area_m2[value] = float(shapely.union_all(projected[mask]).area)
    return result


def _intersections(geoms: np.ndarray, site: BaseGeometry) -> np.ndarray:
    """Intersection with the site, short-cutting features covered by it (and vice versa)."""
    out = np.empty(len(geoms), dtype=object)
    # The site (prepared per request) is always the first operand: the shared layer
    # geometries are never prepared, as GEOS prepared geometries are not thread-safe.
    covered = shapely.covers(site, geoms)
    out[covered] = geoms[covered]
    rest = ~covered
    if rest.any():
        site_inside = shapely.covered_by(site, geoms[rest])
        idx = np.flatnonzero(rest)
        out[idx[site_inside]] = site
        todo = idx[~site_inside]
        if todo.size:
            out[todo] = [_polygons_only(g) for g in shapely.intersection(geoms[todo], site)]
    return out


def _polygons_only(geom: BaseGeometry) -> BaseGeometry:
    """The polygonal part of an intersection (edges shared with the site are not overlap),
    as PostGIS's ``ST_CollectionExtract(…, 3)`` gives it."""
    if shapely.get_type_id(geom) != 7:  # not a GeometryCollection
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.multipolygons(parts) if parts else shapely.Polygon()
