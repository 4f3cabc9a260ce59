"""Quota ledger: accounts, operations (idempotency keys) and double-entry entries.

All three tables are append-only: triggers refuse UPDATE, DELETE (and TRUNCATE on
PostgreSQL), so a correction can only be a new, reversing entry.

Revision ID: 0002_quota
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_quota"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TABLES = ("quota_entries", "quota_operations", "quota_accounts")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION quota_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'quota ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$
"""


def _create_tables() -> None:
    now = sa.DateTime(timezone=True)
    op.create_table(
        "quota_accounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("type", sa.String(12), nullable=False),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("county", sa.String(12)),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("created_at", now, nullable=False),
        sa.UniqueConstraint("year", "kind", "type", "owner", name="uq_quota_accounts_code"),
        sa.CheckConstraint("type IN ('source','pool','county','hold','project','retired')",
                           name="ck_quota_accounts_type"),
    )
    op.create_table(
        "quota_operations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("op", sa.String(20), nullable=False),
        sa.Column("year", sa.Integer), sa.Column("kind", sa.String(40)),
        sa.Column("county", sa.String(12)), sa.Column("counterparty", sa.String(12)),
        sa.Column("project", sa.String(120)), sa.Column("amount", sa.BigInteger),
        sa.Column("expires_at", now), sa.Column("due_date", sa.Date),
        sa.Column("price", sa.String(40)), sa.Column("target_id", sa.Integer),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", now, nullable=False),
    )
    op.create_table(
        "quota_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("operation_id", sa.Integer, sa.ForeignKey("quota_operations.id"),
                  nullable=False),
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
        sa.Column("created_at", now, nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_quota_entries_positive"),
        sa.CheckConstraint("debit_id <> credit_id", name="ck_quota_entries_two_accounts"),
    )
    op.create_index("ix_quota_entries_year_kind", "quota_entries", ["year", "kind"])
    op.create_index("ix_quota_entries_debit", "quota_entries", ["debit_id"])
    op.create_index("ix_quota_entries_credit", "quota_entries", ["credit_id"])
    op.create_index("ix_quota_entries_operation", "quota_entries", ["operation_id"])
    op.create_index("ix_quota_entries_hold", "quota_entries", ["hold_id"])
    op.create_index("ix_quota_entries_loan", "quota_entries", ["loan_id"])
    op.create_index("ix_quota_operations_op", "quota_operations", ["op", "year", "kind"])


def _append_only_triggers(postgres: bool) -> None:
    if postgres:
        op.execute(PG_FUNCTION)
    for table in TABLES:
        if postgres:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                       " FOR EACH ROW EXECUTE FUNCTION quota_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
                       " FOR EACH STATEMENT EXECUTE FUNCTION quota_append_only()")
            continue
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}"
                       f" BEGIN SELECT RAISE(ABORT, 'quota ledger is append-only: {action} on"
                       f" {table} refused'); END")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _create_tables()
    _append_only_triggers(postgres)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        op.drop_table(table)
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS quota_append_only()")
