"""Tracking records (issue 13, second part): photos with monthly reports, the weekly
dispatch meeting (一周一调度), the quarterly adjustment (一季一调整), and the link of a
problem to where it came from (a consultation objection, a joint-meeting item, a dispatch
meeting), which makes raising it from there idempotent.

Every new table is append-only like those of ``0007_tracking``: triggers refuse UPDATE and
DELETE (and TRUNCATE on PostgreSQL). ``tracking_problems`` gains ``source_ref`` (unique when
set: ``opinion:12``, ``meeting_item:3``, ``dispatch:5:1``).

Revision ID: 0009_tracking_records
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_tracking_records"
down_revision = "0008_layer_current_fixed"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
APPEND_ONLY = ("tracking_photos", "tracking_dispatches", "tracking_adjustments",
               "tracking_adjustment_items")


def _tables() -> None:
    op.create_table(
        "tracking_photos",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("tracking_reports.id"),
                  nullable=False),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),  # the file's name in the store
        sa.Column("content_type", sa.String(20), nullable=False),  # image/jpeg | image/png
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),  # as sent, shown only
        sa.Column("uploaded_at", _TIME, nullable=False),
        sa.Column("uploaded_by", sa.String(120), nullable=False),
    )
    op.create_index("ix_tracking_photos_report", "tracking_photos", ["report_id"])
    op.create_table(
        "tracking_dispatches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("week", sa.String(8), nullable=False),  # ISO week, 2026-W48
        sa.Column("attendees", sa.Text, nullable=False),  # JSON list
        sa.Column("projects", sa.Text, nullable=False),  # JSON list of project codes
        sa.Column("decisions", sa.Text, nullable=False),
        sa.Column("recorded_at", _TIME, nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "tracking_adjustments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("quarter", sa.String(7), nullable=False),  # 2026-Q4
        sa.Column("decided_on", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("recorded_at", _TIME, nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "tracking_adjustment_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("adjustment_id", sa.Integer, sa.ForeignKey("tracking_adjustments.id"),
                  nullable=False),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),  # in | out | replan
        sa.Column("library", sa.String(40)),  # in / out: which library
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_tracking_adjustment_items_adjustment", "tracking_adjustment_items",
                    ["adjustment_id"])
    op.add_column("tracking_problems", sa.Column("source_ref", sa.String(80)))
    op.create_index("uq_tracking_problems_source_ref", "tracking_problems", ["source_ref"],
                    unique=True)


def _triggers(postgres: bool) -> None:
    for table in APPEND_ONLY:
        if postgres:  # records_append_only() comes from 0006_records
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                       " FOR EACH ROW EXECUTE FUNCTION records_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
                       " FOR EACH STATEMENT EXECUTE FUNCTION records_append_only()")
            continue
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}"
                       f" BEGIN SELECT RAISE(ABORT, 'records are append-only: {action} on"
                       f" {table} refused'); END")


def upgrade() -> None:
    _tables()
    _triggers(op.get_bind().dialect.name == "postgresql")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        for name in ("append_only", "no_truncate", "no_update", "no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{name}"
                       + (f" ON {table}" if postgres else ""))
    op.drop_index("uq_tracking_problems_source_ref", table_name="tracking_problems")
    op.drop_column("tracking_problems", "source_ref")
    for table in reversed(APPEND_ONLY):
        op.drop_table(table)
