"""The PostGIS engine: records and geometry in PostgreSQL, the overlay in one SQL statement.

Features stream into ``layer_features`` with ``COPY … FROM STDIN`` in batches (geometry
as hex EWKB with SRID 4490), with their pieces of at most :data:`SUBDIVIDE_VERTICES`
vertices in ``layer_features_sub`` (``ST_Subdivide``; a polygon that small is its own
piece and is sent as it is), which the overlay (``sql/overlay.sql`` beside this module)
queries through its GiST index. An import writes under the layer id it reserves, before
the layer row exists: the reference is checked at commit (:class:`PostgisSink`).
Concurrent writers serialise on advisory transaction locks.
"""

from __future__ import annotations

import json
import math
import queue
import re
import select
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from blueprint.layers.engine.base import (
    Backend,
    BBox,
    FeaturePage,
    FeatureSink,
    PendingOverlay,
    geojson_feature,
)
from blueprint.layers.engine.overlay_types import SLIVER_M2, FeatureHit, LayerOverlap
from blueprint.layers.engine.pieces import dissolve_by_class, polygons_only
from blueprint.layers.errors import StorageUnavailable, first_line

if TYPE_CHECKING:
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store
    from blueprint.layers.tiles import TileSpec

SUBDIVIDE_VERTICES = 256
LEDGER_LOCK_NAMESPACE = 0x51_07A  # first key of pg_advisory_xact_lock(int, int)
AUDIT_LOCK_KEY = 0x0A_0D17  # pg_advisory_xact_lock(bigint): the audit log's hash chain

_COPY = "COPY layer_features (layer_id, fid, klass, props, geom) FROM STDIN"
# a sink's COPYs send UTF-8 bytes, whatever the connection's client encoding
_COPY_UTF8 = f"{_COPY} WITH (ENCODING 'UTF8')"
_COPY_PIECES_UTF8 = ("COPY layer_features_sub (layer_id, fid, klass, geom) FROM STDIN "
                     "WITH (ENCODING 'UTF8')")
_SUBDIVIDE = sa.text(
    "INSERT INTO layer_features_sub (layer_id, fid, klass, geom) "
    "SELECT layer_id, fid, klass, ST_Subdivide(geom, :n) FROM layer_features "
    "WHERE layer_id = :id AND fid = ANY(CAST(:fids AS varchar[]))")


