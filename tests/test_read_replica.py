"""A read replica (docs/scaling.md): vetting, the catalogue and the map read a hot standby
(``BLUEPRINT_READ_DATABASE_URL``); the ledger, records and every write go to the primary.

Needs the local hot standby that ``.ci/replica.sh`` starts (port 5433) and
``BLUEPRINT_TEST_READ_DATABASE_URL`` naming it; under ``CI=true`` (``tests/run.sh`` starts
it) a missing standby is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import IN_CI, SAMPLE
from fastapi.testclient import TestClient
from helpers import box, frame, write
from quota_support import register_fixed_projects
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from blueprint.analysis.quota.balances import balances
from blueprint.analysis.site import read_site, site_from_geojson
from blueprint.analysis.vetting import VetRequest, to_json, vet_site
from blueprint.layers.errors import BadInput
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import list_layers
from blueprint.layers.store import READ_APPLICATION_NAME, Store, open_replica
from blueprint.layers.users import create_user
from blueprint.service.api.responses import ApiJSONResponse
from blueprint.service.app import create_app
from blueprint.service.context import reading_store
from blueprint.service.settings import Settings, get_settings

pytestmark = pytest.mark.postgis
SITES = ["02_redline_conflict.txt", "03_farmland.txt", "10_commercial_on_residential.geojson"]


def replica_base_url() -> str:
    """The standby's URL; skip locally (saying how to start it), fail under CI."""
    url = os.environ.get("BLUEPRINT_TEST_READ_DATABASE_URL")
    if not url:
        if IN_CI:
            pytest.fail("CI=true but BLUEPRINT_TEST_READ_DATABASE_URL is not set: tests/run.sh "
                        "starts the standby (.ci/replica.sh) and sets it")
        pytest.skip("read-replica tests need a hot standby: run `bash .ci/replica.sh` (as root; "
                    "adds one on 127.0.0.1:5433, never touches the main cluster) and export "
                    "BLUEPRINT_TEST_READ_DATABASE_URL=postgresql://postgres:postgres@"
                    "127.0.0.1:5433/blueprint_test")
    return url


def replica_url_for(primary: Store) -> str:
    """The standby's URL with the primary store's options (its test schema)."""
    base, own = make_url(replica_base_url()), make_url(primary.database_url)
    return base.set(query=own.query).render_as_string(hide_password=False)


def wait_replayed(primary: Store, replica: Store, timeout: float = 20.0) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    with primary.engine.connect() as conn:
        lsn = conn.execute(sa.text("SELECT pg_current_wal_lsn()::text")).scalar_one()
    deadline = time.monotonic() + timeout
    with replica.engine.connect() as conn:
        while not conn.execute(sa.text("SELECT pg_last_wal_replay_lsn() >= CAST(:l AS pg_lsn)"),
                               {"l": lsn}).scalar_one():
            assert time.monotonic() < deadline, f"the standby did not replay {lsn} in time"
            time.sleep(0.02)
            conn.rollback()


@contextmanager
def statements(*engines: sa.Engine) -> Iterator[Counter[int]]:
    """Count the SQL statements each engine runs inside the block (by position)."""
    counts: Counter[int] = Counter()

    def counter(position: int) -> Callable[..., None]:
        return lambda *_: counts.update([position])

    hooks = [(engine, counter(i)) for i, engine in enumerate(engines)]
    for engine, hook in hooks:
        sa.event.listen(engine, "before_cursor_execute", hook)
    try:
        yield counts
    finally:
        for engine, hook in hooks:
            sa.event.remove(engine, "before_cursor_execute", hook)


def read_connections(engine: sa.Engine) -> int:
    """Connections named ``blueprint-read`` to this engine's database on that server."""
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :a "
            "AND datname = current_database()"), {"a": READ_APPLICATION_NAME}).scalar_one())


@pytest.fixture
def standby() -> str:
    """The standby's URL (skips or fails before any data is loaded for nothing)."""
    return replica_base_url()


@pytest.fixture
def replicated(standby: str, sample_store: Store) -> Store:
    """The session's PostGIS sample store (read-only!), caught up on the standby."""
    primary = sample_store
    replica = open_replica(replica_url_for(primary), primary)
    wait_replayed(primary, replica)
    replica.engine.dispose()
    return primary


