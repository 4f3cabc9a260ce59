"""The seam between Blueprint and a storage engine: what each engine does its own way.

Everything else (catalogue rows, audit, users, quotas, rules) is portable SQLAlchemy and
runs unchanged on every engine. An engine is chosen once, when the store opens
(:func:`layers.engine.registry.backend_for_url`), and kept as ``store.backend``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from blueprint.layers.engine.overlay_types import LayerOverlap
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store
    from blueprint.layers.tiles import TileSpec

BBox = tuple[float, float, float, float]


@dataclass
class FeaturePage:
    """A page of features: GeoJSON-ready dicts, and how many matched in all."""

    features: list[dict[str, Any]]
    matched: int


def geojson_feature(fid: str, klass: str | None, props: str, geom: Any) -> dict[str, Any]:
    """A stored feature (properties as JSON text) as a GeoJSON feature dict."""
    import shapely.geometry  # lazy: opening a store needs no shapely

    properties = json.loads(props)
    properties["_class"] = klass
    return {"type": "Feature", "id": fid, "properties": properties,
            "geometry": shapely.geometry.mapping(geom)}


class FeatureSink(ABC):
    """A streamed import's features on their way into ``layer_features``.

    ``layer_id`` is the id the layer row must be inserted with (None: any); ``publish``
    files the written features under the layer row once it exists, in the same transaction.
    """

    layer_id: int | None = None

    @abstractmethod
    def write(self, rows: Sequence[dict[str, Any]], *, batch: int) -> Iterator[int]:
        """Write rows in batches; yield how many of ``rows`` are done after each."""

    @abstractmethod
    def publish(self, layer_id: int) -> None:
        """File the features written under the layer row ``layer_id``."""

    def close(self, *, failed: bool = False) -> None:
        """Finish the writes still in flight: the connection is the caller's alone again.
        Raises their error, unless ``failed`` (the import is failing already: the writes
        still queued are dropped and the caller's error goes on). Nothing by default:
        the engine writes as it is asked."""
        return


class PendingOverlay:
    """An overlay of the current catalogue under way (:meth:`Backend.start_overlay_current`).

    ``expected`` is the catalogue it is expected to answer for (the one last read), known
    before the answer: work that needs only the catalogue may start on it, and must be
    redone when :meth:`result` returns another catalogue. :meth:`result` (once) waits
    for the answer; :meth:`abandon` drops it, for a caller that failed before reading it.
    """

    def __init__(self, expected: list[LayerInfo] | None,
                 finish: Callable[[], tuple[list[LayerInfo], list[LayerOverlap]]],
                 abandon: Callable[[], None] | None = None) -> None:
        self.expected = expected
        self._finish, self._abandon = finish, abandon

    def result(self) -> tuple[list[LayerInfo], list[LayerOverlap]]:
        """The current catalogue and the overlay on its vector layers."""
        return self._finish()

    def abandon(self) -> None:
        """Drop the answer (nothing to do once :meth:`result` was called)."""
        if self._abandon is not None:
            self._abandon()


class Backend(ABC):
    """One storage engine: how it connects, overlays, pages, writes and locks.

    Methods taking ``conn`` run inside the caller's transaction; a failure rolls back
    whatever the caller has done in it.
    """

    name: ClassVar[str]
    """Label for reports and logs (``embedded``, ``postgis``); never branch on it."""

    @abstractmethod
    def create_engine(self, database_url: str, data_dir: Path, *, pool_size: int) -> sa.Engine:
        """The SQLAlchemy engine (pool, connection settings, transaction begin)."""

    @abstractmethod
    def prepare_schema(self, conn: sa.Connection) -> None:
        """What must exist before the migrations run (e.g. a database extension)."""

    @abstractmethod
    def overlay(self, site: BaseGeometry, zone_epsg: int, layers: list[LayerInfo], *,
                store: Store) -> list[LayerOverlap]:
        """Overlay ``site`` (EPSG:4490) on vector ``layers``; areas planar in ``zone_epsg``."""

    def overlay_current(self, site: BaseGeometry, zone_epsg: int, *, store: Store
                        ) -> tuple[list[LayerInfo], list[LayerOverlap]]:
        """The current catalogue (as :func:`~blueprint.layers.repository.list_layers`) and
        ``site``'s overlay on its vector layers, the one consistent with the other.

        Engines may read the catalogue's change marker in the overlay's own round trip;
        this default reads it first (:func:`~blueprint.layers.catalogue_cache.current_layers`).
        """
        from blueprint.layers.catalogue_cache import current_layers

        current = current_layers(store=store)
        vectors = [layer for layer in current if not layer.is_raster]
        return current, self.overlay(site, zone_epsg, vectors, store=store)

    def start_overlay_current(self, site: BaseGeometry, zone_epsg: int, *, store: Store
                              ) -> PendingOverlay:
        """:meth:`overlay_current` begun: engines whose overlay runs elsewhere (a database
        server) may send it and return before its answer, so the caller can do other
        work meanwhile (:class:`PendingOverlay`). This default does it all now."""
        current, overlaps = self.overlay_current(site, zone_epsg, store=store)
        return PendingOverlay(expected=current, finish=lambda: (current, overlaps))

    def change_stamp(self, store: Store) -> tuple[Any, ...] | None:
        """Something that changes whenever the database's content may have (files' size
        and modification time), read without a query; None: this engine has none (the
        catalogue's marker is read by a query, :mod:`~blueprint.layers.catalogue_cache`)."""
        return None

    def overlay_many(self, sites: Sequence[BaseGeometry], zones: Sequence[int],
                     layers: list[LayerInfo], *, store: Store) -> list[list[LayerOverlap]]:
        """:meth:`overlay` for many sites (a batch); each answer is exactly that site's own.

        Engines may do the batch in fewer, larger steps; this default asks one site at a time.
        """
        return [self.overlay(site, zone, layers, store=store)
                for site, zone in zip(sites, zones, strict=True)]

    @abstractmethod
    def page_features(self, layer: LayerInfo, bbox: BBox | None, *, store: Store, limit: int,
                      offset: int, tolerance: float) -> FeaturePage:
        """Features of ``layer`` meeting ``bbox``, ordered by id (code point), simplified."""

    @abstractmethod
    def vector_tile(self, layer: LayerInfo, tile: TileSpec, *, store: Store) -> bytes:
        """The Mapbox Vector Tile of ``layer`` at ``tile``, by the rules of
        :mod:`layers.tiles` (empty bytes when nothing is there)."""

    @abstractmethod
    def class_unions(self, layer: LayerInfo, area: BaseGeometry, *, store: Store
                     ) -> dict[str | None, BaseGeometry]:
        """The features of ``layer`` clipped to ``area`` (EPSG:4490), dissolved per class.

        What site search (``analysis.site_search``) builds its allowed region from: one
        polygonal geometry per class value met inside ``area``; classes not met are absent.
        """

    @abstractmethod
    def lock_layer_name(self, conn: sa.Connection, name: str) -> None:
        """Let one import at a time write the layer called ``name``."""

    @abstractmethod
    def write_features(self, conn: sa.Connection, layer_id: int,
                       rows: Sequence[dict[str, Any]], *, batch: int) -> Iterator[int]:
        """Write an import's features in batches; yield how many are done after each."""

    @abstractmethod
    def feature_sink(self, conn: sa.Connection) -> FeatureSink:
        """Where a streamed import writes its features before its layer row exists (the
        row holds the checksum and bounds, known at the end, and never changes after)."""

    @abstractmethod
    def after_import(self, *, store: Store) -> None:
        """Work after an import has committed (e.g. fresh planner statistics)."""

    @abstractmethod
    def lock_ledger(self, conn: sa.Connection, scopes: Iterable[tuple[int, str]]) -> None:
        """Serialise writers of the quota ledger for each (year, kind) scope, deadlock-free
        (the audit lock first: every ledger writer writes an audit row too)."""

    @abstractmethod
    def lock_audit(self, conn: sa.Connection) -> None:
        """Serialise writers of the audit log's hash chain until the transaction ends."""
