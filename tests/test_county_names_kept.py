"""The ledger's county names (:func:`analysis.quota.ledger.county_names`, asked by every
vetting with quota demands and on the quota pages) are kept per engine and read again
only when a county reserve, a grant or a reversal is added or the boundary layer changes
(:mod:`analysis.quota.kept_names`): one small statement a call instead of reading and
parsing every grant. A grant, a rename by a top-up grant, its reversal and a new boundary
version are seen at once, also when another :class:`Store` (another engine, as another
process) made them; a transaction that may write reads them afresh. Both engines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from quota_support import CITY, T0

from blueprint.analysis import quota
from blueprint.analysis.quota.ledger import county_names
from blueprint.layers.store import Store, open_store
from tests.statements_support import statements_run
from tests.test_county_identity import _boundary


def _names(store: Store) -> tuple[dict[str, str], int]:
    """County names read as the pages read them (a reading connection) and how many
    statements that took."""
    with store.read() as conn, statements_run(store) as run:
        return county_names(conn), len(_selects(run))


@pytest.fixture
def other(store: Store) -> Iterator[Store]:
    """A second store over the same database: its own engine and pool, as another process
    (the service's workers, the CLI) would have."""
    second = open_store(store.database_url, store.data_dir, migrate=False)
    yield second
    second.close()


def _granter(store: Store) -> Callable[..., dict[str, Any]]:
    days = iter(range(1, 100))

    def grant(county: str, name: str | None, key: str) -> dict[str, Any]:
        return quota.grant(year=2026, kind="land", county=county, amount="10", user=CITY,
                           reason="下达", key=key, store=store, county_name=name,
                           at=T0 + timedelta(days=next(days)))
    return grant


def test_kept_names_are_read_once_and_every_change_is_seen_at_once(
        store: Store, other: Store, tmp_path: Path) -> None:
    grant = _granter(other)
    _boundary(other, tmp_path, {"990001": "甲县"}, "v1.gpkg")
    grant("990001", None, "g1")
    grant("990002", "乙县", "g2")
    expected = {"990001": "甲县", "990002": "乙县"}
    first, statements = _names(store)
    assert (first, statements > 1) == (expected, True)  # read: reserves, grants, layer
    assert _names(store) == (expected, 1)  # kept: only the one change marker
    assert _names(store) == (expected, 1)

    grant("990003", "丙县", "g3")  # a new county, granted through the other store
    assert _names(store)[0] == {**expected, "990003": "丙县"}
    top_up = grant("990002", "乙区", "g4")  # a top-up grant renaming 乙县
    assert _names(store)[0] == {**expected, "990003": "丙县", "990002": "乙区"}
    assert _names(other)[0]["990002"] == "乙区"
    quota.reverse(operation_id=top_up["operation_id"], user=CITY, reason="名称填错",
                  key="undo", store=other, at=T0 + timedelta(days=50))
    assert _names(store)[0] == {**expected, "990003": "丙县"}  # the rename undone
    assert _names(store)[1] == 1
    _boundary(other, tmp_path, {"990001": "甲区", "990003": "丙区"}, "v2.gpkg")
    assert _names(store)[0] == {"990001": "甲区", "990002": "乙县", "990003": "丙区"}
    assert _names(other)[0] == {"990001": "甲区", "990002": "乙县", "990003": "丙区"}


def test_a_transaction_that_may_write_reads_the_names_afresh(store: Store) -> None:
    """What a writing transaction sees may roll back: it neither uses nor keeps names."""
    _granter(store)("990001", "甲县", "g1")
    _names(store)
    assert _names(store) == ({"990001": "甲县"}, 1)  # kept for readers
    with store.engine.begin() as conn:
        for _ in range(2):
            with statements_run(store) as run:
                assert county_names(conn) == {"990001": "甲县"}
            assert len(_selects(run)) > 1, run  # read afresh each time, not the marker only


def _selects(run: list[str]) -> list[str]:
    return [s for s in run if s.lstrip().upper().startswith(("SELECT", "WITH"))]
