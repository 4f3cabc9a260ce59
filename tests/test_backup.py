"""``blueprint backup`` / ``restore`` on both engines: a round trip keeps balances,
projects, opinions, layers and the audit log (whose chain still verifies); a store that is
not empty is refused without --force; files are for their owner only."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import box, frame, write
from projects_support import CITY_QUOTA, STAFF, T0, city, dept_user, park_project, site
from quota_support import raw_balances
from typer.testing import CliRunner

from blueprint.analysis.consultation import answer, start_round
from blueprint.analysis.projects import create_project, vet_project
from blueprint.analysis.quota import allocate
from blueprint.layers.audit import verify_audit
from blueprint.layers.backup import backup_store, is_empty, restore_store
from blueprint.layers.errors import Conflict
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import layer_history
from blueprint.layers.store import Store, open_store
from blueprint.layers.users import create_user
from blueprint.service.cli import app

__all__ = ["city"]


def _records(store: Store) -> dict[str, Any]:
    tables = {"projects": "code", "opinions": "id", "layers": "id", "audit_log": "id",
              "project_stages": "id", "users": "id", "layer_features": "layer_id, fid"}
    with store.engine.connect() as conn:
        found: dict[str, Any] = {t: [tuple(r) for r in conn.execute(
            sa.text(f"SELECT * FROM {t} ORDER BY {key}"))] for t, key in tables.items()}
    found["balances"] = raw_balances(store)
    found["rasters"] = sorted(p.name for p in store.raster_dir.iterdir())
    return found


def _history(store: Store, tmp_path: Path) -> None:
    for version, x in enumerate((0, 300)):  # a layer with two versions
        path = write(frame([box(x, 0, 100, 100)], hxbh=[f"HX-{version}"]),
                     tmp_path / f"red{version}.gpkg")
        import_layer(path, ImportOptions(kind="ecological_redline", name="red"), store=store)
    code = create_project(park_project(), site=site("01_park_clean.txt"), user=STAFF,
                          store=store, at=T0).code
    vet_project(code, user=STAFF, store=store, at=T0)
    rnd = start_round(code, user=STAFF, store=store, at=T0)
    answer(rnd.id, user=dept_user("nr"), answer="agree", text="同意", store=store)
    allocate(year=2026, kind="land", county="371502", project=code, amount="1.5",
             user=CITY_QUOTA, reason="配置", key="backup-test", store=store, at=T0)
    create_user("王科长", "viewer", None, store=store, actor="test")


def test_round_trip_on_the_same_store(city: Store, tmp_path: Path) -> None:
    _history(city, tmp_path)
    before = _records(city)
    assert [v.version_number for v in layer_history("red", store=city)] == [1, 2]
    archive = tmp_path / "blueprint-backup.tar.gz"
    manifest = backup_store(archive, store=city)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert manifest["counts"]["projects"] == 1
    create_user("后来者", "viewer", None, store=city, actor="test")  # after the backup
    with pytest.raises(Conflict, match="--force"):
        restore_store(archive, store=city)
    restore_store(archive, store=city, force=True)
    assert _records(city) == before
    assert [v.current for v in layer_history("red", store=city)] == [False, True]
    check = verify_audit(store=city)
    assert check.ok and check.rows == len(before["audit_log"])


def test_restore_into_a_new_embedded_store_and_modes(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    source = open_store("", tmp_path / "a")
    create_user("王科长", "viewer", None, store=source, actor="test")
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "blueprint.db").stat().st_mode) == 0o600
    archive = tmp_path / "b.tar.gz"
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", "")
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(tmp_path / "a"))
    runner = CliRunner()
    made = runner.invoke(app, ["backup", str(archive)])
    assert made.exit_code == 0, made.output
    target = open_store("", tmp_path / "c")
    assert is_empty(store=target)
    target.close()
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(tmp_path / "c"))
    assert runner.invoke(app, ["restore", str(archive)]).exit_code == 0
    again = runner.invoke(app, ["restore", str(archive)])
    assert again.exit_code != 0 and isinstance(again.exception, Conflict)
    assert runner.invoke(app, ["restore", str(archive), "--force"]).exit_code == 0
    restored = open_store("", tmp_path / "c")
    assert _records(restored) == _records(source)
    assert verify_audit(store=restored).ok


@pytest.mark.parametrize("folder_there", [False, True])
def test_a_failed_restore_into_no_store_leaves_nothing(tmp_path: Path, folder_there: bool,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A restore that failed (here: a backup of the other engine) into an empty folder left
    a new empty blueprint.db (and the folder) behind; and the refusal said "into a embedded
    store". Now nothing is left: the folder as it was (absent, or empty)."""
    import io
    import json
    import tarfile

    archive = tmp_path / "pg.tar.gz"
    manifest = json.dumps({"format": 1, "engine": "postgis"}).encode()
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    data = tmp_path / "data"
    if folder_there:
        data.mkdir()
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", "")
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(data))
    failed = CliRunner().invoke(app, ["restore", str(archive)])
    assert failed.exit_code != 0 and failed.exception is not None
    assert "into this store (engine embedded)" in str(failed.exception)
    assert "a embedded" not in str(failed.exception)
    if folder_there:
        assert data.is_dir() and list(data.iterdir()) == []
    else:
        assert not data.exists()