@pytest.mark.parametrize("engine_name", ["postgis"])
def test_vetting_on_the_replica_gives_the_primarys_report(
        replicated: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = replicated
    drawn = {name: _drawn(SAMPLE / "sites" / name) for name in SITES}
    expected = {name: json.loads(ApiJSONResponse(to_json(vet_site(  # as the API writes it
        VetRequest(site=site_from_geojson(geojson)), store=sample))).body)
        for name, geojson in drawn.items()}
    settings = Settings(database_url=sample.database_url, data_dir=sample.data_dir,
                        read_database_url=replica_url_for(sample))
    with TestClient(create_app(settings)) as client:
        store = client.app.state.store  # type: ignore[attr-defined]
        assert store.replica is not None and reading_store(store) is store.replica
        assert reading_store(store, ledger=True) is store  # a quota check reads the ledger
        with statements(store.engine, store.replica.engine) as counts:
            for name in SITES:
                answer = client.post("/api/vet", json={"site": drawn[name]})
                assert answer.status_code == 200, answer.text
                assert answer.json() == expected[name], name
            assert client.get("/api/layers").status_code == 200
            assert client.get("/api/layers/ecological_redline/features").json()["features"]
        assert counts[0] == 0 and counts[1] > 0, counts  # nothing of it read the primary
        assert read_connections(store.replica.engine) >= 1  # on the standby, by name
        assert read_connections(store.engine) == 0  # and none on the primary
        with store.replica.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT pg_is_in_recovery()")).scalar_one()

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", sample.database_url)
    monkeypatch.setenv("BLUEPRINT_READ_DATABASE_URL", replica_url_for(sample))
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(sample.data_dir))
    from blueprint.service.cli import app

    path = SAMPLE / "sites" / SITES[0]
    done = CliRunner().invoke(app, ["vet", str(path), "--format", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout) == to_json(vet_site(VetRequest(site=read_site(path)),
                                                       store=sample))


@pytest.mark.parametrize("engine_name", ["postgis"])
def test_writes_go_to_the_primary_and_reach_the_standby(standby: str, store: Store,
                                                        tmp_path: Path) -> None:
    replica_url = replica_url_for(store)
    token = create_user("city", "city_quota_manager", None, store=store, actor="test")
    staff = create_user("staff", "nr_staff", None, store=store, actor="test")
    register_fixed_projects(store, ["P1"])  # the project the allocation names
    red = write(frame([box(0, 0, 200, 200)], hxbh=["HX-1"]), tmp_path / "red.gpkg")
    settings = Settings(database_url=store.database_url, data_dir=store.data_dir,
                        read_database_url=replica_url)
    with TestClient(create_app(settings)) as client:
        app_store = client.app.state.store  # type: ignore[attr-defined]
        replica = app_store.replica
        with statements(app_store.engine, replica.engine) as counts:
            imported = client.post("/api/layers", headers={"Authorization": f"Bearer {staff}"},
                                   files={"file": ("red.gpkg", red.read_bytes())},
                                   data={"kind": "ecological_redline", "name": "red"})
            assert imported.status_code == 201, imported.text
            auth = {"Authorization": f"Bearer {token}"}
            for path, body in [
                    ("/grants", {"year": 2026, "kind": "land", "county": "371502",
                                 "amount": "100", "county_name": "东昌府区"}),
                    ("/allocations", {"year": 2026, "kind": "land", "county": "371502",
                                      "project": "P1", "amount": "12.6"})]:
                done = client.post(f"/api/quota{path}", headers=auth | {
                    "Idempotency-Key": path.strip("/")}, json={"reason": "测试"} | body)
                assert done.status_code == 200, done.text
        assert counts[0] > 0 and counts[1] == 0, counts  # every write: the primary only
        wait_replayed(app_store, replica)
        assert [x.name for x in list_layers(store=replica)] == ["red"]  # on the standby
        assert balances(store=replica) == balances(store=app_store)
        assert client.get("/api/layers").json()[0]["name"] == "red"  # read from the standby


@pytest.mark.parametrize("engine_name", ["postgis"])
def test_a_write_routed_to_the_read_pool_is_never_made(standby: str, store: Store,
                                                       tmp_path: Path) -> None:
    red = write(frame([box(0, 0, 200, 200)], hxbh=["HX-1"]), tmp_path / "red.gpkg")
    options = ImportOptions(kind="ecological_redline", name="red", actor="test")
    # the standby: read-only by nature; and the primary itself opened as a read pool (a
    # proxy or a URL that lands on a writable server): read-only transactions refuse too
    for read_url in (replica_url_for(store), store.database_url):
        reader = open_replica(read_url, store)
        try:
            if read_url != store.database_url:  # the test schema must be on the standby first
                wait_replayed(store, reader)
            with pytest.raises(sa.exc.InternalError, match="read-only transaction"):
                import_layer(red, options, store=reader)
        finally:
            reader.engine.dispose()
    assert list_layers(store=store) == []


def test_a_read_replica_needs_a_postgresql_primary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLUEPRINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("BLUEPRINT_READ_DATABASE_URL", "postgresql://u@127.0.0.1:5433/db")
    with pytest.raises(BadInput) as refused:
        get_settings()
    assert refused.value.where == "BLUEPRINT_READ_DATABASE_URL"
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", "postgresql://u@127.0.0.1/db")
    monkeypatch.setenv("BLUEPRINT_READ_DATABASE_URL", "sqlite:///x.db")
    with pytest.raises(BadInput):
        get_settings()


def _drawn(path: Path) -> dict:
    """A sample site as the map would send it: a GeoJSON geometry."""
    import shapely.geometry

    return dict(shapely.geometry.mapping(read_site(path).geometry))