class PostgisBackend(Backend):
    """PostgreSQL + PostGIS: a pooled server, GiST indexes, subdivided pieces."""

    name = "postgis"

    def create_engine(self, database_url: str, data_dir: Path, *, pool_size: int) -> sa.Engine:
        """A psycopg2 pool of ``pool_size`` (+ twice that in overflow), checked before use
        (:func:`check_on_checkout`)."""
        url = database_url
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
        engine = sa.create_engine(
            url, pool_size=pool_size, max_overflow=pool_size * 2,
            connect_args={"connect_timeout": 10, "application_name": "blueprint"},
        )
        sa.event.listen(engine, "checkout", check_on_checkout)
        sa.event.listen(engine, "checkin", _note_checkin)
        return engine

    def prepare_schema(self, conn: sa.Connection) -> None:
        """Create the PostGIS extension, or say in one line that it cannot be created."""
        try:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        except sa.exc.SQLAlchemyError as exc:
            raise StorageUnavailable(
                f"the PostGIS extension is missing on this server and cannot be created: "
                f"{first_line(exc)} (a superuser must run CREATE EXTENSION postgis)",
                message_zh="数据库缺少 PostGIS 扩展，请由超级用户执行 CREATE EXTENSION postgis",
            ) from None

    def overlay(self, site: BaseGeometry, zone_epsg: int, layers: list[LayerInfo], *,
                store: Store) -> list[LayerOverlap]:
        """Overlay in one SQL statement for all layers (:func:`overlay_postgis`)."""
        return overlay_postgis(site, zone_epsg, layers, store=store)

    def overlay_current(self, site: BaseGeometry, zone_epsg: int, *, store: Store
                        ) -> tuple[list[LayerInfo], list[LayerOverlap]]:
        """The catalogue's marker read in the overlay's own statement
        (:func:`overlay_current_postgis`)."""
        return overlay_current_postgis(site, zone_epsg, store=store)

    def start_overlay_current(self, site: BaseGeometry, zone_epsg: int, *, store: Store
                              ) -> PendingOverlay:
        """:meth:`overlay_current` sent to the server, its answer read when asked for
        (:func:`start_overlay_current_postgis`)."""
        return start_overlay_current_postgis(site, zone_epsg, store=store)

    def overlay_many(self, sites: Sequence[BaseGeometry], zones: Sequence[int],
                     layers: list[LayerInfo], *, store: Store) -> list[list[LayerOverlap]]:
        """The batch's overlays in one SQL statement (:func:`overlay_postgis_many`)."""
        return overlay_postgis_many(sites, zones, layers, store=store)

    # Ids sort by code point on both engines (Python's str order = the "C" collation on UTF-8).
    def page_features(self, layer: LayerInfo, bbox: BBox | None, *, store: Store, limit: int,
                      offset: int, tolerance: float) -> FeaturePage:
        """A page by SQL: the pieces' GiST filters on the bbox, simplified in the database."""
        where = "layer_id = :id"
        params: dict[str, Any] = {"id": layer.id, "limit": limit, "offset": offset,
                                  "tol": tolerance}
        if bbox:
            # through the pieces' GiST (layer_features has none): a feature meets the box
            # where one of its pieces does; the probe is a hair wider (1e-9°, 0.1 mm) than
            # the box, against rounding at the cuts, and the feature itself decides
            where += (" AND fid IN (SELECT fid FROM layer_features_sub WHERE layer_id = :id"
                      " AND geom && ST_MakeEnvelope(:x0 - 1e-9, :y0 - 1e-9, :x1 + 1e-9,"
                      " :y1 + 1e-9, 4490))"
                      " AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490)"
                      " AND ST_Intersects(geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4490))")
            x0, y0, x1, y1 = (float(v) for v in bbox)  # numpy floats do not bind
            params.update(x0=x0, y0=y0, x1=x1, y1=y1)
        with store.read() as conn:
            matched = conn.execute(sa.text(f"SELECT count(*) FROM layer_features WHERE {where}"),
                                   params).scalar_one()
            rows = conn.execute(sa.text(
                "SELECT fid, klass, props, ST_AsBinary(CASE WHEN :tol > 0 THEN "
                "ST_SimplifyPreserveTopology(geom, :tol) ELSE geom END) AS wkb "
                f"FROM layer_features WHERE {where} ORDER BY fid COLLATE \"C\" "
                "LIMIT :limit OFFSET :offset"),
                params).all()
        feats = [geojson_feature(r.fid, r.klass, r.props, shapely.from_wkb(bytes(r.wkb)))
                 for r in rows]
        return FeaturePage(features=feats, matched=int(matched))

    def vector_tile(self, layer: LayerInfo, tile: TileSpec, *, store: Store) -> bytes:
        """``ST_AsMVT`` in one statement (:func:`tile_postgis`)."""
        from blueprint.layers.engine.postgis_tiles import tile_postgis
        return tile_postgis(layer, tile, store=store)

    def class_unions(self, layer: LayerInfo, area: BaseGeometry, *, store: Store
                     ) -> dict[str | None, BaseGeometry]:
        """The features meeting ``area`` found in the database (``sql/class_unions.sql``,
        one round trip, with those it covers), cut and dissolved with GEOS here exactly as
        the embedded engine does (:func:`cut_and_dissolve`)."""
        params = {"area": shapely.to_wkb(area, output_dimension=2), "layer_id": layer.id}
        with store.read() as conn:
            rows = conn.execute(sql_statement("class_unions.sql"), params).all()
        if not rows:
            return {}
        geoms = shapely.from_wkb([bytes(r.wkb) for r in rows])
        return cut_and_dissolve(geoms, np.array([r.klass for r in rows], dtype=object),
                                np.array([r.covered for r in rows], dtype=bool), area)

    def lock_layer_name(self, conn: sa.Connection, name: str) -> None:
        """An advisory transaction lock on the layer's name."""
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('layer:' || :name))"),
                     {"name": name})

    def write_features(self, conn: sa.Connection, layer_id: int,
                       rows: Sequence[dict[str, Any]], *, batch: int) -> Iterator[int]:
        """COPY in batches, subdivided as they go (:func:`copy_features`)."""
        return copy_features(conn, layer_id, rows, batch=batch)

    def feature_sink(self, conn: sa.Connection) -> FeatureSink:
        """COPY straight into the two tables under a reserved layer id, on a thread
        while the import reads on (:class:`PostgisSink`)."""
        return PostgisSink(conn)

    def after_import(self, *, store: Store) -> None:
        """Fresh statistics, so the planner picks the GiST indexes."""
        with store.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE layer_features"))
            conn.execute(sa.text("ANALYZE layer_features_sub"))

    def lock_ledger(self, conn: sa.Connection, scopes: Iterable[tuple[int, str]]) -> None:
        """Advisory transaction locks: the audit lock, then one per (year, kind), taken in
        sorted order (always in this order: no deadlock)."""
        self.lock_audit(conn)
        for year, kind in sorted(set(scopes)):
            key = zlib.crc32(f"{year}:{kind}".encode()) - 2**31
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                         {"ns": LEDGER_LOCK_NAMESPACE, "key": key})

    def lock_audit(self, conn: sa.Connection) -> None:
        """An advisory transaction lock (re-entrant): one audit writer at a time."""
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def cut_and_dissolve(geoms: np.ndarray, klass: np.ndarray, covered: np.ndarray,
                     area: BaseGeometry) -> dict[str | None, BaseGeometry]:
    """Features (in id order) cut by ``area`` and dissolved per class: a feature the area
    covers is its own piece, the area is the piece of a feature that covers it, the others
    are cut (their polygons: an edge or a corner met is no piece); a class without a piece
    is absent. The embedded engine's cut (``class_unions_embedded``), by the same GEOS."""
    pieces = geoms.copy()
    todo = np.flatnonzero(~covered)
    if todo.size:
        inside = np.asarray(shapely.covers(geoms[todo], area), dtype=bool)
        pieces[todo[inside]] = area
        rest = todo[~inside]
        if rest.size:
            pieces[rest] = [polygons_only(g) for g in shapely.intersection(geoms[rest], area)]
    return dissolve_by_class(pieces, klass)


