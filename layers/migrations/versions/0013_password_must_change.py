"""A password an administrator set must be changed at the next sign-in.

``users.password_must_change``: set when an administrator gives a user a password (the
administrator knows it: :func:`layers.users.reset_password`, ``blueprint users
set-password --temporary``), cleared when the user changes it on /account. Until then the
user's page sessions reach only /account (:mod:`web.session`). An added column keeps the
table's triggers on SQLite (no batch rebuild), and so does dropping it.

Revision ID: 0013_password_must_change
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_password_must_change"
down_revision = "0012_sign_in_failures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("password_must_change", sa.Boolean, nullable=False,
                                     server_default=sa.false()))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+), not a batch rebuild: that would drop the triggers
    # 0006_records put on users
    op.execute("ALTER TABLE users DROP COLUMN password_must_change")
