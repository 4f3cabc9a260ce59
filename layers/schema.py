"""Tables of the blueprint (SQLAlchemy Core), shared by both engines.

Geometry is EPSG:4490 everywhere. On PostgreSQL it is a PostGIS ``geometry`` column;
on the embedded engine (SQLite) it is WKB in a BLOB. :class:`Geometry` hides the
difference: Python code always sends and receives WKB bytes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator, UserDefinedType

SRID = 4490

metadata = sa.MetaData()

# Tables in the database that are not described here, which Alembic's autogenerate must
# leave alone (see :func:`include_object`, used by ``migrations/env.py``).
UNMANAGED_TABLES = {
    "spatial_ref_sys": "the PostGIS extension's own table, seen through the search_path",
    "layer_features_sub": "PostGIS engine only: subdivided pieces (raw SQL in 0001_initial)",
    "layer_feature_checks": "PostGIS engine only: layer ids an open transaction wrote features"
                            " under, checked at its commit (0010_import_speed)",
}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Alembic autogenerate filter: skip :data:`UNMANAGED_TABLES` and their indexes."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table not in UNMANAGED_TABLES


class _PostgisGeometry(UserDefinedType[Any]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        """DDL type of the column."""
        return f"geometry(Geometry,{SRID})"


class Geometry(TypeDecorator[bytes]):
    """A geometry column: PostGIS geometry(Geometry,4490) or a WKB BLOB.

    Python always sends and receives WKB bytes. PostgreSQL is sent hex EWKB text with
    the SRID (parsed by PostGIS's geometry input) and returns hex EWKB text.
    """

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> Any:
        """PostGIS geometry on PostgreSQL, BLOB elsewhere."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PostgisGeometry())
        return dialect.type_descriptor(sa.LargeBinary())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        """WKB in; hex EWKB text for PostGIS."""
        if value is None or dialect.name != "postgresql":
            return value
        import shapely  # only when writing to PostGIS: keeps the CLI's start light

        geom = shapely.set_srid(shapely.from_wkb(value), SRID)
        return shapely.to_wkb(geom, hex=True, include_srid=True)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> bytes | None:
        """WKB (or EWKB) bytes out."""
        if value is None:
            return None
        if isinstance(value, str):
            return bytes.fromhex(value)
        return bytes(value)


layers = sa.Table(
    "layers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("feature_count", sa.Integer, nullable=False),
    sa.Column("minx", sa.Float),
    sa.Column("miny", sa.Float),
    sa.Column("maxx", sa.Float),
    sa.Column("maxy", sa.Float),
    sa.Column("source_file", sa.Text, nullable=False),
    sa.Column("source_crs", sa.Text),
    sa.Column("encoding", sa.String(40)),
    sa.Column("repaired_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("raster_path", sa.Text),
    sa.Column("bands", sa.Text),  # JSON list of band names for rasters
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("imported_by", sa.String(120), nullable=False),
    # 0006: layer versions. A re-import adds a row (version + 1) and keeps the old one, its
    # features and raster under its own id, renamed ``NAME@vN`` (``name`` stays unique),
    # not current, superseded at the new import's time. ``layer_name`` is NAME for all.
    sa.Column("layer_name", sa.String(200)),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("current", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("checksum", sa.String(64)),  # SHA-256 of the features (or the raster file)
    sa.Column("superseded_at", sa.DateTime(timezone=True)),
    sa.Index("ix_layers_layer_name_version", "layer_name", "version", unique=True),
)

layer_features = sa.Table(
    "layer_features",
    metadata,
    # a foreign key on SQLite; on PostgreSQL checked once per statement at commit by
    # triggers instead (0010_import_speed: a row-by-row check was a third of an import)
    sa.Column("layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("fid", sa.String(200), nullable=False),
    sa.Column("klass", sa.String(80)),
    sa.Column("props", sa.Text, nullable=False),  # JSON object
    sa.Column("geom", Geometry, nullable=False),
    sa.PrimaryKeyConstraint("layer_id", "fid"),
)

# Append-only (0006_records): the database refuses UPDATE and DELETE on the audit log and on
# the history tables (project_stages, project_sites, project_reports, opinions); on users it
# refuses DELETE and any change of name, role, county, department or created_at.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("action", sa.String(80), nullable=False),
    sa.Column("object", sa.String(300), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # JSON
    sa.Column("project", sa.String(40)),  # the project code a row concerns (0004)
    # 0006: the hash chain (layers.audit_chain): the previous row's hash and this row's.
    sa.Column("prev_hash", sa.String(64)),
    sa.Column("hash", sa.String(64)),
    sa.Index("ix_audit_log_at", "at"),
    sa.Index("ix_audit_log_project", "project"),
    sa.Index("ix_audit_log_action", "action", "id"),  # 0011_records_indexes
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("county", sa.String(12)),
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    # 0004: a ``department`` user belongs to one department; an argon2 password hash (none
    # until one is set: there is no default password).
    sa.Column("department", sa.String(20),
              sa.ForeignKey("departments.code", name="fk_users_department")),
    sa.Column("password_hash", sa.String(200)),
    sa.Column("token_expires_at", sa.DateTime(timezone=True)),  # 0006; None: never
    # 0013: a password an administrator set is changed by its user at the next sign-in
    sa.Column("password_must_change", sa.Boolean, nullable=False, server_default=sa.false()),
)


# ----- The quota ledger (migration ``0002_quota``; used by :mod:`analysis.quota`) -----
#
# All three tables are append-only; the database refuses UPDATE and DELETE on them with
# triggers. An *entry* moves ``amount`` from its debit account (whose balance goes down)
# to its credit account (whose balance goes up). Amounts are integers of 1/SCALE unit.

# type: source (province), pool (city), county (reserve), hold (a project's holds),
# project (allocated to a project), retired. owner: '' | county code | project code.
quota_accounts = sa.Table(
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
quota_operations = sa.Table(
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
    sa.Index("ix_quota_operations_op", "op", "year", "kind"),
    sa.Index("ix_quota_operations_project", "project"),  # 0011_records_indexes
)

# ``origin_id``: for entries into or out of hold/project accounts, the reserve (county
# or pool) the quota came from, so a reclaim knows where to send it back.
# ``hold_id`` / ``loan_id``: the hold or lend operation the entry belongs to.
quota_entries = sa.Table(
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
    sa.Index("ix_quota_entries_year_kind", "year", "kind"),
    sa.Index("ix_quota_entries_debit", "debit_id"),
    sa.Index("ix_quota_entries_credit", "credit_id"),
    sa.Index("ix_quota_entries_origin", "origin_id"),  # 0014_ledger_origin_index
    sa.Index("ix_quota_entries_operation", "operation_id"),
    sa.Index("ix_quota_entries_hold", "hold_id"),
    sa.Index("ix_quota_entries_loan", "loan_id"),
)


# ----- Projects and consultation (migration ``0004_projects``; :mod:`analysis.projects`,
# :mod:`analysis.consultation`) -----
#
# Decimal amounts (investment in 亿元, US$ in 万美元) are exact decimal text; JSON in Text.

_TIME = sa.DateTime(timezone=True)

# Departments that consult (会商部门): data, seeded by the migration.
departments = sa.Table(
    "departments",
    metadata,
    sa.Column("code", sa.String(20), primary_key=True),
    sa.Column("name_zh", sa.String(100), nullable=False),
    sa.Column("sort", sa.Integer, nullable=False, server_default="0"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

projects = sa.Table(
    "projects",
    metadata,
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
    # 0017: the current site's parcels as given (JSON, see project_sites.parcels), or NULL
    sa.Column("site_parcels", sa.Text),
    sa.Column("responsible_unit", sa.String(200), nullable=False),
    sa.Column("service_officer", sa.String(120)),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("opinion_round_id", sa.Integer),  # the round whose opinions are 预审意见
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("created_by", sa.String(120), nullable=False),
    sa.Column("updated_at", _TIME, nullable=False),
    sa.UniqueConstraint("year", "seq", name="uq_projects_year_seq"),
)

project_tags = sa.Table(
    "project_tags",
    metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("tag", sa.String(40), nullable=False),
    sa.Column("added_at", _TIME, nullable=False),
    sa.Column("added_by", sa.String(120), nullable=False),
    sa.PrimaryKeyConstraint("project_id", "tag"),
)

# Every site a project had (version 1, 2, … after revisions); projects.site is the latest.
project_sites = sa.Table(
    "project_sites",
    metadata,
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
    # 0017: the parcels as given, JSON [{"wkb": hex WKB (EPSG:4490), "parcel_name": …,
    # "land_use": …}]; NULL (every row before 0017): the polygons of ``geom`` are the parcels
    sa.Column("parcels", sa.Text),
    sa.UniqueConstraint("project_id", "version", name="uq_project_sites_version"),
)

project_stages = sa.Table(
    "project_stages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("from_stage", sa.String(20)),
    sa.Column("to_stage", sa.String(20), nullable=False),
    sa.Column("at", _TIME, nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_project_stages_project", "project_id"),
)

# A stored vetting report (JSON) and the layers it used: [{id, name, kind, imported_at}].
project_reports = sa.Table(
    "project_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("site_version", sa.Integer, nullable=False),
    sa.Column("verdict", sa.String(20), nullable=False),
    sa.Column("report", sa.Text, nullable=False),
    sa.Column("layers", sa.Text, nullable=False),
    sa.Column("vetted_at", _TIME, nullable=False),
    sa.Column("vetted_by", sa.String(120), nullable=False),
    sa.Index("ix_project_reports_project", "project_id"),
)

consultation_rounds = sa.Table(
    "consultation_rounds",
    metadata,
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
round_departments = sa.Table(
    "round_departments",
    metadata,
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
opinions = sa.Table(
    "opinions",
    metadata,
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
    sa.Index("ix_opinions_round", "round_id"),
)

# The joint meeting's problem list (问题清单) and its decisions (联席会议, art. 4, 11).
meeting_items = sa.Table(
    "meeting_items",
    metadata,
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

# Signed-in page sessions (migration ``0005_sessions``; :mod:`layers.sessions`). Only the
# SHA-256 hash of the session id is stored; the id itself lives in the browser's cookie.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("expires_at", _TIME, nullable=False),
    sa.Index("ix_sessions_user", "user_id"),
)

# Sign-in lock-out (migration ``0012_sign_in_failures``; :mod:`layers.sign_in_guard`): wrong
# passwords in a row per name typed (known or not), and until when the name is locked.
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("name", sa.String(120), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failed_at", _TIME, nullable=False),
    sa.Column("locked_until", _TIME),
)

# ----- Tracking after approval (migration ``0007_tracking``; :mod:`analysis.tracking`) -----
#
# Append-only like the records tables: a correction is a new row (a new plan version, a
# report that ``corrects`` an earlier one, a problem event). Monthly money is 万元 as
# exact decimal text; months are ``YYYY-MM``.

# A project's plan (倒排工期 and monthly investment), one row a version; the newest counts.
tracking_plans = sa.Table(
    "tracking_plans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TIME, nullable=False),
    sa.Column("created_by", sa.String(120), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.UniqueConstraint("project_id", "version", name="uq_tracking_plans_version"),
    sa.Index("ix_tracking_plans_project", "project_id"),
)

# The milestones of a plan version: kind, planned date, responsible unit, service officer.
tracking_milestones = sa.Table(
    "tracking_milestones",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("plan_id", sa.Integer, sa.ForeignKey("tracking_plans.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("planned_on", sa.Date, nullable=False),
    sa.Column("responsible_unit", sa.String(200), nullable=False),
    sa.Column("service_officer", sa.String(120)),
    sa.UniqueConstraint("plan_id", "kind", name="uq_tracking_milestones_kind"),
)

# The monthly investment plan of a plan version (万元 a month).
tracking_investment_plan = sa.Table(
    "tracking_investment_plan",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("plan_id", sa.Integer, sa.ForeignKey("tracking_plans.id"), nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("amount", sa.String(40), nullable=False),
    sa.UniqueConstraint("plan_id", "month", name="uq_tracking_investment_plan_month"),
)

# Monthly progress reports; a report sent again for a month corrects the one before.
tracking_reports = sa.Table(
    "tracking_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("investment", sa.String(40), nullable=False),  # 万元 completed this month
    sa.Column("funds_arrived", sa.String(40), nullable=False),  # 万元 arrived this month
    sa.Column("milestones", sa.Text, nullable=False),  # JSON {kind: YYYY-MM-DD}
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("reported_at", _TIME, nullable=False),
    sa.Column("reported_by", sa.String(120), nullable=False),
    sa.Column("corrects_id", sa.Integer, sa.ForeignKey("tracking_reports.id")),
    sa.Index("ix_tracking_reports_project_month", "project_id", "month"),
)

# Problems raised in reports, in consultation or by hand; their life is in the events.
tracking_problems = sa.Table(
    "tracking_problems",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("tracking_reports.id")),
    sa.Column("source", sa.String(20), nullable=False),  # report | consultation | manual
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("owner_unit", sa.String(200), nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("raised_at", _TIME, nullable=False),
    sa.Column("raised_by", sa.String(120), nullable=False),
    # where it came from, when not a report or by hand (migration ``0009_tracking_records``):
    # ``opinion:<id>``, ``meeting_item:<id>``, ``dispatch:<id>:<n>``; raising it again is a no-op
    sa.Column("source_ref", sa.String(80)),
    # the dispatch meeting it was raised at (migration ``0016_problem_dispatch``; no foreign
    # key, so that SQLite can drop the column again without rebuilding the table)
    sa.Column("dispatch_id", sa.Integer),
    sa.Index("ix_tracking_problems_project", "project_id"),
    sa.Index("uq_tracking_problems_source_ref", "source_ref", unique=True),
    sa.Index("ix_tracking_problems_dispatch", "dispatch_id"),
)

# Escalation to city level (art. 21), reassignment, closing (销号).
tracking_problem_events = sa.Table(
    "tracking_problem_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("problem_id", sa.Integer, sa.ForeignKey("tracking_problems.id"),
              nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # escalate | reassign | close
    sa.Column("owner_unit", sa.String(200)),
    sa.Column("due_on", sa.Date),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", _TIME, nullable=False),
    sa.Column("actor", sa.String(120), nullable=False),
    sa.Index("ix_tracking_problem_events_problem", "problem_id"),
)

# ----- Tracking records (migration ``0009_tracking_records``; :mod:`analysis.tracking`) -----

# Photos sent with a monthly report: the file is ``<data folder>/tracking-photos/<sha256>``
# (never a name the sender chose); JPEG or PNG, decided from the bytes.
tracking_photos = sa.Table(
    "tracking_photos",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("tracking_reports.id"), nullable=False),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("content_type", sa.String(20), nullable=False),  # image/jpeg | image/png
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),  # as sent, shown only
    sa.Column("uploaded_at", _TIME, nullable=False),
    sa.Column("uploaded_by", sa.String(120), nullable=False),
    sa.Index("ix_tracking_photos_report", "report_id"),
)

# The weekly dispatch meeting (一周一调度, Liaocheng art. 23); problems raised there are
# ``tracking_problems`` with ``source_ref`` ``dispatch:<id>:<n>``.
tracking_dispatches = sa.Table(
    "tracking_dispatches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("held_on", sa.Date, nullable=False),
    sa.Column("week", sa.String(8), nullable=False),  # ISO week, 2026-W48
    sa.Column("attendees", sa.Text, nullable=False),  # JSON list
    sa.Column("decisions", sa.Text, nullable=False),
    sa.Column("recorded_at", _TIME, nullable=False),
    sa.Column("recorded_by", sa.String(120), nullable=False),
)

# The projects a dispatch meeting discussed, in its order (migration
# ``0015_dispatch_projects``, which replaced the JSON list ``tracking_dispatches.projects``).
tracking_dispatch_projects = sa.Table(
    "tracking_dispatch_projects",
    metadata,
    sa.Column("dispatch_id", sa.Integer, sa.ForeignKey("tracking_dispatches.id"),
              primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),  # 1, 2, … as listed
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Index("ix_tracking_dispatch_projects_project", "project_id", "dispatch_id"),
)

# The quarterly adjustment (一季一调整): projects moved into or out of the key library, or
# their plan re-set, each with its reason.
tracking_adjustments = sa.Table(
    "tracking_adjustments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("quarter", sa.String(7), nullable=False),  # 2026-Q4
    sa.Column("decided_on", sa.Date, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("recorded_at", _TIME, nullable=False),
    sa.Column("recorded_by", sa.String(120), nullable=False),
)

tracking_adjustment_items = sa.Table(
    "tracking_adjustment_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("adjustment_id", sa.Integer, sa.ForeignKey("tracking_adjustments.id"),
              nullable=False),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    sa.Column("action", sa.String(10), nullable=False),  # in | out | replan
    sa.Column("library", sa.String(40)),  # in / out: which library
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_tracking_adjustment_items_adjustment", "adjustment_id"),
)
