"""Storage engines behind one seam (:class:`Backend`), chosen once when the store opens.

``embedded``: SQLite + shapely STRtrees (:mod:`layers.engine.embedded`);
``postgis``: PostgreSQL/PostGIS (:mod:`layers.engine.postgis`). See docs/architecture.md
for how to add another.
"""

from __future__ import annotations

import sqlalchemy as sa

from layers.engine.base import Backend, FeaturePage
from layers.engine.embedded import EmbeddedBackend
from layers.engine.overlay_types import SLIVER_M2, FeatureHit, LayerOverlap
from layers.engine.postgis import PostgisBackend

__all__ = ["SLIVER_M2", "Backend", "FeatureHit", "FeaturePage", "LayerOverlap",
           "backend_for_url", "backend_of"]

_BY_DIALECT: dict[str, type[Backend]] = {"sqlite": EmbeddedBackend,
                                         "postgresql": PostgisBackend}


def backend_for_url(database_url: str) -> Backend:
    """The engine for ``BLUEPRINT_DATABASE_URL``: empty is embedded, a URL is PostGIS.

    The settings accept only ``postgresql://`` URLs (or none); a new engine adds its
    scheme there and here.
    """
    return PostgisBackend() if database_url else EmbeddedBackend()


def backend_of(bind: sa.Engine | sa.Connection) -> Backend:
    """The engine behind a SQLAlchemy engine or connection that a store opened.

    For code that holds only a connection (the quota ledger) and for a
    :class:`~layers.store.Store` built around an existing SQLAlchemy engine.
    """
    return _BY_DIALECT[bind.dialect.name]()
