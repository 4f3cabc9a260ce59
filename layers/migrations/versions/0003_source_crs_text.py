"""Layers: source_crs as text (a PROJ string for CRSs without an EPSG code can be long).

Revision ID: 0003_source_crs_text
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_source_crs_text"
down_revision = "0002_quota"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite does not enforce lengths
        op.alter_column("layers", "source_crs", type_=sa.Text, existing_type=sa.String(80))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("layers", "source_crs", type_=sa.String(80), existing_type=sa.Text)
