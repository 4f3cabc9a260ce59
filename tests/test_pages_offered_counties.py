"""The pages offer (and name) every county of the administrative boundary layer, not only
those the quota ledger has an account of: a county no grant has reached yet (here 371599
示范新区, added by a new version of the sample city's boundary layer; the sample grants
the eight others) can be chosen for a new project and saved, and is offered by the project
and tracking filters, and the consultation inbox names it. The real app (FastAPI
TestClient) on both engines."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import shapely
from projects_support import STAFF, T0, city  # noqa: F401  (city: fixture)

from blueprint.analysis.consultation import start_round
from blueprint.analysis.projects import vet_project
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.conftest import SAMPLE
from tests.test_pages import PASSWORD, SITE, _client, _csrf, _login, _users

NEW, NEW_ZH = "371599", "示范新区"
SAMPLE_COUNTIES = ["371502", "371521", "371522", "371523", "371524", "371525", "371526",
                   "371581"]


def _new_county(store: Store, tmp_path: Path) -> None:
    """A new version of the sample's boundary layer: its eight counties and 示范新区, a
    box east of the city (no grant names it)."""
    counties = gpd.read_file(SAMPLE / "layers" / "liaocheng_counties.geojson")
    added = gpd.GeoDataFrame({"id": [NEW], "name": [NEW_ZH]},
                             geometry=[shapely.box(116.6, 36.0, 116.7, 36.1)], crs=4326)
    both = gpd.GeoDataFrame(
        gpd.pd.concat([counties[["id", "name", "geometry"]], added], ignore_index=True),
        crs=4326)
    path = tmp_path / "counties_v2.geojson"
    both.to_file(path, driver="GeoJSON", engine="pyogrio")
    import_layer(path, ImportOptions(kind="admin_boundary", name="admin_boundary",
                                     id_field="id", class_field="name"), store=store)


def _options(html: str) -> dict[str, str]:
    """Code → text of the options of the page's ``<select name="county">`` (its one), the
    empty choice left out."""
    assert html.count('<select name="county"') == 1
    options = html.split('<select name="county"', 1)[1].split("</select>", 1)[0]
    return dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', options))


def test_a_county_without_quota_is_offered_and_can_be_filed_under(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    _new_county(city, tmp_path)
    _users(city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        offered = _options(nr.get("/projects/new").text)
        assert list(offered) == [*SAMPLE_COUNTIES, NEW]  # in code order
        assert offered[NEW] == f"{NEW_ZH}（{NEW}）" and offered["371502"] == "东昌府区（371502）"
        saved = nr.post("/projects/new", follow_redirects=False, data={
            "csrf": _csrf(nr), "site": shapely.to_geojson(shapely.geometry.shape(
                SITE["geometry"])), "name": "新区项目", "county": NEW,
            "industry": "industrial", "investment": "6", "responsible_unit": "聊城某公司",
            "origin": "attracted"})
        assert saved.status_code == 303, saved.text
        code = str(saved.headers["location"]).rsplit("/", 1)[1]
        shown = nr.get(f"/projects/{code}").text
        assert f"<td>{NEW_ZH}（{NEW}）</td>" in shown  # named, not only its code
        listed = nr.get("/projects").text
        assert _options(listed) == {**{c: offered[c].split("（")[0] for c in SAMPLE_COUNTIES},
                                    NEW: NEW_ZH}
        assert re.search(rf"<td>新区项目</td><td>{NEW_ZH}</td>", listed), listed
        tracking = nr.get("/tracking").text
        assert _options(tracking) == _options(listed)
        assert nr.get("/tracking", params={"county": NEW}).status_code == 200
    # the consultation inbox names the county of the round's project
    vet_project(code, user=STAFF, store=city, at=T0)
    department = start_round(code, user=STAFF, store=city, at=T0).active[0].department
    create_user("dept_user", "department", None, store=city, actor="test",
                department=department, password=PASSWORD)
    with _client(city, tmp_path) as dept:
        _login(dept, "dept_user")
        inbox = dept.get("/inbox").text
    assert re.search(rf">{code}</a></td><td>新区项目</td><td>{NEW_ZH}</td>", inbox), inbox
