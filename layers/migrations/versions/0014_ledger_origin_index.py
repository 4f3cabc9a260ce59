"""An index on ``quota_entries (origin_id)``: the entries moving quota into, out of or on
behalf of some accounts (``debit_id IN … OR credit_id IN … OR origin_id IN …``) are found
through the indexes of their three columns, not by reading the whole ledger.

Two reads ask for them: the holds touching a page's accounts
(:func:`analysis.quota.holds.find_holds` with ``accounts``, every balance read expires
its holds through it) and a page of the balance sheet
(:func:`analysis.quota.balance_page._flows`). ``debit_id``, ``credit_id``, ``hold_id``,
``loan_id`` and ``operation_id`` have had their index since ``0002_quota``; without one on
``origin_id`` neither engine can combine them (PostgreSQL's ``BitmapOr``, SQLite's
``MULTI-INDEX OR``), and both read every entry of the ledger instead.

Revision ID: 0014_ledger_origin_index
"""

from alembic import op

revision = "0014_ledger_origin_index"
down_revision = "0013_password_must_change"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_quota_entries_origin", "quota_entries", ["origin_id"])


def downgrade() -> None:
    op.drop_index("ix_quota_entries_origin", table_name="quota_entries")
