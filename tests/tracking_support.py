"""Helpers for the tracking tests: a module-scoped store per engine, China-time moments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from blueprint.analysis.clock import CST
from blueprint.layers.store import Store
from tests.conftest import ENGINES, make_store


def cn(text: str) -> datetime:
    """A moment given in China time (``2026-04-29 00:30``), in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=CST).astimezone(UTC)


@pytest.fixture(scope="module", params=ENGINES)
def tstore(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Store]:
    """One empty store per engine for the whole module (tests add their own projects)."""
    if request.param == "postgis":
        request.applymarker(pytest.mark.postgis)
    yield from make_store(str(request.param), tmp_path_factory.mktemp(f"t-{request.param}"))
