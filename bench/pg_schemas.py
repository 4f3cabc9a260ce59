"""A fresh PostgreSQL schema per benchmark run, and its removal (no blueprint import, so
a bench's parent process stays light)."""

from __future__ import annotations

import uuid
from urllib.parse import quote


def fresh_schema(url: str, prefix: str = "bench") -> tuple[str, str]:
    """Create ``PREFIX_xxxxxxxx`` on the server (PostGIS ensured); the URL whose
    ``search_path`` is that schema, and its name."""
    import sqlalchemy as sa

    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema},public')}", schema


def drop_schema(url: str, schema: str) -> None:
    """Remove a benchmark schema and everything in it."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
