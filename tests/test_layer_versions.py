"""Layer versions (issue 12): a re-import adds a version and keeps the old one queryable;
``vet --as-of`` reproduces a report made before the re-import exactly; ``layers history``
lists the versions. Both engines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import box, frame, write
from typer.testing import CliRunner

from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, to_json, vet_site
from blueprint.layers.errors import BadInput
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import layer_history, layers_as_of, list_layers, load_features
from blueprint.layers.store import Store
from blueprint.service.cli import app


def _red(store: Store, tmp_path: Path, x: float, name: str) -> None:
    path = write(frame([box(x, 0, 100, 100)], hxbh=[f"HX-{name}"]), tmp_path / f"{name}.gpkg")
    import_layer(path, ImportOptions(kind="ecological_redline", name="red", id_field="hxbh"),
                 store=store)


def _vet(store: Store, tmp_path: Path, as_of: datetime | None = None) -> dict:
    site = read_site(write(frame([box(50, 0, 100, 100)], name=["测试地块"]),
                           tmp_path / "site.gpkg"))
    return to_json(vet_site(VetRequest(site=site, as_of=as_of), store=store))


def _red_finding(report: dict) -> dict:
    return next(f for f in report["findings"] if f["layer"] == "red")


def test_reimport_adds_a_version_and_as_of_reproduces_the_first_report(
        store: Store, tmp_path: Path) -> None:
    _red(store, tmp_path, 0, "v1")
    first = _vet(store, tmp_path)
    between = datetime.now(UTC)
    _red(store, tmp_path, 300, "v2")  # moved off the site
    second = _vet(store, tmp_path)
    assert _red_finding(first)["status"] == "conflict"
    assert _red_finding(first)["feature_ids"] == ["HX-v1"]
    assert _red_finding(second)["status"] != "conflict" and second != first
    assert _vet(store, tmp_path, as_of=between) == first
    assert _vet(store, tmp_path, as_of=datetime.now(UTC)) == second
    assert [(v.version_number, v.current) for v in layer_history("red", store=store)] == [
        (1, False), (2, True)]
    assert [layer.name for layer in list_layers(store=store)] == ["red"]
    old = next(v for v in layers_as_of(between, store=store) if v.name == "red")
    assert load_features(old, store=store).fids.tolist() == ["HX-v1"]  # still queryable
    assert layers_as_of(datetime(2000, 1, 1, tzinfo=UTC), store=store) == []
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM layer_features")).scalar() == 2


def test_layers_history_command(store: Store, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    _red(store, tmp_path, 0, "v1")
    _red(store, tmp_path, 300, "v2")
    found = CliRunner().invoke(app, ["layers", "history", "red", "--format", "json"])
    assert found.exit_code == 0, found.output
    versions = json.loads(found.stdout)
    assert [(v["version"], v["source_file"], v["feature_count"], v["current"])
            for v in versions] == [(1, "v1.gpkg", 1, False), (2, "v2.gpkg", 1, True)]
    assert all(len(v["checksum"]) == 64 for v in versions)
    assert versions[0]["checksum"] != versions[1]["checksum"]
    shown = CliRunner().invoke(app, ["layers", "history", "red"])
    assert "已被替换" in shown.stdout and "现行" in shown.stdout
    # the moments are ISO 8601 in UTC on both engines (SQLite reads them back naive)
    moments = [versions[0]["imported_at"], versions[0]["superseded_at"], versions[1]["imported_at"]]
    assert all(datetime.fromisoformat(m).utcoffset() == timedelta(0) and "T" in m
               for m in moments), moments
    assert versions[1]["superseded_at"] is None


def test_import_times_are_utc_with_their_offset_on_both_engines(store: Store,
                                                                 tmp_path: Path) -> None:
    before = datetime.now(UTC)
    _red(store, tmp_path, 0, "v1")
    listed = list_layers(store=store)[0].to_dict()["imported_at"]
    used = _vet(store, tmp_path)["layers"][0]["imported_at"]
    assert listed == used
    assert datetime.fromisoformat(listed).utcoffset() == timedelta(0)
    assert before <= datetime.fromisoformat(listed) <= datetime.now(UTC)


def test_as_of_on_the_command_line_and_the_api(store: Store, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import shapely.geometry
    from fastapi.testclient import TestClient

    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    site_file = write(frame([box(50, 0, 100, 100)], name=["测试地块"]), tmp_path / "site.gpkg")
    runner = CliRunner()

    def cli(*extra: str) -> dict:
        done = runner.invoke(app, ["vet", str(site_file), "--format", "json", *extra])
        assert done.exit_code == 0, done.output
        return json.loads(done.stdout)

    _red(store, tmp_path, 0, "v1")
    first = cli()
    between = datetime.now(UTC).isoformat()
    _red(store, tmp_path, 300, "v2")
    assert cli() != first
    assert cli("--as-of", between) == first
    assert cli("--as-of", "2000-01-01")["findings"] != first["findings"]  # no layers then
    bad = runner.invoke(app, ["vet", str(site_file), "--as-of", "yesterday"])
    assert isinstance(bad.exception, BadInput) and "--as-of" in str(bad.exception)
    geometry = shapely.geometry.mapping(read_site(site_file).geometry)
    api = create_app(Settings(database_url=store.database_url, data_dir=store.data_dir))
    with TestClient(api) as client:
        then = client.post("/api/vet", json={"site": geometry, "as_of": between})
        now = client.post("/api/vet", json={"site": geometry})
    assert then.status_code == now.status_code == 200
    assert _red_finding(then.json())["feature_ids"] == ["HX-v1"]
    assert _red_finding(now.json())["status"] != "conflict"


@pytest.mark.parametrize("batch", [None, 1])  # read whole, and streamed batch by batch
def test_reimport_of_the_same_content_adds_no_version(store: Store, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      batch: int | None) -> None:
    """A second import of an identical file (e.g. a second ``sample load``) wrote version 2
    with the same checksum, and every stored report then showed as stale."""
    from blueprint.layers import importer

    if batch is not None:
        monkeypatch.setattr(importer, "STREAM_BATCH", batch)
    path = write(frame([box(0, 0, 100, 100), box(300, 0, 100, 100)], hxbh=["HX-1", "HX-2"]),
                 tmp_path / "red.gpkg")
    options = ImportOptions(kind="ecological_redline", name="red", id_field="hxbh")
    first = import_layer(path, options, store=store)
    again = import_layer(path, options, store=store)
    assert not first.unchanged and again.unchanged
    assert again.warnings[0] == "图层“生态保护红线”未变化，未重新导入"
    assert [(v.version_number, v.current) for v in layer_history("red", store=store)] == [
        (1, True)]
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM layer_features")).scalar() == 2
        assert conn.execute(sa.text(
            "SELECT count(*) FROM audit_log WHERE action = 'layer.import'")).scalar() == 1
    # another title is a change: a new version
    retitled = import_layer(path, ImportOptions(kind="ecological_redline", name="red",
                                                id_field="hxbh", title="红线（修订）"),
                            store=store)
    assert not retitled.unchanged
    assert [v.version_number for v in layer_history("red", store=store)] == [1, 2]


def test_layers_import_command_says_the_layer_is_unchanged(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    path = write(frame([box(0, 0, 100, 100)], hxbh=["HX-1"]), tmp_path / "red.gpkg")
    args = ["layers", "import", str(path), "--kind", "ecological_redline", "--name", "red",
            "--id-field", "hxbh"]
    assert CliRunner().invoke(app, args).exit_code == 0
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "图层“生态保护红线”未变化，未重新导入" in again.stdout
    assert "已导入" not in again.stdout
