"""Site search reads the hot standby (docs/scaling.md: "new read-only endpoints (site search,
tiles) should take ``ReadStoreDep``"): ``POST /api/site-search`` and ``blueprint site-search``
vet their ~20 candidates on the replica, not the primary, and answer what the primary would.

Needs the local standby of ``tests/test_read_replica.py`` (``BLUEPRINT_TEST_READ_DATABASE_URL``).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from test_read_replica import (  # noqa: F401  (fixtures)
    replica_url_for,
    replicated,
    standby,
    statements,
)
from typer.testing import CliRunner

from blueprint.analysis.site_search import SearchRequest, result_json, search_sites
from blueprint.layers.store import Store
from blueprint.service.api.responses import ApiJSONResponse
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

pytestmark = pytest.mark.postgis
BODY = {"area_m2": 120000, "county": "371502", "top": 3}


def _without_moments(doc: dict) -> dict:
    """The answer less what differs between two runs of one search (when it was made)."""
    for cand in doc["candidates"]:
        cand["report"].pop("generated_at", None)
    return doc


@pytest.mark.parametrize("engine_name", ["postgis"])
def test_site_search_reads_the_replica_not_the_primary(
        replicated: Store, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    sample = replicated
    expected = _without_moments(json.loads(ApiJSONResponse(result_json(search_sites(
        SearchRequest(area_m2=120000, county="371502", top=3), store=sample))).body))
    assert expected["candidates"]
    settings = Settings(database_url=sample.database_url, data_dir=sample.data_dir,
                        read_database_url=replica_url_for(sample))
    with TestClient(create_app(settings)) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        with statements(store.engine, store.replica.engine) as counts:
            answer = client.post("/api/site-search", json=BODY)
        assert answer.status_code == 200, answer.text
        assert _without_moments(answer.json()) == expected
        assert counts[0] == 0 and counts[1] > 0, counts  # nothing of it read the primary

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", sample.database_url)
    monkeypatch.setenv("BLUEPRINT_READ_DATABASE_URL", replica_url_for(sample))
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(sample.data_dir))
    from blueprint.service.cli import app

    engines: list[sa.Engine] = []
    hook = lambda conn, *_: engines.append(conn.engine)  # noqa: E731
    sa.event.listen(sa.Engine, "before_cursor_execute", hook)
    try:
        done = CliRunner().invoke(app, ["site-search", "--area", "12ha", "--county", "371502",
                                        "--top", "3", "--format", "json"])
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", hook)
    assert done.exit_code == 0, done.output
    assert _without_moments(json.loads(done.stdout)) == expected
    # the candidates are vetted on the standby; the primary only opens the store and says
    # whether it has layers
    on = Counter("replica" if e.url.port == make_url(replica_url_for(sample)).port else "primary"
                 for e in engines)
    assert on["replica"] > on["primary"], on