# ---- writing an import -----------------------------------------------------------------

def _copy_value(value: str | None) -> str:
    """A text value in COPY's text format (``\\N`` is NULL)."""
    if value is None:
        return "\\N"
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def copy_features(conn: sa.Connection, layer_id: int, rows: Sequence[dict[str, Any]], *,
                  batch: int) -> Iterator[int]:
    """Stream features into ``layer_features`` with COPY, batch by batch, with their
    pieces: those ``ST_Subdivide`` would leave whole sent as they are, the rest cut by the
    server (:func:`copy_texts`, as :class:`PostgisSink` does on its thread).

    Yields how many rows are done after each batch (for a progress bar). Runs inside the
    caller's transaction on ``conn``.
    """
    dbapi = conn.connection.dbapi_connection
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        features, whole, cut = copy_texts(layer_id, chunk)
        _copy(dbapi, _COPY_UTF8, [features])
        if whole:
            _copy(dbapi, _COPY_PIECES_UTF8, [whole])
        if cut:
            subdivide_features(conn, layer_id, cut)
        yield start + len(chunk)


PIECE_LIMIT_WKB = 9 + 4 + 16 * SUBDIVIDE_VERTICES
"""A polygon's WKB of at most this many bytes has at most :data:`SUBDIVIDE_VERTICES`
vertices (9 bytes of header, 4 per ring, 16 per 2-D vertex): ``ST_Subdivide`` returns it
as it is (the same EWKB), so it goes into ``layer_features_sub`` as it is."""
_POLYGON_WKB = b"\x01\x03\x00\x00\x00"  # little-endian 2-D Polygon (shapely.to_wkb)
_SMALLEST_POLYGON_WKB = 9 + 4 + 16 * 4  # one ring of four vertices (not empty)
_TEXT_CHUNK = 10_000  # rows made into COPY text at a time (a few MB)
_ESCAPED = re.compile(r"[\\\t\n\r]")
_SUBDIVIDE_SOME = (
    "INSERT INTO layer_features_sub (layer_id, fid, klass, geom) "
    "SELECT layer_id, fid, klass, ST_Subdivide(geom, %s) FROM layer_features "
    "WHERE layer_id = %s AND fid = ANY(CAST(%s AS varchar[]))")


