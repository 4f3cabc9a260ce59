"""The current layer version is a record too (issue 12).

``0006_records`` froze superseded layer versions; the current one could still be edited
or deleted in SQL. From here on, on both engines:

- a ``layers`` row can change in one way only: the current version is superseded (by a
  re-import or by ``blueprint layers remove``): ``current`` true → false, ``superseded_at``
  set, and ``name`` renamed ``LAYER_NAME@vN``; every other column stays as imported;
- no ``layers`` row is ever deleted (removing a layer supersedes its current version, so a
  past report still finds the features it used);
- ``layer_features`` rows never change or go, current or not;
- TRUNCATE of either table is refused on PostgreSQL.

The records of the projects issue whose rows carry a current state (a project's stage and
site, a round's status, a department's place in a round, a meeting item's decision) are
changed through the code only, each change audited; from here on none of those rows can be
deleted (or truncated), and the columns that say what the row is and who made it when
never change (:data:`STATE_IDENTITY`).

Revision ID: 0008_layer_current_fixed
"""

from alembic import op

revision = "0008_layer_current_fixed"
down_revision = "0007_tracking"
branch_labels = None
depends_on = None

# every column but the three a supersede may set (name, current, superseded_at); frozen here
FIXED = ("id", "kind", "title", "feature_count", "minx", "miny", "maxx", "maxy",
         "source_file", "source_crs", "encoding", "repaired_count", "raster_path", "bands",
         "imported_at", "imported_by", "layer_name", "version", "checksum")

SUPERSEDE_ONLY = ("OLD.current AND NOT NEW.current AND NEW.superseded_at IS NOT NULL"
                  " AND NEW.name = OLD.layer_name || '@v' || OLD.version AND "
                  + " AND ".join(f"NEW.{c} IS {{same}} OLD.{c}" for c in FIXED))

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION layer_versions_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'layers' THEN
    IF {SUPERSEDE_ONLY.format(same='NOT DISTINCT FROM')} THEN
      RETURN NEW;
    END IF;
    RAISE EXCEPTION 'records are append-only: a layer version can only be superseded'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RAISE EXCEPTION 'records are append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'integrity_constraint_violation';
END $$
"""

# 0006's function, restored by downgrade
PG_FUNCTION_0006 = """
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

TABLES = ("layers", "layer_features")
SQLITE_0006 = {"layers": "NOT OLD.current",
               "layer_features": "(SELECT NOT current FROM layers WHERE id = OLD.layer_id)"}


# rows whose state changes (audited, through the code): never deleted; identity fixed
STATE_IDENTITY = {
    "projects": ("id", "code", "year", "seq", "created_at", "created_by"),
    "consultation_rounds": ("id", "project_id", "number", "started_on", "started_at",
                            "started_by"),
    "round_departments": ("id", "round_id", "department", "how", "why", "added_at",
                          "added_by"),
    "meeting_items": ("id", "project_id", "round_id", "problem", "listed_at", "listed_by"),
}

PG_IDENTITY_FUNCTION = """
CREATE OR REPLACE FUNCTION records_identity_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE column_name text;
BEGIN
  FOREACH column_name IN ARRAY TG_ARGV LOOP
    IF to_jsonb(NEW) -> column_name IS DISTINCT FROM to_jsonb(OLD) -> column_name THEN
      RAISE EXCEPTION 'records are append-only: %.% cannot change', TG_TABLE_NAME,
        column_name USING ERRCODE = 'integrity_constraint_violation';
    END IF;
  END LOOP;
  RETURN NEW;
END $$
"""
# records_append_only() comes from 0006_records


def _state_triggers(postgres: bool) -> None:
    if postgres:
        op.execute(PG_IDENTITY_FUNCTION)
        for table, columns in STATE_IDENTITY.items():
            args = ", ".join(f"'{c}'" for c in columns)
            op.execute(f"CREATE TRIGGER {table}_identity_fixed BEFORE UPDATE ON {table}"
                       f" FOR EACH ROW EXECUTE FUNCTION records_identity_fixed({args})")
            op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}"
                       " FOR EACH ROW EXECUTE FUNCTION records_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
                       " FOR EACH STATEMENT EXECUTE FUNCTION records_append_only()")
        return
    for table, columns in STATE_IDENTITY.items():
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)
        op.execute(f"CREATE TRIGGER {table}_identity_fixed BEFORE UPDATE ON {table} WHEN"
                   f" {changed} " + _raise(f"what a {table} row is and who made it when"
                                           " cannot change"))
        op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                   + _raise(f"DELETE on {table} refused"))


def _drop_state_triggers(postgres: bool) -> None:
    for table in STATE_IDENTITY:
        for name in ("identity_fixed", "no_delete", "no_truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{name}"
                       + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS records_identity_fixed()")


def _raise(message: str) -> str:
    return f"BEGIN SELECT RAISE(ABORT, 'records are append-only: {message}'); END"


def _upgrade_sqlite() -> None:
    for table in TABLES:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_versions_no_{action}")
    op.execute("CREATE TRIGGER layers_versions_no_update BEFORE UPDATE ON layers WHEN NOT ("
               + SUPERSEDE_ONLY.format(same="") + ") "
               + _raise("a layer version can only be superseded"))
    op.execute("CREATE TRIGGER layers_versions_no_delete BEFORE DELETE ON layers "
               + _raise("DELETE on layers refused"))
    for action in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER layer_features_versions_no_{action.lower()} BEFORE {action}"
                   f" ON layer_features " + _raise(f"{action} on layer_features refused"))


def _upgrade_postgres() -> None:
    op.execute(PG_FUNCTION)  # replaces 0006's function; its row triggers stay and call this
    for table in TABLES:
        op.execute(f"CREATE TRIGGER {table}_versions_no_truncate BEFORE TRUNCATE ON {table}"
                   " FOR EACH STATEMENT EXECUTE FUNCTION layer_versions_fixed()")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        _upgrade_postgres()
    else:
        _upgrade_sqlite()
    _state_triggers(postgres)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _drop_state_triggers(postgres)
    if postgres:
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_versions_no_truncate ON {table}")
        op.execute(PG_FUNCTION_0006)
        return
    for table in TABLES:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_versions_no_{action}")
    for table, when in SQLITE_0006.items():
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_versions_no_{action.lower()} BEFORE {action}"
                       f" ON {table} WHEN {when} BEGIN SELECT RAISE(ABORT, 'records are"
                       f" append-only: {action} of a superseded layer version refused'); END")
