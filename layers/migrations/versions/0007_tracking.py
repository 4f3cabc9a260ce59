"""Tracking projects after approval (issue 13): reversed schedules, monthly investment
plans, monthly progress reports, problems and their lifecycle.

Every table is append-only, as the records tables of ``0006_records`` are: triggers
refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL). A correction is a new row:

- a plan is set again as a new ``tracking_plans`` version (its milestones and monthly
  amounts hang on the version; the newest version is the plan);
- a report for a month sent again is a new ``tracking_reports`` row (the newest counts);
- a problem's escalation, reassignment and closing (销号) are ``tracking_problem_events``.

Money per month is 万元 as exact decimal text (a project's total stays 亿元).

Revision ID: 0007_tracking
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_tracking"
down_revision = "0006_records"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
APPEND_ONLY = ("tracking_plans", "tracking_milestones", "tracking_investment_plan",
               "tracking_reports", "tracking_problems", "tracking_problem_events")


def _plans() -> None:
    op.create_table(
        "tracking_plans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.UniqueConstraint("project_id", "version", name="uq_tracking_plans_version"),
    )
    op.create_table(
        "tracking_milestones",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey("tracking_plans.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("planned_on", sa.Date, nullable=False),
        sa.Column("responsible_unit", sa.String(200), nullable=False),
        sa.Column("service_officer", sa.String(120)),
        sa.UniqueConstraint("plan_id", "kind", name="uq_tracking_milestones_kind"),
    )
    op.create_table(
        "tracking_investment_plan",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("plan_id", sa.Integer, sa.ForeignKey("tracking_plans.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),  # YYYY-MM
        sa.Column("amount", sa.String(40), nullable=False),  # 万元, decimal text
        sa.UniqueConstraint("plan_id", "month", name="uq_tracking_investment_plan_month"),
    )


def _reports() -> None:
    op.create_table(
        "tracking_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),  # YYYY-MM
        sa.Column("investment", sa.String(40), nullable=False),  # 万元 completed this month
        sa.Column("funds_arrived", sa.String(40), nullable=False),  # 万元 arrived this month
        sa.Column("milestones", sa.Text, nullable=False),  # JSON {kind: YYYY-MM-DD}
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("reported_at", _TIME, nullable=False),
        sa.Column("reported_by", sa.String(120), nullable=False),
        sa.Column("corrects_id", sa.Integer, sa.ForeignKey("tracking_reports.id")),
    )
    op.create_table(
        "tracking_problems",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("tracking_reports.id")),
        sa.Column("source", sa.String(20), nullable=False),  # report | consultation | manual
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("owner_unit", sa.String(200), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("raised_at", _TIME, nullable=False),
        sa.Column("raised_by", sa.String(120), nullable=False),
    )
    op.create_table(
        "tracking_problem_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("problem_id", sa.Integer, sa.ForeignKey("tracking_problems.id"),
                  nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),  # escalate | reassign | close
        sa.Column("owner_unit", sa.String(200)),
        sa.Column("due_on", sa.Date),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
    )
    op.create_index("ix_tracking_plans_project", "tracking_plans", ["project_id"])
    op.create_index("ix_tracking_reports_project_month", "tracking_reports",
                    ["project_id", "month"])
    op.create_index("ix_tracking_problems_project", "tracking_problems", ["project_id"])
    op.create_index("ix_tracking_problem_events_problem", "tracking_problem_events",
                    ["problem_id"])


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
    _plans()
    _reports()
    _triggers(op.get_bind().dialect.name == "postgresql")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        for name in ("append_only", "no_truncate", "no_update", "no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{name}"
                       + (f" ON {table}" if postgres else ""))
    for table in reversed(APPEND_ONLY):
        op.drop_table(table)
