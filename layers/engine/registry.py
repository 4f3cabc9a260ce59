"""Which engine a store runs on: chosen once, from the database URL, when it opens."""

from __future__ import annotations

from importlib import import_module

import sqlalchemy as sa

from blueprint.layers.engine.base import Backend

# dialect -> (module, class); an engine's module is imported only when a store uses it,
# so the embedded default never loads psycopg2 and PostGIS never loads the STRtree code.
_BY_DIALECT: dict[str, tuple[str, str]] = {
    "sqlite": ("blueprint.layers.engine.embedded", "EmbeddedBackend"),
    "postgresql": ("blueprint.layers.engine.postgis", "PostgisBackend"),
}


def _backend(dialect: str) -> Backend:
    module, name = _BY_DIALECT[dialect]
    backend: Backend = getattr(import_module(module), name)()
    return backend


def backend_for_url(database_url: str) -> Backend:
    """The engine for ``BLUEPRINT_DATABASE_URL``: empty is embedded, a URL is PostGIS.

    The settings accept only ``postgresql://`` URLs (or none); a new engine adds its
    scheme there and here.
    """
    return _backend("postgresql" if database_url else "sqlite")


def backend_of(bind: sa.Engine | sa.Connection) -> Backend:
    """The engine behind a SQLAlchemy engine or connection that a store opened.

    For code that holds only a connection (the quota ledger) and for a
    :class:`~layers.store.Store` built around an existing SQLAlchemy engine.
    """
    return _backend(bind.dialect.name)
