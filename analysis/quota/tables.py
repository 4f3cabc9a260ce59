"""Tables of the quota ledger (created by migration ``0002_quota``).

All three tables are append-only; the database refuses UPDATE and DELETE on them with
triggers. An *entry* moves ``amount`` from its debit account (whose balance goes down)
to its credit account (whose balance goes up). Amounts are integers of 1/SCALE unit.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# type: source (province), pool (city), county (reserve), hold (a project's holds),
# project (allocated to a project), retired. owner: '' | county code | project code.
accounts = sa.Table(
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
operations = sa.Table(
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
entries = sa.Table(
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