def _copy_column(values: list[str | None]) -> list[str]:
    """:func:`_copy_value` of each value; a column with nothing to escape (one scan of
    the joined text, the usual case) is taken as it is."""
    present = [v for v in values if v is not None]
    if _ESCAPED.search("".join(present)) is None:
        if len(present) == len(values):
            return present
        return ["\\N" if v is None else v for v in values]
    return [_copy_value(v) for v in values]


def copy_texts(layer_id: int, rows: Sequence[dict[str, Any]]
               ) -> tuple[bytes, bytes, list[str]]:
    """COPY text of ``rows`` (dicts with fid, klass, props and WKB geom) for
    ``layer_features`` (layer_id, fid, klass, props, geom) and for the pieces
    ``ST_Subdivide`` would leave whole (layer_id, fid, klass, geom: polygons of at most
    :data:`SUBDIVIDE_VERTICES` vertices, :data:`PIECE_LIMIT_WKB`); the ids of the features
    still to be cut by the server (the rest)."""
    fids = _copy_column([r["fid"] for r in rows])
    klasses = _copy_column([r["klass"] for r in rows])
    props = _copy_column([r["props"] for r in rows])
    wkbs = [r["geom"] for r in rows]
    heads = [f"{layer_id}\t{f}\t{k}\t" for f, k in zip(fids, klasses, strict=True)]
    geoms = [f"SRID=4490;{w.hex()}\n" for w in wkbs]
    features = "".join([f"{h}{p}\t{g}" for h, p, g in zip(heads, props, geoms, strict=True)])
    del props
    whole, cut = [], []
    for row, head, wkb, geom in zip(rows, heads, wkbs, geoms, strict=True):
        if _SMALLEST_POLYGON_WKB <= len(wkb) <= PIECE_LIMIT_WKB and wkb[:5] == _POLYGON_WKB:
            whole.append(head + geom)
        else:
            cut.append(row["fid"])
    # UTF-8 at once: a str with Chinese in it holds 2–4 bytes a character
    return features.encode("utf-8"), "".join(whole).encode("utf-8"), cut


class _Chunks:
    """A file of the given pieces of bytes, read one piece at a time (``COPY`` takes what
    each read gives): no joined copy of a whole batch."""

    def __init__(self, pieces: list[bytes]):
        self._pieces = pieces
        self._next = 0

    def read(self, size: int = -1) -> bytes:
        if self._next == len(self._pieces):
            return b""
        piece = self._pieces[self._next]
        self._pieces[self._next] = b""  # let it go once sent
        self._next += 1
        return piece


def _copy(dbapi: Any, statement: str, text: list[bytes]) -> None:
    """One ``COPY … FROM STDIN`` of ``text`` (UTF-8, in pieces) on the DBAPI connection."""
    cursor = dbapi.cursor()
    try:
        cursor.copy_expert(statement, _Chunks(text), size=1 << 20)
    finally:
        cursor.close()


class _Writer:
    """A thread running one sink's statements on its connection, in order, while the
    import prepares the next batch (psycopg2 lets go of the GIL while it sends and waits
    for the server): the client's and the server's work overlap on two cores. At most
    :attr:`DEPTH` statements wait (memory stays bounded); the first error is kept and
    raised to the import at its next call."""

    DEPTH = 2

    def __init__(self, dbapi: Any):
        self._dbapi = dbapi
        self._queue: queue.Queue[tuple[str, list[bytes] | None, tuple[Any, ...]] | None] = (
            queue.Queue(self.DEPTH))
        self._error: BaseException | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="blueprint-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None or self._stop:
                continue  # drain: the import sees the error, or is failing
            statement, text, params = item
            try:
                if text is None:
                    with self._dbapi.cursor() as cursor:
                        cursor.execute(statement, params)
                else:
                    _copy(self._dbapi, statement, text)
            except BaseException as exc:  # raised to the import by check() / close()
                self._error = exc

    def check(self) -> None:
        """Raise the first error of a statement run so far."""
        if self._error is not None:
            raise self._error

    def put(self, statement: str, text: list[bytes] | None = None,
            params: tuple[Any, ...] = ()) -> None:
        """Queue a COPY of ``text`` (or, with no text, a statement with ``params``)."""
        self.check()
        self._queue.put((statement, text, params))

    def close(self, *, failed: bool = False) -> None:
        """Wait for the queued statements and raise the first error; when ``failed`` (the
        import is failing already: its error goes on), skip what is still queued."""
        self._stop = self._stop or failed
        self._queue.put(None)
        self._thread.join()
        if not failed:
            self.check()


