"""A project's site keeps its parcels: ``project_sites.parcels`` (each version's) and
``projects.site_parcels`` (the current version's, as ``projects.site`` repeats its
geometry), JSON lists of ``{"wkb": hex WKB in EPSG:4490, "parcel_name": …, "land_use": …}``
(the attributes as :attr:`~blueprint.analysis.site.Site.parcel_attributes` holds them).

The merged outline stays where it was (``geom``, ``site``): what vetting, the maps and the
queries read. NULL, as every row stored before, says "no parcels kept": the outline's
polygons are the parcels, as before. Plain ADD / DROP COLUMN, not a batch rebuild, which
would drop the triggers 0006_records put on ``project_sites`` (append-only); old rows are
not filled, so the triggers need not be lifted.

Revision ID: 0017_project_parcels
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_project_parcels"
down_revision = "0016_problem_dispatch"
branch_labels = None
depends_on = None

COLUMNS = (("project_sites", "parcels"), ("projects", "site_parcels"))


def upgrade() -> None:
    for table, column in COLUMNS:
        op.add_column(table, sa.Column(column, sa.Text, nullable=True))


def downgrade() -> None:
    for table, column in COLUMNS:
        # a plain DROP COLUMN (SQLite 3.35+), not a batch rebuild: that would drop triggers
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
