"""Alembic environment: the connection is always passed in by :mod:`layers.store`."""

from alembic import context

from layers.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
