"""The administrative boundary layer's county names, read once per layer version.

``resolve_county`` runs on every site check given a county (the API's ``county``, the CLI's
``--county``): it listed the layers and read every feature of the boundary layer each
time. Now the names are kept per version of the layer (:func:`analysis.counties.
admin_counties`) and the catalogue is the vetting's own (``current_layers``): a repeated
check reads at most the catalogue's change marker, and a new version of the layer (a
county renamed, one added, one gone) is read anew, by the core and by the API. Both
engines.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import shapely
import sqlalchemy as sa

from blueprint.analysis.counties import admin_counties, boundary_counties
from blueprint.analysis.site_county import resolve_county
from blueprint.layers.catalogue_cache import MARKER_SQL
from blueprint.layers.crs import to_crs
from blueprint.layers.errors import BadInput
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.schema import layers
from blueprint.layers.store import Store
from tests.helpers import GK39, box, frame, write
from tests.statements_support import statements_run
from tests.test_web import _client


def _boundary(store: Store, tmp_path: Path, names: dict[str, str | None], file: str, *,
              layer: str = "county") -> None:
    """Import (or re-import: a new version of) the boundary layer ``layer``: one box per
    code."""
    path = write(frame([box(i * 1000, 0, 900, 900) for i in range(len(names))],
                       code=list(names), name=list(names.values())), tmp_path / file)
    import_layer(path, ImportOptions(kind="admin_boundary", name=layer, id_field="code"),
                 store=store)


def test_a_county_is_resolved_from_names_read_once_per_layer_version(
        store: Store, tmp_path: Path) -> None:
    _boundary(store, tmp_path, {"990001": "甲县", "990002": "乙县"}, "v1.gpkg")
    assert resolve_county("甲县", store=store) == "990001"  # the first check reads them
    with statements_run(store) as seen:
        assert resolve_county("乙县", store=store) == "990002"
        assert resolve_county("990001", store=store) == "990001"
        with pytest.raises(BadInput) as unknown:
            resolve_county("丙县", store=store)
    assert "可选：990001（甲县）、990002（乙县）" in unknown.value.message_zh
    # nothing read again but the catalogue's change marker (none at all once the embedded
    # engine's files have settled; SQLite's BEGIN of its read): no catalogue list, no
    # feature of the layer
    assert {s.strip() for s in seen} <= {MARKER_SQL, "BEGIN"}, seen

    # a new version: 990001 renamed, 990002 gone, 990003 new (and unnamed: its code)
    _boundary(store, tmp_path, {"990001": "丙县", "990003": None}, "v2.gpkg")
    assert resolve_county("丙县", store=store) == "990001"
    assert resolve_county("990003", store=store) == "990003"
    for gone in ("甲县", "乙县", "990002"):
        with pytest.raises(BadInput):
            resolve_county(gone, store=store)
    assert admin_counties(store=store) == {"990001": "丙县", "990003": "990003"}
    with store.read() as conn:  # the transaction's reader agrees, and with every version
        assert boundary_counties(conn) == {"990001": "丙县", "990003": "990003"}
        assert boundary_counties(conn, every_version=True) == {
            "990001": "丙县", "990002": "乙县", "990003": "990003"}


def test_the_api_resolves_a_county_of_the_layers_new_version(store: Store,
                                                             tmp_path: Path) -> None:
    """The app's store keeps the names between requests; a re-import of the layer (here
    by the store under the app, as another process would) is seen by the next request."""
    _boundary(store, tmp_path, {"990001": "甲县", "990002": "乙县"}, "v1.gpkg")
    inside = to_crs(box(100, 100, 300, 300), GK39, 4490)
    site = shapely.geometry.mapping(inside)
    with _client(store, tmp_path) as client:
        def county(name: str) -> tuple[int, str]:
            answer = client.post("/api/vet", json={"site": site, "county": name})
            body = answer.json()
            return answer.status_code, body.get("county") or body.get("message_zh", "")

        assert county("甲县") == (200, "990001")
        assert county("乙县") == (200, "990002")
        _boundary(store, tmp_path, {"990001": "丙县", "990003": "丁县"}, "v2.gpkg")
        assert county("丙县") == (200, "990001")
        assert county("丁县") == (200, "990003")
        status, said = county("甲县")
    assert status == 422 and "可选：990001（丙县）、990003（丁县）" in said, said


def test_the_counties_offered_are_the_layers_and_the_ledgers(store: Store,
                                                             tmp_path: Path) -> None:
    """:func:`offered_counties`: every county of the layer's current version, granted or
    not, and every county a grant named; the layer's name first, a grant's where the layer
    has none (a feature without a name); codes in order."""
    from blueprint.analysis.counties import offered_counties
    from blueprint.analysis.quota.operations import grant
    from tests.quota_support import CITY, T0, Y

    _boundary(store, tmp_path, {"990002": "乙县", "990001": None, "990004": "丁县"},
              "v1.gpkg")
    for county, name, key in [("990001", "甲县", "g1"), ("990002", "旧乙县", "g2"),
                              ("990003", "丙县", "g3")]:
        grant(year=Y, kind="energy", county=county, amount="10", user=CITY, reason="下达",
              key=key, store=store, county_name=name, at=T0)
    offered = offered_counties(store=store)
    assert offered == {"990001": "甲县", "990002": "乙县", "990003": "丙县",
                       "990004": "丁县"}
    assert list(offered) == ["990001", "990002", "990003", "990004"]


def _both_readers(store: Store) -> tuple[dict[str, str], dict[str, str]]:
    with store.read() as conn:
        return admin_counties(store=store), boundary_counties(conn)


def test_a_layer_imported_again_names_the_county_in_both_readers(store: Store,
                                                                  tmp_path: Path) -> None:
    """Two boundary layers name one county differently: the name of the one imported last
    wins, in both readers. Here the layer first imported first is imported again last: the
    catalogue lists it first (by its first import), yet its new version is the newest."""
    _boundary(store, tmp_path, {"990001": "甲县", "990002": "乙县"}, "a1.gpkg", layer="a")
    _boundary(store, tmp_path, {"990001": "东县"}, "b1.gpkg", layer="b")
    _boundary(store, tmp_path, {"990001": "丙县", "990002": "乙县"}, "a2.gpkg", layer="a")
    newest = {"990001": "丙县", "990002": "乙县"}  # layer a's second version came last
    assert _both_readers(store) == (newest, newest)


def test_the_newest_import_names_the_county_whatever_the_ids(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids need not follow the import times (two imports at once: the one that read the
    clock first may commit last). The county takes the name of the layer imported last
    by ``imported_at`` (the id only breaks a tie), in both readers."""
    import blueprint.layers.catalogue_rows as catalogue_rows

    first = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    earlier = first - timedelta(hours=1)
    monkeypatch.setattr(catalogue_rows, "now", lambda: first)
    _boundary(store, tmp_path, {"990001": "甲县"}, "a.gpkg", layer="a")
    monkeypatch.setattr(catalogue_rows, "now", lambda: earlier)  # the clock read before
    _boundary(store, tmp_path, {"990001": "乙县"}, "b.gpkg", layer="b")
    with store.read() as conn:  # the set-up: b has the higher id, a the later time
        a, b = (conn.execute(sa.select(layers.c.id, layers.c.imported_at)
                             .where(layers.c.layer_name == name)).one() for name in "ab")
    assert b.id > a.id and b.imported_at < a.imported_at
    assert _both_readers(store) == ({"990001": "甲县"}, {"990001": "甲县"})
