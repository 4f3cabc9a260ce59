"""``blueprint db upgrade``: the database schema."""

from __future__ import annotations

import typer

from blueprint.service.cli.console import out

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema (idempotent); creates the postgis extension if missing."""
    from blueprint.layers.store import upgrade
    from blueprint.service.context import store_from_settings
    from blueprint.service.settings import get_settings

    store = store_from_settings(get_settings(), migrate=False)
    revision = upgrade(store)
    out.print(f"schema at revision {revision} ({store.engine_name})")