class PostgisSink(FeatureSink):
    """Straight into ``layer_features`` and ``layer_features_sub`` under the layer id
    taken from the ``layers`` id sequence at the start (the layer row is inserted with it
    at the end, in the same transaction: the reference is checked at commit, migration
    ``0010_import_speed``).

    Each batch is one COPY of the features and one of their pieces that ``ST_Subdivide``
    would leave whole (most parcels: polygons of at most 256 vertices, sent as they are);
    the rest are cut by the server from the rows just written. The statements run on a
    thread (:class:`_Writer`) while the import reads and checks the next batch, until
    :meth:`close`."""

    def __init__(self, conn: sa.Connection):
        self._conn = conn
        self.layer_id = int(conn.execute(sa.text(
            "SELECT nextval(pg_get_serial_sequence('layers', 'id'))")).scalar_one())
        self._writer: _Writer | None = _Writer(conn.connection.dbapi_connection)

    def write(self, rows: Sequence[dict[str, Any]], *, batch: int) -> Iterator[int]:
        """Hand the rows' COPYs to the writer thread: one COPY per table for all of
        ``rows`` (a streamed import's batch), not ``batch`` at a time: each statement makes
        the writer thread wait for the GIL while the import's thread computes (up to the
        interpreter's switch interval, 5 ms, every time), so few large ones overlap best."""
        writer, layer_id = self._writer, self.layer_id
        if writer is None or layer_id is None:
            raise RuntimeError("the sink is closed")
        features: list[bytes] = []
        whole: list[bytes] = []
        cut: list[str] = []
        for start in range(0, len(rows), _TEXT_CHUNK):  # the text a piece at a time
            texts = copy_texts(layer_id, rows[start:start + _TEXT_CHUNK])
            features.append(texts[0])
            if texts[1]:
                whole.append(texts[1])
            cut += texts[2]
        writer.put(_COPY_UTF8, features)
        if whole:
            writer.put(_COPY_PIECES_UTF8, whole)
        if cut:
            writer.put(_SUBDIVIDE_SOME, None, (SUBDIVIDE_VERTICES, layer_id, cut))
        yield len(rows)

    def close(self, *, failed: bool = False) -> None:
        """Wait for the statements in flight (the connection is the caller's alone
        again); raise the first one's error unless ``failed``."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close(failed=failed)

    def publish(self, layer_id: int) -> None:
        """Nothing left to move: the rows are in place under ``layer_id``."""
        self.close()
        if layer_id != self.layer_id:
            raise RuntimeError(f"layer row {layer_id} is not the reserved {self.layer_id}")


def subdivide_features(conn: sa.Connection, layer_id: int, fids: list[str]) -> None:
    """Cut the given features of a layer into pieces of at most 256 vertices."""
    conn.execute(_SUBDIVIDE, {"id": layer_id, "fids": fids, "n": SUBDIVIDE_VERTICES})


# ---- the overlay -----------------------------------------------------------------------

@lru_cache(maxsize=8)
def sql_statement(name: str) -> sa.TextClause:
    """A statement from the package data (``sql/NAME``), read once."""
    sql = resources.files("blueprint.layers.engine").joinpath("sql", name)
    return sa.text(sql.read_text("utf-8"))


def overlay_statement(name: str = "overlay.sql") -> sa.TextClause:
    """An overlay statement (``sql/overlay.sql``, ``sql/overlay_many.sql``)."""
    return sql_statement(name)


def overlay_postgis(site: BaseGeometry, zone_epsg: int, layers: list[LayerInfo], *,
                    store: Store) -> list[LayerOverlap]:
    """Overlay ``site`` (EPSG:4490) on ``layers`` inside PostGIS, in one statement.

    Same answer as the embedded engine: per layer, the features the site overlaps (area
    in the site's Gauss-Krüger zone, overlap piece in EPSG:4490), the area of the union
    of overlaps per class and in all, slivers of at most :data:`SLIVER_M2` dropped per
    feature. The work happens in the database: a GiST filter on the subdivided pieces,
    the ``ST_CoveredBy`` shortcuts before ``ST_Intersection``, ``ST_Transform`` to the
    zone, and the unions per feature, per class and per layer in one round trip.

    Examples
    --------
    >>> overlaps = overlay_postgis(site.geometry, site.zone_epsg, layers,
    ...                            store=store)  # doctest: +SKIP
    >>> [(o.layer.name, round(o.area_m2)) for o in overlaps]  # doctest: +SKIP
    """
    if not layers:
        return []
    with overlay_read(store) as conn:
        rows = execute_prepared(conn, "blueprint_overlay", "overlay.sql",
                                _overlay_params(site, zone_epsg, layers))
    return _overlaps(layers, rows)


def overlay_current_postgis(site: BaseGeometry, zone_epsg: int, *, store: Store
                            ) -> tuple[list[LayerInfo], list[LayerOverlap]]:
    """The current catalogue and :func:`overlay_postgis` on its vector layers, in one round
    trip when the catalogue has not changed since the last call.

    The overlay runs on the layers last read (:func:`~blueprint.layers.catalogue_cache.
    known_layers`), and the same statement returns the catalogue's marker as one more row
    (``level = 'catalogue'``), read in the same snapshot as the features. When it is the
    marker those layers were read under, they were the current ones for that overlay;
    otherwise the catalogue is read again and the overlay run again on it.
    """
    from blueprint.layers.catalogue_cache import current_layers, known_layers

    known = known_layers(store)
    if known is not None:
        marker, layers = known
        vectors = [layer for layer in layers if not layer.is_raster]
        with overlay_read(store) as conn:
            rows = execute_prepared(conn, "blueprint_overlay_current", "overlay.sql",
                                    _overlay_params(site, zone_epsg, vectors),
                                    catalogue=True)
        seen = [row.fid for row in rows if row.level == "catalogue"]
        if seen == [marker]:
            return list(layers), _overlaps(vectors, [r for r in rows if r.level != "catalogue"])
    current = current_layers(store=store)
    vectors = [layer for layer in current if not layer.is_raster]
    return current, overlay_postgis(site, zone_epsg, vectors, store=store)


def start_overlay_current_postgis(site: BaseGeometry, zone_epsg: int, *, store: Store
                                  ) -> PendingOverlay:
    """:func:`overlay_current_postgis`, sent without waiting for the answer.

    The statement (the same prepared one, on the layers last read) goes out on a pooled
    connection in autocommit through libpq (:mod:`~blueprint.layers.engine.pg_send`) and
    the call returns; the answer is read by :meth:`PendingOverlay.result`, which then
    checks the catalogue's marker as :func:`overlay_current_postgis` does. Before any
    catalogue was read, or when the statement cannot be sent that way, everything happens
    at once the ordinary way; an answer that fails to come is asked for again the
    ordinary way, which answers or fails exactly as it always did.
    """
    from blueprint.layers.catalogue_cache import known_layers
    from blueprint.layers.engine.pg_send import NotSent, send_prepared

    known = known_layers(store)
    if known is None:
        current, overlaps = overlay_current_postgis(site, zone_epsg, store=store)
        return PendingOverlay(expected=current, finish=lambda: (current, overlaps))
    marker, layers = known
    vectors = [layer for layer in layers if not layer.is_raster]
    params = _overlay_params(site, zone_epsg, vectors)
    name, file = "blueprint_overlay_current", "overlay.sql"
    read = overlay_read(store)
    conn = read.__enter__()
    try:
        names = prepare(conn, name, file, catalogue=True)
        sent = send_prepared(conn.connection.dbapi_connection, name,
                             [params[n] for n in names])
    except NotSent:
        read.__exit__(None, None, None)
        current, overlaps = overlay_current_postgis(site, zone_epsg, store=store)
        return PendingOverlay(expected=current, finish=lambda: (current, overlaps))
    except BaseException as exc:
        read.__exit__(type(exc), exc, exc.__traceback__)
        raise

    def finish() -> tuple[list[LayerInfo], list[LayerOverlap]]:
        try:
            rows = answer_rows(sent.rows()[0].rows)
        except NotSent:
            rows = None
        finally:
            read.__exit__(None, None, None)
        if rows is not None:
            seen = [row.fid for row in rows if row.level == "catalogue"]
            if seen == [marker]:
                return list(layers), _overlaps(vectors, [r for r in rows
                                                         if r.level != "catalogue"])
        return overlay_current_postgis(site, zone_epsg, store=store)

    def abandon() -> None:
        try:
            sent.abandon()
        finally:
            read.__exit__(None, None, None)

    return PendingOverlay(expected=list(layers), finish=finish, abandon=abandon)


PING_AFTER_IDLE_S = 10.0
"""A pooled connection idle longer than this is pinged (a round trip) before use."""


def check_on_checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
    """The pool's check that a connection still works, without a round trip when it can.

    A connection the server ended (``pg_terminate_backend``, a restart, an idle timeout)
    has the server's farewell or the end of the stream waiting on its socket, while a
    healthy idle one has nothing to read: one ``poll`` tells them apart. A connection with
    something to read, or idle for more than :data:`PING_AFTER_IDLE_S` (a network that
    dropped it silently), is pinged as ``pool_pre_ping`` did for every checkout (that
    round trip was a site check's largest cost after the overlay, issue 14). A failed
    ping makes the pool replace the connection.
    """
    idle = time.monotonic() - record.info.get("blueprint_checkin", -math.inf)
    if not dbapi_conn.closed and idle <= PING_AFTER_IDLE_S:
        waiting = select.poll()
        waiting.register(dbapi_conn.fileno(), select.POLLIN | select.POLLPRI)
        if not waiting.poll(0):
            return
    try:  # in autocommit, as SQLAlchemy's ping: no transaction is left open
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        with dbapi_conn.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_conn.autocommit = autocommit
    except Exception as exc:  # psycopg2's OperationalError, InterfaceError …
        raise sa.exc.DisconnectionError(first_line(exc)) from exc


def _note_checkin(dbapi_conn: Any, record: Any) -> None:
    record.info["blueprint_checkin"] = time.monotonic()


@contextmanager
def overlay_read(store: Store) -> Iterator[sa.Connection]:
    """A read connection for one overlay statement, in autocommit: the statement is its
    own snapshot, and psycopg2 sends no BEGIN before it and no ROLLBACK after it (one
    round trip where there were three with the pool's ping). The connection goes back
    to the pool as it came (autocommit off)."""
    with store.read() as conn:
        dbapi = conn.connection.dbapi_connection
        dbapi.autocommit = True  # type: ignore[union-attr]
        try:
            yield conn
        finally:  # a connection the server dropped stays closed (the pool discards it)
            if not dbapi.closed:  # type: ignore[union-attr]
                dbapi.autocommit = False  # type: ignore[union-attr]


def _overlay_params(site: BaseGeometry, zone_epsg: int, layers: list[LayerInfo]
                    ) -> dict[str, Any]:
    return {"site": shapely.to_wkb(site, output_dimension=2), "zone": int(zone_epsg),
            "layer_ids": [layer.id for layer in layers], "sliver": SLIVER_M2}


def _overlaps(layers: list[LayerInfo], rows: list[Any]) -> list[LayerOverlap]:
    results = {layer.id: LayerOverlap(layer=layer) for layer in layers}
    _decode_pieces(rows)
    for row in rows:
        _apply_row(results[row.layer_id], row)
    for result in results.values():
        result.hits.sort(key=lambda h: h.fid)
    return [results[layer.id] for layer in layers]


# The overlay statements' parameters, in the order PREPARE numbers them, with their types.
PREPARED_PARAMS = {"site": "bytea", "zone": "integer", "layer_ids": "integer[]",
                   "sliver": "double precision", "sites": "bytea[]", "zones": "integer[]"}


@lru_cache(maxsize=4)
def prepared_sql(file: str, catalogue: bool = False) -> tuple[str, tuple[str, ...]]:
    """``sql/<file>`` with its ``:name`` parameters numbered (``$1`` …) for PREPARE, and
    the parameter names in that order. With ``catalogue``, one more row (``level =
    'catalogue'``, the marker of :mod:`blueprint.layers.catalogue_cache` as ``fid``)."""
    from blueprint.layers.catalogue_cache import MARKER_SQL

    text = overlay_statement(file).text
    if catalogue:
        text = (f"{text.rstrip().removesuffix(';')}\nUNION ALL\n"
                f"SELECT 'catalogue' AS level, NULL AS layer_id, ({MARKER_SQL}) AS fid, "
                "NULL AS klass, NULL AS area, NULL AS wkb")
    # The rows as ONE json value: a site's answer is some thirty short rows, and reading
    # them value by value cost more client time than the server took to compute them;
    # json_agg is one value decoded by json.loads (doubles exact: float8out is shortest
    # round-trip since PostgreSQL 12; bytea as "\\x…" hex).
    text = f"SELECT coalesce(json_agg(answer), '[]') AS rows FROM (\n{text}\n) AS answer"
    names = tuple(n for n in PREPARED_PARAMS if re.search(rf":{n}\b", text))
    for i, name in enumerate(names, start=1):
        text = re.sub(rf"(?<!:):{name}\b", f"${i}", text)
    return text, names


def prepare(conn: sa.Connection, name: str, file: str, *, catalogue: bool = False
            ) -> tuple[str, ...]:
    """Prepare ``sql/<file>`` as ``name`` on ``conn``'s database connection unless it is
    already (once per connection); return its parameter names in order."""
    text, names = prepared_sql(file, catalogue)
    info = conn.connection.info  # lives as long as this DBAPI connection
    if name not in info.setdefault("blueprint_prepared", set()):
        types = ", ".join(PREPARED_PARAMS[n] for n in names)
        conn.exec_driver_sql(f"PREPARE {name} ({types}) AS {text}")
        info["blueprint_prepared"].add(name)
    return names


def execute_prepared(conn: sa.Connection, name: str, file: str,
                     params: dict[str, Any], *, catalogue: bool = False) -> list[Any]:
    """Run ``sql/<file>`` as the prepared statement ``name``: prepared once per database
    connection (planned per call no more), then executed with ``params`` (``catalogue``:
    see :func:`prepared_sql`)."""
    names = prepare(conn, name, file, catalogue=catalogue)
    values = ", ".join(f"%({n})s" for n in names)
    answer = conn.exec_driver_sql(f"EXECUTE {name} ({values})", params).scalar_one()
    return answer_rows(answer)


def answer_rows(answer: Any) -> list[Any]:
    """The rows of an overlay statement's json answer (a list of objects, parsed by the
    driver or given as text) as objects read by attribute, pieces' WKB as bytes."""
    if isinstance(answer, memoryview):
        answer = answer.tobytes()
    if isinstance(answer, str | bytes | bytearray):
        answer = json.loads(answer)
    rows = []
    for item in answer:
        wkb = item.get("wkb")
        if wkb is not None:
            item["wkb"] = bytes.fromhex(wkb[2:])
        rows.append(SimpleNamespace(**item))
    return rows


def overlay_postgis_many(sites: Sequence[BaseGeometry], zones: Sequence[int],
                         layers: list[LayerInfo], *, store: Store) -> list[list[LayerOverlap]]:
    """:func:`overlay_postgis` for a batch of sites in one statement
    (``sql/overlay_many.sql``); each site's answer is the one it gets alone."""
    answers = [{layer.id: LayerOverlap(layer=layer) for layer in layers} for _ in sites]
    if not layers or not sites:
        return [[] for _ in sites]
    params = {"sites": [shapely.to_wkb(s, output_dimension=2) for s in sites],
              "zones": [int(z) for z in zones], "layer_ids": [layer.id for layer in layers],
              "sliver": SLIVER_M2}
    with overlay_read(store) as conn:
        rows = execute_prepared(conn, "blueprint_overlay_many", "overlay_many.sql", params)
    _decode_pieces(rows)
    for row in rows:
        _apply_row(answers[row.site_no - 1][row.layer_id], row)
    for results in answers:
        for result in results.values():
            result.hits.sort(key=lambda h: h.fid)
    return [[results[layer.id] for layer in layers] for results in answers]


def _decode_pieces(rows: list[Any]) -> None:
    """The feature rows' WKB decoded in one call (``row.geom``)."""
    pieces = [row for row in rows if row.level == "feature"]
    if pieces:
        wkbs = np.empty(len(pieces), dtype=object)
        wkbs[:] = [row.wkb for row in pieces]
        for row, geom in zip(pieces, shapely.from_wkb(wkbs), strict=True):
            row.geom = geom


def _apply_row(result: LayerOverlap, row: Any) -> None:
    if row.level == "feature":
        result.hits.append(FeatureHit(fid=row.fid, klass=row.klass, area_m2=float(row.area),
                                      geometry=row.geom))
    elif row.level == "class":
        result.class_area_m2[row.klass] = float(row.area)
    else:
        result.area_m2 = float(row.area)
