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

# Tables in the database that are not described here, which Alembic's autogenerate must
# leave alone (see :func:`include_object`, used by ``migrations/env.py``).
UNMANAGED_TABLES = {
    "spatial_ref_sys": "the PostGIS extension's own table, seen through the search_path",
    "layer_features_sub": "PostGIS engine only: subdivided pieces (raw SQL in 0001_initial)",
}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Alembic autogenerate filter: skip :data:`UNMANAGED_TABLES` and their indexes."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table not in UNMANAGED_TABLES


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


# ----- The quota ledger (migration ``0002_quota``; used by :mod:`analysis.quota`) -----
#
# All three tables are append-only; the database refuses UPDATE and DELETE on them with
# triggers. An *entry* moves ``amount`` from its debit account (whose balance goes down)
# to its credit account (whose balance goes up). Amounts are integers of 1/SCALE unit.

# type: source (province), pool (city), county (reserve), hold (a project's holds),
# project (allocated to a project), retired. owner: '' | county code | project code.
quota_accounts = sa.Table(
    "quota_accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("type", sa.String(12), nullable=False),
    sa.Column("owner", sa.String(120), nullable=False),
    sa.Column("county", sa.String(12)),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("year", "kind", "type", "owner", name="uq_quota_accounts_code"),
)

# One row per operation; ``key`` is the idempotency key; ``params`` the normalised
# request (JSON) and ``result`` the result returned to the caller (JSON, without id).
quota_operations = sa.Table(
    "quota_operations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("op", sa.String(20), nullable=False),
    sa.Column("year", sa.Integer),
    sa.Column("kind", sa.String(40)),
    sa.Column("county", sa.String(12)),
    sa.Column("counterparty", sa.String(12)),
    sa.Column("project", sa.String(120)),
    sa.Column("amount", sa.BigInteger),
    sa.Column("expires_at", sa.DateTime(timezone=True)),
    sa.Column("due_date", sa.Date),
    sa.Column("price", sa.String(40)),
    sa.Column("target_id", sa.Integer),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# ``origin_id``: for entries into or out of hold/project accounts, the reserve (county
# or pool) the quota came from, so a reclaim knows where to send it back.
# ``hold_id`` / ``loan_id``: the hold or lend operation the entry belongs to.
quota_entries = sa.Table(
    "quota_entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("operation_id", sa.Integer, sa.ForeignKey("quota_operations.id"), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("purpose", sa.String(20), nullable=False),
    sa.Column("debit_id", sa.Integer, sa.ForeignKey("quota_accounts.id"), nullable=False),
    sa.Column("credit_id", sa.Integer, sa.ForeignKey("quota_accounts.id"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("origin_id", sa.Integer, sa.ForeignKey("quota_accounts.id")),
    sa.Column("hold_id", sa.Integer, sa.ForeignKey("quota_operations.id")),
    sa.Column("loan_id", sa.Integer, sa.ForeignKey("quota_operations.id")),
    sa.Column("reverses_id", sa.Integer, sa.ForeignKey("quota_entries.id"), unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("amount > 0", name="ck_quota_entries_positive"),
    sa.CheckConstraint("debit_id <> credit_id", name="ck_quota_entries_two_accounts"),
)
