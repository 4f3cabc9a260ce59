"""Which engine a store runs on: chosen once, from the database URL, when it opens."""

from __future__ import annotations

import sqlalchemy as sa

from layers.engine.base import Backend
from layers.engine.embedded import EmbeddedBackend
from layers.engine.postgis import PostgisBackend

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
