"""Alembic environment: the connection is always passed in by :mod:`layers.store`."""

from alembic import context

from blueprint.layers.schema import include_object, metadata

connection = context.config.attributes["connection"]
postgres = connection.dialect.name == "postgresql"
# Keep the version table in the schema the tables go to (the first on the search_path), so
# that one database can hold several blueprints (e.g. one schema per test).
schema = connection.exec_driver_sql("SELECT current_schema()").scalar() if postgres else None
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=not postgres, version_table_schema=schema,
                  include_object=include_object)
with context.begin_transaction():
    context.run_migrations()
