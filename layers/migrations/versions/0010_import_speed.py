"""PostGIS imports stream straight into ``layer_features`` and ``layer_features_sub`` (issue
14): their reference to ``layers`` is checked once per statement, at commit, instead of
row by row.

The two foreign keys ``layer_features.layer_id`` and ``layer_features_sub.layer_id`` →
``layers.id`` cost one lookup of the layer row per feature and per piece (4.4 s of server
CPU per 10^6 rows each, measured on this machine: 8.8 of the 29.5 s of server CPU of an
import of 10^6 parcels), and an immediate check made an import keep its rows in a
temporary table until the layer row existed, then copy them over in two long statements
after the file was read. In their place:

- a statement trigger on each table (``AFTER INSERT`` and ``AFTER UPDATE``, with the
  statement's new rows as a transition table) notes the distinct layer ids it wrote in
  ``layer_feature_checks``;
- a deferred constraint trigger on that table checks each noted id at commit: the layer
  row must exist (``foreign_key_violation`` otherwise, the transaction rolls back), and
  is locked ``FOR KEY SHARE`` as a foreign key would lock it;
- ``ON DELETE CASCADE``: a trigger on ``layers`` deletes the rows of a deleted layer
  (a layer row is never deleted today: ``layer_versions_fixed`` refuses it).

And ``layer_features`` loses its GiST index (6.4 s of server CPU per 10^6 features
inserted into it, entry by entry): tiles and feature pages find features through their
pieces' GiST in ``layer_features_sub`` (``sql/tile.sql``, ``PostgisBackend.page_features``),
which every feature has and the overlay uses already.

So a transaction may write a layer's features before its layer row (an import reserves
the id from the sequence), as with a deferred foreign key, at the cost of one check per
statement. SQLite keeps its foreign keys (deferred there already).

Revision ID: 0010_import_speed
"""

from alembic import op

revision = "0010_import_speed"
down_revision = "0009_tracking_records"
branch_labels = None
depends_on = None

TABLES = ("layer_features", "layer_features_sub")

UPGRADE = """
CREATE TABLE layer_feature_checks (layer_id integer NOT NULL);
COMMENT ON TABLE layer_feature_checks IS
  'layer ids written to layer_features(_sub) by an open transaction, checked at its commit';

CREATE FUNCTION layer_features_note_layers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO layer_feature_checks (layer_id) SELECT DISTINCT layer_id FROM new_rows;
  RETURN NULL;
END $$;

CREATE FUNCTION layer_features_check_layer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM layers WHERE id = NEW.layer_id FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'layer features refer to layer %, which does not exist', NEW.layer_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  DELETE FROM layer_feature_checks WHERE layer_id = NEW.layer_id;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER layer_feature_checks_layer_exists
  AFTER INSERT ON layer_feature_checks DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION layer_features_check_layer();

CREATE FUNCTION layers_delete_features() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM layer_features_sub WHERE layer_id = OLD.id;
  DELETE FROM layer_features WHERE layer_id = OLD.id;
  RETURN NULL;
END $$;

CREATE TRIGGER layers_delete_features AFTER DELETE ON layers
  FOR EACH ROW EXECUTE FUNCTION layers_delete_features();
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS layers_delete_features ON layers;
DROP FUNCTION IF EXISTS layers_delete_features();
DROP TABLE IF EXISTS layer_feature_checks;
DROP FUNCTION IF EXISTS layer_features_check_layer();
DROP FUNCTION IF EXISTS layer_features_note_layers();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(UPGRADE)
    op.execute("DROP INDEX IF EXISTS ix_layer_features_geom")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_layer_id_fkey")
        for event in ("INSERT", "UPDATE"):
            op.execute(f"CREATE TRIGGER {table}_note_layers_{event.lower()} AFTER {event}"
                       f" ON {table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
                       " EXECUTE FUNCTION layer_features_note_layers()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_note_layers_{event} ON {table}")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_layer_id_fkey FOREIGN KEY"
                   " (layer_id) REFERENCES layers(id) ON DELETE CASCADE")
    op.execute(DOWNGRADE)
    op.execute("CREATE INDEX IF NOT EXISTS ix_layer_features_geom ON layer_features"
               " USING gist (geom)")
