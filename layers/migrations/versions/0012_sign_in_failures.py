"""Sign-in lock-out: wrong passwords in a row per name typed, and until when it is locked
(:mod:`layers.sign_in_guard`).

Revision ID: 0012_sign_in_failures
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_sign_in_failures"
down_revision = "0011_records_indexes"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("name", sa.String(120), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failed_at", _TIME, nullable=False),
        sa.Column("locked_until", _TIME),
    )


def downgrade() -> None:
    op.drop_table("sign_in_failures")
