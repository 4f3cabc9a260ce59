"""Records a bureau can trust: append-only history, a hash-chained audit log, token expiry.

- ``audit_log`` gains ``prev_hash`` and ``hash`` (:mod:`layers.audit_chain`); rows already
  there are chained here, in id order.
- Triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on the audit log and the
  history tables of projects and consultation (:data:`APPEND_ONLY`), as ``0002_quota``
  does for the ledger.
- ``users``: DELETE is refused, and so is any change of who a user is (name, role, county,
  department, created_at); what the code changes (active, token, password, expiry) it
  changes with an audit row in the same transaction. ``token_expires_at`` is new.
- ``layers`` keeps every version (``layer_name``, ``version``, ``current``, ``checksum``,
  ``superseded_at``): a re-import adds a row instead of replacing the features.

SQLite drops a table's triggers when Alembic's ``batch_alter_table`` rebuilds it: a later
migration that batch-alters one of these tables must create its triggers again.

Revision ID: 0006_records
"""

import sqlalchemy as sa
from alembic import op

from blueprint.layers.audit_chain import GENESIS, row_hash

revision = "0006_records"
down_revision = "0005_sessions"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_log", "project_stages", "project_sites", "project_reports", "opinions")
USER_IDENTITY = ("name", "role", "county", "department", "created_at")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'records are append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$
"""

PG_USERS_FUNCTION = """
CREATE OR REPLACE FUNCTION users_identity_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.name IS DISTINCT FROM OLD.name OR NEW.role IS DISTINCT FROM OLD.role
     OR NEW.county IS DISTINCT FROM OLD.county
     OR NEW.department IS DISTINCT FROM OLD.department
     OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'records are append-only: a user''s name, role, county, department'
      ' and creation time cannot change' USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$
"""


PG_LAYERS_FUNCTION = """
CREATE OR REPLACE FUNCTION layer_versions_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE superseded boolean;
BEGIN
  IF TG_TABLE_NAME = 'layers' THEN
    superseded := NOT OLD.current;
  ELSE
    superseded := EXISTS (SELECT 1 FROM layers l WHERE l.id = OLD.layer_id AND NOT l.current);
  END IF;
  IF superseded THEN
    RAISE EXCEPTION 'records are append-only: % of a superseded layer version refused',
      TG_OP USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$
"""


def _layer_version_triggers(postgres: bool) -> None:
    """A superseded layer version (row and features) can no longer change or go."""
    if postgres:
        op.execute(PG_LAYERS_FUNCTION)
        for table in ("layers", "layer_features"):
            op.execute(f"CREATE TRIGGER {table}_versions_fixed BEFORE UPDATE OR DELETE ON"
                       f" {table} FOR EACH ROW EXECUTE FUNCTION layer_versions_fixed()")
        return
    superseded = {"layers": "NOT OLD.current",
                  "layer_features": "(SELECT NOT current FROM layers WHERE id = OLD.layer_id)"}
    for table, when in superseded.items():
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_versions_no_{action.lower()} BEFORE {action}"
                       f" ON {table} WHEN {when} BEGIN SELECT RAISE(ABORT, 'records are"
                       f" append-only: {action} of a superseded layer version refused'); END")


def _chain_existing_rows() -> None:
    conn = op.get_bind()
    log = sa.table("audit_log", sa.column("id", sa.Integer),
                   sa.column("at", sa.DateTime(timezone=True)), sa.column("actor", sa.String),
                   sa.column("action", sa.String), sa.column("object", sa.String),
                   sa.column("project", sa.String), sa.column("detail", sa.Text),
                   sa.column("prev_hash", sa.String), sa.column("hash", sa.String))
    prev = GENESIS
    for r in conn.execute(sa.select(log).order_by(log.c.id)).all():
        digest = row_hash(prev, at=r.at, actor=r.actor, action=r.action, obj=r.object,
                          project=r.project, detail=r.detail)
        conn.execute(log.update().where(log.c.id == r.id).values(prev_hash=prev, hash=digest))
        prev = digest


def _layer_versions() -> None:
    op.add_column("layers", sa.Column("layer_name", sa.String(200)))
    op.add_column("layers", sa.Column("version", sa.Integer, nullable=False,
                                      server_default="1"))
    op.add_column("layers", sa.Column("current", sa.Boolean, nullable=False,
                                      server_default=sa.true()))
    op.add_column("layers", sa.Column("checksum", sa.String(64)))
    op.add_column("layers", sa.Column("superseded_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE layers SET layer_name = name")
    op.create_index("ix_layers_layer_name_version", "layers", ["layer_name", "version"],
                    unique=True)


def _triggers(postgres: bool) -> None:
    if postgres:
        op.execute(PG_FUNCTION)
        op.execute(PG_USERS_FUNCTION)
        for table in (*APPEND_ONLY, "users"):
            events = "UPDATE OR DELETE" if table != "users" else "DELETE"
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE {events} ON {table}"
                       " FOR EACH ROW EXECUTE FUNCTION records_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
                       " FOR EACH STATEMENT EXECUTE FUNCTION records_append_only()")
        op.execute("CREATE TRIGGER users_identity_fixed BEFORE UPDATE ON users"
                   " FOR EACH ROW EXECUTE FUNCTION users_identity_fixed()")
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}"
                       f" BEGIN SELECT RAISE(ABORT, 'records are append-only: {action} on"
                       f" {table} refused'); END")
    op.execute("CREATE TRIGGER users_no_delete BEFORE DELETE ON users BEGIN SELECT"
               " RAISE(ABORT, 'records are append-only: DELETE on users refused'); END")
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in USER_IDENTITY)
    op.execute(f"CREATE TRIGGER users_identity_fixed BEFORE UPDATE ON users WHEN {changed}"
               " BEGIN SELECT RAISE(ABORT, 'records are append-only: a user''s name, role,"
               " county, department and creation time cannot change'); END")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(64)))
    op.add_column("audit_log", sa.Column("hash", sa.String(64)))
    op.add_column("users", sa.Column("token_expires_at", sa.DateTime(timezone=True)))
    _layer_versions()
    _chain_existing_rows()
    _triggers(postgres)
    _layer_version_triggers(postgres)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in (*APPEND_ONLY, "users"):
        for name in ("append_only", "no_truncate", "no_update", "no_delete", "identity_fixed"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{name}"
                       + (f" ON {table}" if postgres else ""))
    for table in ("layers", "layer_features"):
        for name in ("versions_fixed", "versions_no_update", "versions_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{name}"
                       + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS layer_versions_fixed()")
        op.execute("DROP FUNCTION IF EXISTS records_append_only()")
        op.execute("DROP FUNCTION IF EXISTS users_identity_fixed()")
    op.drop_index("ix_layers_layer_name_version", "layers")
    with op.batch_alter_table("layers") as batch:
        for column in ("superseded_at", "checksum", "current", "version", "layer_name"):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_expires_at")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
