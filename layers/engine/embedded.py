"""The embedded engine: SQLite (WAL) for records, shapely with STRtrees for geometry.

Features are stored as WKB; each layer's STRtree is built once per layer version
(:mod:`layers.engine.embedded_index`) and the overlay runs in numpy-vectorised shapely.
Writers serialise at ``BEGIN IMMEDIATE``, so the import and ledger locks have nothing
left to do.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event

from blueprint.layers.engine.base import Backend, BBox, FeaturePage, FeatureSink

# How long a writer waits for its place in this process's queue before it waits on SQLite
# alone (the same bound as the SQLite busy timeout).
WRITER_QUEUE_TIMEOUT_S = 60
_INSERT_FEATURE = ("INSERT INTO layer_features (layer_id, fid, klass, props, geom) "
                   "VALUES (?, ?, ?, ?, ?)")

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from blueprint.layers.engine.overlay_types import LayerOverlap
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store
    from blueprint.layers.tiles import TileSpec


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
        from blueprint.layers.engine.embedded_overlay import overlay_embedded
        return overlay_embedded(site, zone_epsg, layers, store=store)

    def change_stamp(self, store: Store) -> tuple[Any, ...] | None:
        """The database file's and its write-ahead log's identity, size and modification
        time (ns): every commit, by any process, writes to one of them."""
        database = store.data_dir / "blueprint.db"
        stamp: list[Any] = []
        for path in (database, database.with_name("blueprint.db-wal")):
            try:
                st = os.stat(path)
            except FileNotFoundError:
                stamp.append(None)
                continue
            stamp.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(stamp)

    def overlay_many(self, sites: Sequence[BaseGeometry], zones: Sequence[int],
                     layers: list[LayerInfo], *, store: Store) -> list[list[LayerOverlap]]:
        """The batch's overlays, each layer's geometry work vectorised over all sites."""
        from blueprint.layers.engine.embedded_overlay import overlay_embedded_many
        return overlay_embedded_many(sites, zones, layers, store=store)

    def page_features(self, layer: LayerInfo, bbox: BBox | None, *, store: Store, limit: int,
                      offset: int, tolerance: float) -> FeaturePage:
        """A page from the layer's cached arrays, filtered by its STRtree."""
        from blueprint.layers.engine.embedded_overlay import page_embedded
        return page_embedded(layer, bbox, store=store, limit=limit, offset=offset,
                             tolerance=tolerance)

    def vector_tile(self, layer: LayerInfo, tile: TileSpec, *, store: Store) -> bytes:
        """Cut from the layer's STRtree and arrays (:func:`tile_embedded`)."""
        from blueprint.layers.engine.embedded_tiles import tile_embedded
        return tile_embedded(layer, tile, store=store)

    def class_unions(self, layer: LayerInfo, area: BaseGeometry, *, store: Store
                     ) -> dict[str | None, BaseGeometry]:
        """Clip with the layer's STRtree and dissolve per class with shapely."""
        from blueprint.layers.engine.embedded_overlay import class_unions_embedded
        return class_unions_embedded(layer, area, store=store)

    def lock_layer_name(self, conn: sa.Connection, name: str) -> None:
        """Nothing: the import's ``BEGIN IMMEDIATE`` already holds the one write lock."""

    def write_features(self, conn: sa.Connection, layer_id: int,
                       rows: Sequence[dict[str, Any]], *, batch: int) -> Iterator[int]:
        """Executemany inserts of plain tuples, ``batch`` rows at a time (the sqlite3
        driver's own executemany: no per-row SQLAlchemy handling)."""
        for start in range(0, len(rows), batch):
            chunk = [(layer_id, r["fid"], r["klass"], r["props"], r["geom"])
                     for r in rows[start:start + batch]]
            conn.exec_driver_sql(_INSERT_FEATURE, chunk)
            yield start + len(chunk)

    def feature_sink(self, conn: sa.Connection) -> FeatureSink:
        """Straight into ``layer_features`` under the id the layer row will get, the
        foreign key checked at commit (:class:`EmbeddedSink`)."""
        return EmbeddedSink(self, conn)

    def after_import(self, *, store: Store) -> None:
        """Nothing: the STRtree is rebuilt on first use of the new layer version."""

    def lock_ledger(self, conn: sa.Connection, scopes: Iterable[tuple[int, str]]) -> None:
        """Nothing: SQLite writers are already serialised by ``BEGIN IMMEDIATE``."""

    def lock_audit(self, conn: sa.Connection) -> None:
        """Nothing: SQLite writers are already serialised by ``BEGIN IMMEDIATE``."""


class EmbeddedSink(FeatureSink):
    """Features written once, under the layer id reserved at the start.

    The import holds SQLite's one write lock from ``BEGIN IMMEDIATE`` to commit, so the id
    SQLite would give the next layer row (one past the largest: rows are never deleted) is
    the import's; the foreign key to that row is checked at commit (``defer_foreign_keys``).
    """

    def __init__(self, backend: EmbeddedBackend, conn: sa.Connection):
        self._backend, self._conn = backend, conn
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # until this transaction ends
        self.layer_id = int(conn.exec_driver_sql(
            "SELECT coalesce(max(id), 0) + 1 FROM layers").scalar_one())

    def write(self, rows: Sequence[dict[str, Any]], *, batch: int) -> Iterator[int]:
        """Insert under the reserved id."""
        assert self.layer_id is not None
        return self._backend.write_features(self._conn, self.layer_id, rows, batch=batch)

    def publish(self, layer_id: int) -> None:
        """Nothing to move: the rows were written under ``layer_id`` already."""
        if layer_id != self.layer_id:
            raise RuntimeError(f"layer row {layer_id} is not the reserved {self.layer_id}")


def _sqlite_engine(data_dir: Path) -> sa.Engine:
    if not data_dir.exists():  # a new data folder and database: for the owner only
        data_dir.mkdir(parents=True, mode=0o700)
    database = data_dir / "blueprint.db"
    if not database.exists():
        try:
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:  # another process made it first
            pass
    engine = sa.create_engine(
        f"sqlite:///{database}",
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

    # The writers of this process queue here before ``BEGIN IMMEDIATE``: SQLite's busy
    # handler polls, so many threads waiting on the file lock at once could starve one past
    # the timeout (the soak saw "database is locked" after 60 s with 16 writers a process).
    # With the queue, only one writer per process waits on SQLite.
    writers = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers serialise at BEGIN: no lost updates, no deadlock upgrades.
        # Readers (Store.read) begin deferred and are never blocked by a writer (WAL).
        read_only = conn.get_execution_options().get("blueprint_read_only", False)
        if read_only:
            conn.exec_driver_sql("BEGIN")
            return
        # bounded: a thread that nests two write transactions falls back on SQLite's wait
        held = writers.acquire(timeout=WRITER_QUEUE_TIMEOUT_S)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if held:
                writers.release()
            raise
        if held:
            conn.info["blueprint_writer"] = True

    def _release(info: dict[Any, Any]) -> None:
        if info.pop("blueprint_writer", False):
            writers.release()

    event.listen(engine, "commit", lambda conn: _release(conn.info))
    event.listen(engine, "rollback", lambda conn: _release(conn.info))
    # a connection given back without commit or rollback (an error) gives its place up too
    event.listen(engine.pool, "checkin", lambda _dbapi, record: _release(record.info))
    return engine
