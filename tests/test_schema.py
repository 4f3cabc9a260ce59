"""One schema: the MetaData the migrations see is the whole database, quota tables too."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from blueprint.analysis.quota import tables as quota_tables
from blueprint.layers.schema import include_object, metadata
from blueprint.layers.store import Store


def test_quota_tables_live_on_the_one_metadata() -> None:
    assert quota_tables.metadata is metadata
    for table in (quota_tables.accounts, quota_tables.operations, quota_tables.entries):
        assert table.metadata is metadata
    assert {"layers", "layer_features", "audit_log", "users", "quota_accounts",
            "quota_operations", "quota_entries"} <= set(metadata.tables)


def _table_changes(diff: list[Any]) -> list[tuple[str, str]]:
    """Tables an autogenerate diff would add or drop."""
    flat = [d for item in diff for d in (item if isinstance(item, list) else [item])]
    return [(d[0], d[1].name) for d in flat
            if d[0] in ("add_table", "remove_table")]


def test_autogenerate_sees_no_table_to_add_or_drop(store: Store) -> None:
    """After ``upgrade head``, autogenerate (configured as in env.py) adds or drops nothing."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, metadata)
    assert _table_changes(diff) == []


def _index_and_column_changes(diff: list[Any]) -> list[tuple[str, str, str]]:
    """Indexes and columns an autogenerate diff would add or drop: (what, table, name)."""
    flat = [d for item in diff for d in (item if isinstance(item, list) else [item])]
    found = [(d[0], d[1].table.name, d[1].name) for d in flat
             if d[0] in ("add_index", "remove_index")]
    return found + [(d[0], d[2], d[3].name) for d in flat
                    if d[0] in ("add_column", "remove_column")]


def test_autogenerate_sees_no_index_or_column_to_add_or_drop(store: Store) -> None:
    """The indexes and columns the migrations made are those ``layers/schema.py`` names
    (the ledger's indexes, the dispatch meetings' join table and their dropped JSON list)."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, metadata)
    assert _index_and_column_changes(diff) == []
