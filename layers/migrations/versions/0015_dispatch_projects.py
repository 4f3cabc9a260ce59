"""The projects of a weekly dispatch meeting (一周一调度) as rows of their own,
``tracking_dispatch_projects (dispatch_id, position, project_id)``, in place of the JSON
list of project codes in ``tracking_dispatches.projects``.

A project's dispatch meetings (its tracking page, ``GET /api/tracking/dispatches?project=``,
``blueprint tracking dispatches --project``) were found by a LIKE on that text, i.e. by
reading every meeting of the city; now through the index on ``project_id``. ``position``
keeps the order the meeting listed them in (1, 2, …). The table is append-only like the
meetings (``0009_tracking_records``): triggers refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL).

Upgrade: each meeting's JSON list becomes its rows (a code naming no project stops the
upgrade with its meeting and code), then the column goes: a plain DROP COLUMN on SQLite
(3.35+), not a batch rebuild, which would drop the meeting table's triggers. Downgrade
writes the lists back as JSON (the meetings' UPDATE trigger lifted for it).

Revision ID: 0015_dispatch_projects
"""

import json
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0015_dispatch_projects"
down_revision = "0014_ledger_origin_index"
branch_labels = None
depends_on = None

TABLE = "tracking_dispatch_projects"

_projects = sa.table("projects", sa.column("id", sa.Integer), sa.column("code", sa.String))
_dispatches = sa.table("tracking_dispatches", sa.column("id", sa.Integer),
                       sa.column("projects", sa.Text))
_links = sa.table(TABLE, sa.column("dispatch_id", sa.Integer),
                  sa.column("position", sa.Integer), sa.column("project_id", sa.Integer))


def _table() -> None:
    op.create_table(
        TABLE,
        sa.Column("dispatch_id", sa.Integer, sa.ForeignKey("tracking_dispatches.id"),
                  primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),  # 1, 2, … as listed
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
    )
    op.create_index("ix_tracking_dispatch_projects_project", TABLE,
                    ["project_id", "dispatch_id"])


def _triggers(postgres: bool) -> None:
    if postgres:  # records_append_only() comes from 0006_records
        op.execute(f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE}"
                   " FOR EACH ROW EXECUTE FUNCTION records_append_only()")
        op.execute(f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}"
                   " FOR EACH STATEMENT EXECUTE FUNCTION records_append_only()")
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER {TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE}"
                   f" BEGIN SELECT RAISE(ABORT, 'records are append-only: {action} on"
                   f" {TABLE} refused'); END")


def _copy_lists() -> None:
    """Each meeting's JSON list of codes as its rows, in the list's order."""
    conn = op.get_bind()
    ids = dict(conn.execute(sa.select(_projects.c.code, _projects.c.id)).all())
    rows = []
    for dispatch_id, text in conn.execute(sa.select(_dispatches.c.id, _dispatches.c.projects)
                                          .order_by(_dispatches.c.id)):
        for position, code in enumerate(json.loads(text), 1):
            if code not in ids:
                raise RuntimeError(f"dispatch meeting {dispatch_id} lists project {code!r},"
                                   " which does not exist: upgrade stopped, nothing changed")
            rows.append({"dispatch_id": dispatch_id, "position": position,
                         "project_id": ids[code]})
    if rows:
        conn.execute(_links.insert(), rows)


def upgrade() -> None:
    _table()
    _copy_lists()
    _triggers(op.get_bind().dialect.name == "postgresql")
    op.execute("ALTER TABLE tracking_dispatches DROP COLUMN projects")


def _write_lists_back(postgres: bool) -> None:
    """The meetings' projects as JSON lists of codes again (their UPDATE trigger lifted)."""
    conn = op.get_bind()
    lists: dict[int, list[str]] = defaultdict(list)
    for dispatch_id, code in conn.execute(
            sa.select(_links.c.dispatch_id, _projects.c.code)
            .join(_projects, _projects.c.id == _links.c.project_id)
            .order_by(_links.c.dispatch_id, _links.c.position)):
        lists[dispatch_id].append(code)
    if postgres:
        op.execute("ALTER TABLE tracking_dispatches DISABLE TRIGGER"
                   " tracking_dispatches_append_only")
    else:
        op.execute("DROP TRIGGER tracking_dispatches_no_update")
    for dispatch_id, codes in lists.items():
        conn.execute(_dispatches.update().where(_dispatches.c.id == dispatch_id).values(
            projects=json.dumps(codes, ensure_ascii=False)))
    if postgres:
        op.execute("ALTER TABLE tracking_dispatches ENABLE TRIGGER"
                   " tracking_dispatches_append_only")
    else:  # as 0009_tracking_records made it
        op.execute("CREATE TRIGGER tracking_dispatches_no_update BEFORE UPDATE ON"
                   " tracking_dispatches BEGIN SELECT RAISE(ABORT, 'records are append-only:"
                   " UPDATE on tracking_dispatches refused'); END")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # NOT NULL needs a default to add the column; PostgreSQL drops it again (SQLite cannot
    # without a rebuild of the table, which would drop its triggers)
    op.execute("ALTER TABLE tracking_dispatches ADD COLUMN projects TEXT NOT NULL DEFAULT '[]'")
    _write_lists_back(postgres)
    if postgres:
        op.execute("ALTER TABLE tracking_dispatches ALTER COLUMN projects DROP DEFAULT")
    for name in ("append_only", "no_truncate", "no_update", "no_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{name}" + (f" ON {TABLE}" if postgres else ""))
    op.drop_index("ix_tracking_dispatch_projects_project", table_name=TABLE)
    op.drop_table(TABLE)
