"""Initial schema: layer catalogue, features, audit log, users.

Revision ID: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

from blueprint.layers.schema import Geometry

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgis = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "layers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("feature_count", sa.Integer, nullable=False),
        sa.Column("minx", sa.Float), sa.Column("miny", sa.Float),
        sa.Column("maxx", sa.Float), sa.Column("maxy", sa.Float),
        sa.Column("source_file", sa.Text, nullable=False),
        sa.Column("source_crs", sa.String(80)),
        sa.Column("encoding", sa.String(40)),
        sa.Column("repaired_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("raster_path", sa.Text),
        sa.Column("bands", sa.Text),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "layer_features",
        sa.Column("layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("fid", sa.String(200), nullable=False),
        sa.Column("klass", sa.String(80)),
        sa.Column("props", sa.Text, nullable=False),
        sa.Column("geom", Geometry, nullable=False),
        sa.PrimaryKeyConstraint("layer_id", "fid"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("object", sa.String(300), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("county", sa.String(12)),
        sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    if postgis:
        op.execute("CREATE INDEX ix_layer_features_geom ON layer_features USING gist (geom)")
        op.execute(
            "CREATE TABLE layer_features_sub ("
            " layer_id integer NOT NULL REFERENCES layers(id) ON DELETE CASCADE,"
            " fid varchar(200) NOT NULL, klass varchar(80),"
            " geom geometry(Geometry,4490) NOT NULL)"
        )
        op.execute("CREATE INDEX ix_layer_features_sub_geom ON layer_features_sub "
                   "USING gist (geom)")
        op.execute("CREATE INDEX ix_layer_features_sub_layer ON layer_features_sub (layer_id)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS layer_features_sub")
    op.drop_table("users")
    op.drop_table("audit_log")
    op.drop_table("layer_features")
    op.drop_table("layers")
