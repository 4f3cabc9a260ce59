"""Tables of the blueprint (SQLAlchemy Core), shared by both engines.

Geometry is EPSG:4490 everywhere. On PostgreSQL it is a PostGIS ``geometry`` column;
on the embedded engine (SQLite) it is WKB in a BLOB. :class:`Geometry` hides the
difference: Python code always sends and receives WKB bytes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator, UserDefinedType

SRID = 4490

metadata = sa.MetaData()


class _PostgisGeometry(UserDefinedType[Any]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        """DDL type of the column."""
        return f"geometry(Geometry,{SRID})"


class Geometry(TypeDecorator[bytes]):
    """A geometry column: PostGIS geometry(Geometry,4490) or a WKB BLOB.

    Python always sends and receives WKB bytes. PostgreSQL is sent hex EWKB text with
    the SRID (parsed by PostGIS's geometry input) and returns hex EWKB text.
    """

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> Any:
        """PostGIS geometry on PostgreSQL, BLOB elsewhere."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PostgisGeometry())
        return dialect.type_descriptor(sa.LargeBinary())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        """WKB in; hex EWKB text for PostGIS."""
        if value is None or dialect.name != "postgresql":
            return value
        import shapely  # only when writing to PostGIS: keeps the CLI's start light

        geom = shapely.set_srid(shapely.from_wkb(value), SRID)
        return shapely.to_wkb(geom, hex=True, include_srid=True)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> bytes | None:
        """WKB (or EWKB) bytes out."""
        if value is None:
            return None
        if isinstance(value, str):
            return bytes.fromhex(value)
        return bytes(value)


layers = sa.Table(
    "layers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("feature_count", sa.Integer, nullable=False),
    sa.Column("minx", sa.Float),
    sa.Column("miny", sa.Float),
    sa.Column("maxx", sa.Float),
    sa.Column("maxy", sa.Float),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_crs", sa.Text),
    sa.Column("encoding", sa.String(40)),
    sa.Column("repaired_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("raster_path", sa.Text),
    sa.Column("bands", sa.Text),  # JSON list of band names for rasters
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("imported_by", sa.String(120), nullable=False),
)

layer_features = sa.Table(
    "layer_features",
    metadata,
    sa.Column("layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("fid", sa.String(200), nullable=False),
    sa.Column("klass", sa.String(80)),
    sa.Column("props", sa.Text, nullable=False),  # JSON object
    sa.Column("geom", Geometry, nullable=False),
    sa.PrimaryKeyConstraint("layer_id", "fid"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("action", sa.String(80), nullable=False),
    sa.Column("object", sa.String(300), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # JSON
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("county", sa.String(12)),
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)
