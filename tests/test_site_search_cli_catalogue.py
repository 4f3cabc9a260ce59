"""``blueprint site-search`` reads the layer catalogue once: the list it checks for being
empty is kept in the store (``current_layers``, as the vetting keeps it) and the search's
allowed region, its land bank and each candidate's vetting take it from there, where each
had listed the layers again. The county, given by its name, is resolved among them. The
real command (``CliRunner``) on the synthetic blueprint, both engines."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from blueprint.layers.store import Store
from blueprint.service.cli import app
from tests.test_site_search import synthetic_stores  # noqa: F401  (fixture)
from tests.test_vet_cli_county import _catalogue_lists


def test_site_search_lists_the_layers_once(
        synthetic_stores: Callable[[str], Store],  # noqa: F811
        engine_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = synthetic_stores(engine_name)
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    monkeypatch.delenv("BLUEPRINT_READ_DATABASE_URL", raising=False)
    with _catalogue_lists() as seen:
        done = CliRunner().invoke(app, ["site-search", "--area", "12ha", "--county", "东昌府区",
                                        "--top", "3", "--format", "json"])
    assert done.exit_code == 0, (done.output, done.exception)
    found = json.loads(done.stdout)
    assert found["candidates"], found["blocked_zh"]
    assert {c["report"]["county"] for c in found["candidates"]} == {"371502"}
    assert len(seen) == 1, seen
