"""Projects and consultation: departments, projects, sites, stages, stored reports,
consultation rounds, department assignments, opinions, the joint meeting's problem list;
users gain a department and a password hash; audit rows name their project.

Revision ID: 0004_projects
"""

import sqlalchemy as sa
from alembic import op

from blueprint.layers.schema import Geometry

revision = "0004_projects"
down_revision = "0003_source_crs_text"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)

# Departments that usually consult in a city like Liaocheng (DOMAIN.md, "Consultation").
DEPARTMENTS = [
    ("nr", "自然资源和规划局"), ("ee", "生态环境局"), ("drc", "发展和改革委员会"),
    ("water", "水利局"), ("forestry", "林业局"), ("housing", "住房和城乡建设局"),
    ("transport", "交通运输局"), ("industry", "工业和信息化局"), ("invest", "投资促进局"),
    ("approval", "行政审批服务局"),
]
TABLES = ("meeting_items", "opinions", "round_departments", "consultation_rounds",
          "project_reports", "project_stages", "project_sites", "project_tags", "projects",
          "departments")


def _create_tables() -> None:
    # Departments that consult (会商部门): data, seeded by the migration.
    op.create_table(
        "departments",
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("sort", sa.Integer, nullable=False, server_default="0"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )

    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("county", sa.String(12), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),  # city | county
        sa.Column("investor_type", sa.String(12), nullable=False),  # state | private | foreign
        sa.Column("origin", sa.String(12), nullable=False),  # government | social | attracted
        sa.Column("industry", sa.String(40), nullable=False),
        sa.Column("investment", sa.String(40), nullable=False),  # 亿元, decimal text
        sa.Column("newly_planned", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("cross_county", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("foreign_annual_usd", sa.String(40)),  # 万美元 a year, decimal text
        sa.Column("foreign_cash_usd", sa.String(40)),  # 万美元 registered capital in cash a year
        sa.Column("demands", sa.Text, nullable=False),  # JSON {quota kind: decimal text}
        sa.Column("emissions", sa.Text, nullable=False),  # JSON {pollutant: t/yr}
        sa.Column("site", Geometry),
        sa.Column("site_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("responsible_unit", sa.String(200), nullable=False),
        sa.Column("service_officer", sa.String(120)),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("opinion_round_id", sa.Integer),  # the round whose opinions are 预审意见
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.UniqueConstraint("year", "seq", name="uq_projects_year_seq"),
    )

    op.create_table(
        "project_tags",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("tag", sa.String(40), nullable=False),
        sa.Column("added_at", _TIME, nullable=False),
        sa.Column("added_by", sa.String(120), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "tag"),
    )

    # Every site a project had (version 1, 2, … after revisions); projects.site is the latest.
    op.create_table(
        "project_sites",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("geom", Geometry, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("area_m2", sa.Float, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.UniqueConstraint("project_id", "version", name="uq_project_sites_version"),
    )

    op.create_table(
        "project_stages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("from_stage", sa.String(20)),
        sa.Column("to_stage", sa.String(20), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )

    # A stored vetting report (JSON) and the layers it used: [{id, name, kind, imported_at}].
    op.create_table(
        "project_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("site_version", sa.Integer, nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("layers", sa.Text, nullable=False),
        sa.Column("vetted_at", _TIME, nullable=False),
        sa.Column("vetted_by", sa.String(120), nullable=False),
    )

    op.create_table(
        "consultation_rounds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("site_version", sa.Integer, nullable=False),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("project_reports.id")),
        sa.Column("period_days", sa.Integer, nullable=False),
        sa.Column("started_on", sa.Date, nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("started_by", sa.String(120), nullable=False),
        sa.Column("closed_at", _TIME),
        sa.Column("closed_by", sa.String(120)),
        sa.Column("close_reason", sa.Text),
        sa.UniqueConstraint("project_id", "number", name="uq_consultation_rounds_number"),
    )

    # The departments of a round: picked by a rule (``how`` = rule, ``why`` = the rule's
    # reasons as JSON) or added by hand (manual, with the reason); removal is kept on record.
    op.create_table(
        "round_departments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("round_id", sa.Integer, sa.ForeignKey("consultation_rounds.id"),
                  nullable=False),
        sa.Column("department", sa.String(20), sa.ForeignKey("departments.code"),
                  nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("how", sa.String(10), nullable=False),
        sa.Column("why", sa.Text, nullable=False),
        sa.Column("added_at", _TIME, nullable=False),
        sa.Column("added_by", sa.String(120), nullable=False),
        sa.Column("removed_at", _TIME),
        sa.Column("removed_by", sa.String(120)),
        sa.Column("removed_reason", sa.Text),
        sa.UniqueConstraint("round_id", "department", name="uq_round_departments"),
    )

    # A department's answer; a later answer in the same round amends (``amends_id``) the one
    # before it, which stays on record.
    op.create_table(
        "opinions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("round_id", sa.Integer, sa.ForeignKey("consultation_rounds.id"),
                  nullable=False),
        sa.Column("department", sa.String(20), sa.ForeignKey("departments.code"),
                  nullable=False),
        sa.Column("answer", sa.String(20), nullable=False),  # agree | conditional | disagree
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("condition", Geometry),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("amends_id", sa.Integer, sa.ForeignKey("opinions.id"), unique=True),
    )

    # The joint meeting's problem list (问题清单) and its decisions (联席会议, art. 4, 11).
    op.create_table(
        "meeting_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("round_id", sa.Integer, sa.ForeignKey("consultation_rounds.id"),
                  nullable=False),
        sa.Column("problem", sa.Text, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),  # open | decided
        sa.Column("listed_at", _TIME, nullable=False),
        sa.Column("listed_by", sa.String(120), nullable=False),
        sa.Column("meeting_date", sa.Date),
        sa.Column("attendees", sa.Text),  # JSON list
        sa.Column("decision", sa.String(10)),  # proceed | exit
        sa.Column("decision_text", sa.Text),
        sa.Column("decided_at", _TIME),
        sa.Column("decided_by", sa.String(120)),
    )
    op.create_index("ix_project_stages_project", "project_stages", ["project_id"])
    op.create_index("ix_project_reports_project", "project_reports", ["project_id"])
    op.create_index("ix_opinions_round", "opinions", ["round_id"])


def upgrade() -> None:
    _create_tables()
    table = sa.table("departments", sa.column("code", sa.String), sa.column("name_zh", sa.String),
                     sa.column("sort", sa.Integer))
    op.bulk_insert(table, [{"code": c, "name_zh": n, "sort": i}
                           for i, (c, n) in enumerate(DEPARTMENTS)])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("department", sa.String(20)))
        batch.add_column(sa.Column("password_hash", sa.String(200)))
        batch.create_foreign_key("fk_users_department", "departments", ["department"],
                                 ["code"])
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("project", sa.String(40)))
    op.create_index("ix_audit_log_project", "audit_log", ["project"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_project", "audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("project")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("fk_users_department", type_="foreignkey")
        batch.drop_column("password_hash")
        batch.drop_column("department")
    for table in TABLES:
        op.drop_table(table)
