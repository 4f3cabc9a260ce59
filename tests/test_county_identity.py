"""One rule for a county's name, and one core list of every county the city knows.

The ledger may hold two names for one code (the sample's 茌平县 has been 茌平区 since 2019):
the current administrative boundary layer's name wins, else the newest grant's; the first
grant's name won everywhere before. ``known_counties`` is what a ``--county`` filter may
ask for (grants, the boundary layer's current version, projects); the CLI queried the
layer and the projects itself.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from quota_support import CITY, T0, register_fixed_projects

from blueprint.analysis import quota
from blueprint.analysis.quota.balances import balances, counties, known_counties
from blueprint.analysis.quota.exports import export
from blueprint.analysis.quota.history import movements
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.helpers import box, frame, write


def _grant(store: Store, year: int, name: str | None, county: str = "371523",
           kind: str = "land") -> None:
    quota.grant(year=year, kind=kind, county=county, amount="10", user=CITY, reason="下达",
                key=f"g-{uuid.uuid4()}", store=store, at=T0, county_name=name)


def _boundary(store: Store, tmp_path: Path, names: dict[str, str], file: str) -> None:
    layer = write(frame([box(i * 100, 0, i * 100 + 90, 90) for i in range(len(names))],
                        code=list(names), name=list(names.values())), tmp_path / file)
    import_layer(layer, ImportOptions(kind="admin_boundary", name="county", id_field="code"),
                 store=store)


def _reserve_titles(store: Store) -> set[str]:
    """How balances and movements (and so exports and pages) name the county reserves."""
    shown = {r["title"] for r in balances(store=store) if r["type"] == "county"}
    shown |= {m["to_title"] for m in movements(store=store) if m["to"].startswith("county:")}
    for what in ("balances", "movements"):  # the exports (movements streamed in batches)
        text = export(what=what, fmt="csv", store=store).decode("utf-8-sig")
        shown |= {cell for line in text.splitlines() for cell in line.split(",")
                  if cell.endswith("县级储备") and cell != "县级储备"}  # not the type column
    return shown


def test_without_a_boundary_layer_the_newest_grants_name_wins(store: Store) -> None:
    _grant(store, 2025, "茌平县")
    _grant(store, 2026, "茌平区")
    _grant(store, 2026, None, kind="energy")  # a grant without a name keeps the known one
    assert counties(store=store) == {"371523": "茌平区"}
    assert _reserve_titles(store) == {"茌平区县级储备"}  # every year's reserve, one name


def test_the_boundary_layers_current_name_wins_over_every_grant(store: Store,
                                                                tmp_path: Path) -> None:
    _grant(store, 2025, "茌平县")
    _grant(store, 2026, "茌平县")
    _boundary(store, tmp_path, {"371523": "茌平县"}, "v1.gpkg")
    assert counties(store=store) == {"371523": "茌平县"}
    _boundary(store, tmp_path, {"371523": "茌平区"}, "v2.gpkg")  # a new version: renamed
    assert counties(store=store) == {"371523": "茌平区"}
    assert _reserve_titles(store) == {"茌平区县级储备"}
    _grant(store, 2027, "茌平县")  # an old name in a newer grant does not bring it back
    assert counties(store=store) == {"371523": "茌平区"}
    assert _reserve_titles(store) == {"茌平区县级储备"}


def test_known_counties_are_the_grants_the_boundary_layer_and_the_projects(
        store: Store, tmp_path: Path) -> None:
    assert known_counties(store=store) == {}
    _grant(store, 2026, "茌平县")
    _boundary(store, tmp_path, {"371502": "东昌府区", "371523": "茌平区"}, "v1.gpkg")
    register_fixed_projects(store, {"P1": "371581"})
    assert known_counties(store=store) == {"371502": "东昌府区", "371523": "茌平区",
                                           "371581": "371581"}
    _boundary(store, tmp_path, {"371523": "茌平区"}, "v2.gpkg")  # 371502 left the layer
    assert known_counties(store=store) == {"371502": "东昌府区", "371523": "茌平区",
                                           "371581": "371581"}  # still in the older version
    assert counties(store=store) == {"371523": "茌平区"}  # the ledger's own: granted only


def test_a_county_whose_code_changed_is_still_asked_for_by_its_old_code(
        store: Store, tmp_path: Path) -> None:
    """茌平县 371523 became 茌平区 371503 in 2019: its grants and accounts stay under the old
    code, which the current boundary layer no longer has; a quota manager still asks for
    them with ``--county 371523``. A code only an older boundary version has is known too;
    an unknown one is refused naming the known ones. The API's county filters take the old
    code too (they filter, refusing no code)."""
    from tests.test_cli_bounds import cli

    _boundary(store, tmp_path, {"371502": "东昌府区", "371523": "茌平县", "371524": "东阿县"},
              "v1.gpkg")
    _grant(store, 2018, "茌平县")
    _boundary(store, tmp_path, {"371502": "东昌府区", "371503": "茌平区"}, "v2.gpkg")
    known = known_counties(store=store)
    assert known == {"371502": "东昌府区", "371503": "茌平区", "371523": "茌平县",
                     "371524": "东阿县"}
    for command in (["quota", "balances"], ["quota", "movements"], ["quota", "loans"]):
        code, out, err = cli(store, [*command, "--county", "371523", "--format", "json"])
        assert code == 0, err
    code, out, err = cli(store, ["quota", "balances", "--county", "371523", "--format", "json"])
    assert {(r["county"], r["title"], r["granted"]) for r in json.loads(out)} == {
        ("371523", "茌平县县级储备", "7")}
    code, out, err = cli(store, ["quota", "movements", "--county", "371523", "--format", "json"])
    assert [m["to_title"] for m in json.loads(out)] == ["茌平县县级储备"]
    code, out, err = cli(store, ["projects", "list", "--county", "371524"])  # an older version's
    assert code == 0, err
    code, out, err = cli(store, ["quota", "balances", "--county", "371599"])
    assert (code, out) == (2, "")
    assert err == ("error: --county: no grant, admin boundary or project names the county "
                   "'371599'; known: 371502, 371503, 371523, 371524 (县区“371599”不在指标台账、"
                   "行政区划图层或项目库中，已知县区：371502、371503、371523、371524)\n")
    token = create_user("boss", "admin", None, store=store, actor="test")
    app = create_app(Settings(data_dir=store.data_dir, database_url=store.database_url))
    with TestClient(app) as client:  # the API filters by the old code as well
        for path in ("/api/quota/balances", "/api/quota/movements"):
            answer = client.get(path, params={"county": "371523"},
                                headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200 and len(answer.json()) == 1, answer.text


def _audit_detail(store: Store, operation_id: int) -> dict:
    with store.engine.connect() as conn:
        detail = conn.execute(sa.text(
            "SELECT detail FROM audit_log WHERE action = 'quota.grant' AND object = :obj"),
            {"obj": f"quota_operation:{operation_id}"}).scalar_one()
    return json.loads(detail) if isinstance(detail, str) else dict(detail)


def test_a_top_up_grant_under_a_new_name_renames_the_county(store: Store) -> None:
    """A second grant of the same year and kind (追加下达) under the county's new name went
    into the reserve its first grant opened, and the new name was dropped: the county kept
    its first name everywhere. Now the newest grant's name is the ledger's, as for a grant
    that opens a reserve: the grant's result and its audit row say the rename; a top-up
    without a name, or under the same name, renames nothing; a reversed rename is undone;
    a later grant under another name renames it again."""
    _grant(store, 2026, "茌平县")
    assert counties(store=store) == {"371523": "茌平县"}
    top_up = quota.grant(year=2026, kind="land", county="371523", amount="5", user=CITY,
                         reason="追加下达", key="top-up", store=store,
                         at=T0 + timedelta(days=30), county_name="茌平区")
    assert (top_up["county_name"], top_up["renamed_from"]) == ("茌平区", "茌平县")
    assert counties(store=store) == {"371523": "茌平区"}
    assert _reserve_titles(store) == {"茌平区县级储备"}
    detail = _audit_detail(store, top_up["operation_id"])
    assert (detail["county_name"], detail["renamed_from"]) == ("茌平区", "茌平县")
    for name in (None, "茌平区"):  # nothing to rename
        again = quota.grant(year=2026, kind="land", county="371523", amount="1", user=CITY,
                            reason="追加下达", key=f"again-{name}", store=store,
                            at=T0 + timedelta(days=31), county_name=name)
        assert "renamed_from" not in again
        assert "renamed_from" not in _audit_detail(store, again["operation_id"])
        assert counties(store=store) == {"371523": "茌平区"}
    quota.reverse(operation_id=top_up["operation_id"], user=CITY, reason="名称填错",
                  key="undo-top-up", store=store, at=T0 + timedelta(days=32))
    assert counties(store=store) == {"371523": "茌平区"}  # the later top-up's, standing
    wrong = quota.grant(year=2026, kind="land", county="371523", amount="1", user=CITY,
                        reason="追加下达", key="wrong-name", store=store,
                        at=T0 + timedelta(days=33), county_name="茌平市")
    assert counties(store=store) == {"371523": "茌平市"}
    quota.reverse(operation_id=wrong["operation_id"], user=CITY, reason="名称填错",
                  key="undo-wrong", store=store, at=T0 + timedelta(days=34))
    assert counties(store=store) == {"371523": "茌平区"}  # a reversed rename is undone
    _grant(store, 2027, "茌平区")  # a newer grant, opening its reserve
    assert counties(store=store) == {"371523": "茌平区"}
    assert _reserve_titles(store) == {"茌平区县级储备"}


def test_the_cli_says_a_grant_renamed_the_county(store: Store, tmp_path: Path) -> None:
    """``blueprint quota grant --county-name`` under a new name says the rename, and when
    the boundary layer names the county otherwise, that its name is shown everywhere."""
    from tests.test_cli_bounds import cli

    _grant(store, 2026, "茌平县")
    grant = ["quota", "grant", "--year", "2026", "--kind", "land", "--county", "371523",
             "--amount", "1", "--reason", "追加下达"]
    code, out, err = cli(store, [*grant, "--county-name", "茌平区", "--key", "a"])
    assert code == 0, err
    assert "县区 371523 的名称由“茌平县”改为“茌平区”。" in out, out
    _boundary(store, tmp_path, {"371523": "茌平区"}, "v1.gpkg")
    code, out, err = cli(store, [*grant, "--county-name", "茌平县", "--key", "b"])
    assert code == 0, err
    assert ("县区 371523 的名称由“茌平区”改为“茌平县”；行政区划图层现名为“茌平区”，"
            "各处仍以图层名称显示。") in out, out
    code, out, err = cli(store, [*grant, "--key", "c"])  # no name: nothing renamed
    assert code == 0 and "名称由" not in out, (err, out)
