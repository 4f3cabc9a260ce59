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
from pathlib import Path

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
