"""One rule for a county's name, and one core list of every county the city knows.

The ledger may hold two names for one code (the sample's 茌平县 has been 茌平区 since 2019):
the current administrative boundary layer's name wins, else the newest grant's; the first
grant's name won everywhere before. ``known_counties`` is what a ``--county`` filter may
ask for (grants, the boundary layer's current version, projects); the CLI queried the
layer and the projects itself.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from quota_support import CITY, T0, register_fixed_projects

from blueprint.analysis import quota
from blueprint.analysis.quota.balances import balances, counties, known_counties
from blueprint.analysis.quota.exports import export
from blueprint.analysis.quota.history import movements
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
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
                  if cell.endswith(" 县级储备")}
    return shown


def test_without_a_boundary_layer_the_newest_grants_name_wins(store: Store) -> None:
    _grant(store, 2025, "茌平县")
    _grant(store, 2026, "茌平区")
    _grant(store, 2026, None, kind="energy")  # a grant without a name keeps the known one
    assert counties(store=store) == {"371523": "茌平区"}
    assert _reserve_titles(store) == {"茌平区 县级储备"}  # every year's reserve, one name


def test_the_boundary_layers_current_name_wins_over_every_grant(store: Store,
                                                                tmp_path: Path) -> None:
    _grant(store, 2025, "茌平县")
    _grant(store, 2026, "茌平县")
    _boundary(store, tmp_path, {"371523": "茌平县"}, "v1.gpkg")
    assert counties(store=store) == {"371523": "茌平县"}
    _boundary(store, tmp_path, {"371523": "茌平区"}, "v2.gpkg")  # a new version: renamed
    assert counties(store=store) == {"371523": "茌平区"}
    assert _reserve_titles(store) == {"茌平区 县级储备"}
    _grant(store, 2027, "茌平县")  # an old name in a newer grant does not bring it back
    assert counties(store=store) == {"371523": "茌平区"}
    assert _reserve_titles(store) == {"茌平区 县级储备"}


def test_known_counties_are_the_grants_the_boundary_layer_and_the_projects(
        store: Store, tmp_path: Path) -> None:
    assert known_counties(store=store) == {}
    _grant(store, 2026, "茌平县")
    _boundary(store, tmp_path, {"371502": "东昌府区", "371523": "茌平区"}, "v1.gpkg")
    register_fixed_projects(store, {"P1": "371581"})
    assert known_counties(store=store) == {"371502": "东昌府区", "371523": "茌平区",
                                           "371581": "371581"}
    _boundary(store, tmp_path, {"371523": "茌平区"}, "v2.gpkg")  # 371502 left the layer
    assert known_counties(store=store) == {"371523": "茌平区", "371581": "371581"}
    assert counties(store=store) == {"371523": "茌平区"}  # the ledger's own: granted only
