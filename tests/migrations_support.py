"""Taking a test's store down to an older migration (the upgrade back is
``blueprint.layers.store.upgrade``)."""

from __future__ import annotations

from blueprint.layers.store import MIGRATIONS, Store


def downgrade(store: Store, revision: str) -> None:
    """Downgrade ``store`` to ``revision``, in one transaction."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
