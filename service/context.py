"""Opening the configured store at the edge (CLI and service share this)."""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from blueprint.analysis.rules import Rules
    from blueprint.analysis.site import SiteLimits
    from blueprint.layers.store import Store
    from blueprint.service.settings import Settings


def store_from_settings(settings: Settings, *, migrate: bool = True) -> Store:
    """Open the engine the settings choose: PostGIS if a URL is set, else embedded; with
    ``BLUEPRINT_READ_DATABASE_URL`` also its read replica (:func:`reading_store`)."""
    from blueprint.layers.store import open_store

    return open_store(settings.database_url, settings.data_dir, pool_size=settings.pool_size,
                      migrate=migrate, read_url=settings.read_database_url)


def reading_store(store: Store, *, ledger: bool = False) -> Store:
    """The store a read-only command or request hands to the core: the routing rule.

    Vetting, site search, the layer catalogue, features and the map read the replica
    (``BLUEPRINT_READ_DATABASE_URL``) when there is one: they may be a moment behind the
    last commit. The quota ledger, projects and consultation records, the audit log and
    users, every write, and every read after a write in the same command or request stay
    on ``store``, the primary: those edges never call this. ``ledger=True`` (a vet with
    quota demands reads the county's balances) keeps the primary too. Without a replica
    this is ``store`` itself (docs/scaling.md).
    """
    return store if ledger else store.for_reads()


def rules_from_settings(settings: Settings, override: str | None = None) -> Rules:
    """The vetting rules: an explicit file, BLUEPRINT_RULES_FILE, or the packaged defaults."""
    from blueprint.analysis.rules import load_rules

    return load_rules(override or settings.rules_file)


def site_limits(settings: Settings) -> SiteLimits:
    """The site size limits the settings set (``BLUEPRINT_MAX_SITE_VERTICES``/``_PARTS``/
    ``_HA``)."""
    from blueprint.analysis.site import SiteLimits

    return SiteLimits.of(settings)


def store_location(settings: Settings) -> str:
    """Where the store is, for a person: the data folder's absolute path or the database."""
    if settings.database_url:
        from sqlalchemy.engine import make_url

        url = make_url(settings.database_url)
        return f"PostgreSQL {url.host or 'localhost'}:{url.port or 5432}/{url.database}"
    return str(settings.data_dir.resolve())


def command_origin() -> dict[str, str | None]:
    """What a CLI command's audit rows record beside the actor: the OS user always, and the
    actor BLUEPRINT_ACTOR declared (anyone at the keyboard can declare any name)."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = "unknown"
    return {"via": "cli", "os_user": os_user,
            "declared_actor": os.environ.get("BLUEPRINT_ACTOR") or None}


def local_actor() -> str:
    """Who runs the CLI: BLUEPRINT_ACTOR or the OS user."""
    try:
        return os.environ.get("BLUEPRINT_ACTOR") or f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"
