"""``tracking_problems.dispatch_id``: the dispatch meeting a problem was raised at, indexed,
so a meeting's problems (each listed meeting shows them) are found through the index, not
by a LIKE on ``source_ref`` (``dispatch:<id>:<n>``) over every problem raised at a meeting.

``source_ref`` stays as it is, the key that makes raising a problem idempotent. The upgrade
fills the column from it for the problems raised before (their UPDATE trigger lifted for
it, as the table is append-only). No foreign key: SQLite cannot drop a column that has one
without rebuilding the table, which would drop its triggers; the id is written in the
transaction that writes the meeting.

Revision ID: 0016_problem_dispatch
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_problem_dispatch"
down_revision = "0015_dispatch_projects"
branch_labels = None
depends_on = None

_problems = sa.table("tracking_problems", sa.column("id", sa.Integer),
                     sa.column("source_ref", sa.String), sa.column("dispatch_id", sa.Integer))


def _fill(postgres: bool) -> None:
    """``dispatch_id`` of the problems raised at a meeting, read from ``source_ref``."""
    conn = op.get_bind()
    found = conn.execute(sa.select(_problems.c.id, _problems.c.source_ref).where(
        _problems.c.source_ref.like("dispatch:%"))).all()
    if not found:
        return
    if postgres:
        op.execute("ALTER TABLE tracking_problems DISABLE TRIGGER tracking_problems_append_only")
    else:
        op.execute("DROP TRIGGER tracking_problems_no_update")
    for problem_id, ref in found:
        conn.execute(_problems.update().where(_problems.c.id == problem_id).values(
            dispatch_id=int(ref.split(":")[1])))
    if postgres:
        op.execute("ALTER TABLE tracking_problems ENABLE TRIGGER tracking_problems_append_only")
    else:  # as 0007_tracking made it
        op.execute("CREATE TRIGGER tracking_problems_no_update BEFORE UPDATE ON"
                   " tracking_problems BEGIN SELECT RAISE(ABORT, 'records are append-only:"
                   " UPDATE on tracking_problems refused'); END")


def upgrade() -> None:
    # a plain ADD COLUMN, not a batch rebuild: that would drop the table's triggers
    op.execute("ALTER TABLE tracking_problems ADD COLUMN dispatch_id INTEGER")
    _fill(op.get_bind().dialect.name == "postgresql")
    op.create_index("ix_tracking_problems_dispatch", "tracking_problems", ["dispatch_id"])


def downgrade() -> None:
    op.drop_index("ix_tracking_problems_dispatch", table_name="tracking_problems")
    op.execute("ALTER TABLE tracking_problems DROP COLUMN dispatch_id")
