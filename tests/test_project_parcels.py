"""A project keeps its site's parcels as they were given (migration ``0017_project_parcels``):
two parcels sharing an edge, each with its name and land use, stay two in the project's
site download (GeoJSON, Shapefile, coordinate file) and in its 初审意见书, through the core
and the HTTP API, a revision of the site, a downgrade and an upgrade, and a backup and
restore, on both engines.

The parcels are written here as a coordinate file in zone 39 (east of 东昌府区's park site,
``data/sample/sites/01_park_clean.txt``); what a download must hold is computed from those
numbers with pyproj, not with the code under test: each parcel is the rectangle written,
200 m × 150 m = 30,000 m².
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
import shapely.geometry
import sqlalchemy as sa
from fastapi.testclient import TestClient
from migrations_support import downgrade
from projects_support import (  # noqa: F401  (city: fixture)
    SITES,
    STAFF,
    city,
    park_project,
    site,
)
from pyproj import Transformer
from shapely.geometry import box

from blueprint.analysis.projects import create_project, get_project, revise_project, vet_project
from blueprint.analysis.projects.reports import latest_report
from blueprint.analysis.review.document import review_html
from blueprint.analysis.review.project import project_review
from blueprint.analysis.site import read_site
from blueprint.analysis.site_export import export_project_site
from blueprint.layers.backup import backup_store, restore_store
from blueprint.layers.coordfile import read_coordinate_file
from blueprint.layers.store import Store, upgrade
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

HEAD = "0017_project_parcels"
ZONE = 4527  # CGCS2000 3-degree Gauss-Krüger zone 39, eastings with the zone prefix
PRECISION_M = 0.001  # the coordinate file's 精度
# (name, land use, northing from–to, easting from–to): the second parcel starts where the
# first ends, so the two share the edge at easting 39413750
PARCELS = (("甲地块", "工业用地", 4034650, 4034850, 39413600, 39413750),
           ("乙地块", "仓储用地", 4034650, 4034850, 39413750, 39413900))
GIVEN = [{"parcel_name": name, "land_use": use} for name, use, *_ in PARCELS]
NAMES = [name for name, *_ in PARCELS]
AREA_M2 = 200 * 150
TO_LONLAT = Transformer.from_crs(ZONE, 4490, always_xy=True)
TO_ZONE = Transformer.from_crs(4490, ZONE, always_xy=True)


def json_cli(store: Store, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``blueprint … --format json`` on ``store``, its output parsed (exit code 0 asserted)."""
    from typer.testing import CliRunner

    from blueprint.service.cli import app

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    runner = CliRunner()

    def cli_json(*args: str) -> Any:
        result = runner.invoke(app, [*args, "--format", "json"])
        assert result.exit_code == 0, (result.output, result.exception)
        return json.loads(result.stdout)

    return cli_json


def _boxes() -> list[Any]:
    """The parcels as written, in the zone's metres (x easting, y northing)."""
    return [box(east0, north0, east1, north1)
            for _, _, north0, north1, east0, east1 in PARCELS]


def write_parcels(folder: Path) -> Path:
    """The two touching parcels as a coordinate file (UTF-8), each with its name and use."""
    lines = ["[属性描述]", "格式版本号=1.01", "坐标系=2000国家大地坐标系", "几度分带=3",
             "投影类型=高斯克吕格", "计量单位=米", "带号=39", "精度=0.001", "[地块坐标]"]
    for number, (name, use, north0, north1, east0, east1) in enumerate(PARCELS, start=1):
        lines.append(f"5,{AREA_M2 / 10_000:.4f},{number},{name},面,,{use},,@")
        corners = [(north1, east0), (north1, east1), (north0, east1), (north0, east0)]
        for i, (x, y) in enumerate([*corners, corners[0]]):
            lines.append(f"J{i % 4 + 1},1,{x:.3f},{y:.3f}")
    path = folder / "两个相邻地块.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _reprojected(transformer: Transformer, geometry: Any) -> Any:
    return shapely.transform(geometry, lambda xy: np.column_stack(
        transformer.transform(xy[:, 0], xy[:, 1])))


def _lonlat_parcels() -> dict[str, Any]:
    """The parcels as a GeoJSON FeatureCollection in lon/lat, named as a map posts them."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": dict(given),
         "geometry": shapely.geometry.mapping(_reprojected(TO_LONLAT, b))}
        for given, b in zip(GIVEN, _boxes(), strict=True)]}


def _in_zone(geometry: Any) -> Any:
    return _reprojected(TO_ZONE, geometry)


def assert_the_two_parcels(geometries: list[Any], names: list[str], uses: list[str]) -> None:
    """Two parcels, each the rectangle written (to the millimetre), with its name and use."""
    assert names == NAMES
    assert uses == [use for _, use, *_ in PARCELS]
    assert len(geometries) == 2
    for got, want in zip(geometries, _boxes(), strict=True):
        assert shapely.hausdorff_distance(_in_zone(got), want) <= PRECISION_M
        assert _in_zone(got).area == pytest.approx(AREA_M2, abs=0.5)


def geojson_parcels(data: bytes) -> None:
    """A downloaded GeoJSON holds the two parcels (read as plain JSON)."""
    features = json.loads(data)["features"]
    assert_the_two_parcels([shapely.geometry.shape(f["geometry"]) for f in features],
                           [f["properties"].get("parcel_name") for f in features],
                           [f["properties"].get("land_use") for f in features])


def shapefile_parcels(data: bytes, tmp_path: Path) -> None:
    """A downloaded zipped Shapefile holds the two parcels (read with pyogrio)."""
    import pyogrio

    path = tmp_path / "site.zip"
    path.write_bytes(data)
    assert "site.shp" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    frame = pyogrio.read_dataframe(f"/vsizip/{path}/site.shp")
    assert frame.crs.to_epsg() == 4490
    assert_the_two_parcels(list(frame.geometry), list(frame["parcelname"]),
                           list(frame["land_use"]))


def coordfile_parcels(data: bytes) -> None:
    parcels = read_coordinate_file(data).parcels
    assert list(parcels["parcel_name"]) == NAMES
    assert [round(g.area, 1) for g in parcels.geometry] == [AREA_M2, AREA_M2]


# ----- the core


def test_a_project_keeps_two_touching_parcels_apart_with_their_names(store: Store,
                                                                      tmp_path: Path) -> None:
    """Stored dissolved, the two parcels were one polygon, nameless, in the download."""
    given = read_site(write_parcels(tmp_path))
    assert given.geometry.geom_type == "Polygon"  # the outline: one polygon of the two
    code = create_project(park_project(), site=given, user=STAFF, store=store).code
    project = get_project(code, store=store)
    assert [p.attributes for p in project.site_parcels] == GIVEN
    geojson_parcels(export_project_site(code, "geojson", store=store).data)
    shapefile_parcels(export_project_site(code, "shp", store=store).data, tmp_path)
    coordfile_parcels(export_project_site(code, "coordfile", store=store).data)
    shown = project.to_dict()["site_parcels"]
    assert [f["properties"]["parcel_name"] for f in shown["features"]] == NAMES
    assert [f["properties"]["parcel_no"] for f in shown["features"]] == ["1", "2"]
    assert project.to_dict()["site"]["type"] == "Polygon"  # the outline, as before


@pytest.fixture
def api(store: Store) -> Iterator[TestClient]:
    token = create_user("boss", "admin", None, store=store, actor="t")
    app = create_app(Settings(data_dir=store.data_dir, database_url=store.database_url))
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_the_api_stores_the_parcels_posted_and_downloads_them(api: TestClient,
                                                              tmp_path: Path) -> None:
    """POST /api/projects with the parcels as a FeatureCollection: GET the project shows
    them (``site_parcels``), its site downloads as two named parcels."""
    body = {"name": "聊城新材料产业园一期", "county": "371502", "industry": "industrial",
            "investment": "12.5", "responsible_unit": "聊城新材料有限公司",
            "site": _lonlat_parcels()}
    made = api.post("/api/projects", json=body)
    assert made.status_code in (200, 201), made.text
    code = made.json()["code"]
    shown = api.get(f"/api/projects/{code}").json()
    assert [f["properties"]["parcel_name"] for f in shown["site_parcels"]["features"]] == NAMES
    assert shown["site"]["type"] == "Polygon"
    listed = api.get("/api/projects").json()
    assert [[f["properties"]["parcel_name"] for f in p["site_parcels"]["features"]]
            for p in listed] == [NAMES]
    got = api.get(f"/api/projects/{code}/site", params={"format": "geojson"})
    assert got.status_code == 200, got.text
    geojson_parcels(got.content)
    got = api.get(f"/api/projects/{code}/site", params={"format": "shp"})
    assert got.status_code == 200, got.text
    shapefile_parcels(got.content, tmp_path)


def test_the_cli_lists_each_projects_parcels_as_it_shows_them(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``blueprint projects list --format json`` gives each project's ``site_parcels`` as
    ``projects show`` (and the API's list) does: it said null, as for a site stored before
    the parcels were kept; a project without a site says null still."""


    code = create_project(park_project(), site=read_site(write_parcels(tmp_path)),
                          user=STAFF, store=store).code
    bare = create_project(park_project(name="尚无地块的项目"), user=STAFF, store=store).code
    cli_json = json_cli(store, monkeypatch)
    listed = {p["code"]: p for p in cli_json("projects", "list")}
    assert sorted(listed) == sorted([code, bare])
    parcels = listed[code]["site_parcels"]
    assert parcels is not None, "the list said the project kept no parcels"
    assert [f["properties"]["parcel_name"] for f in parcels["features"]] == NAMES
    assert parcels == cli_json("projects", "show", code)["site_parcels"]
    assert listed[bare]["site_parcels"] is None and listed[bare]["site"] is None


def test_the_review_of_an_older_site_version_lists_its_own_parcels(city: Store,  # noqa: F811
                                                                   tmp_path: Path) -> None:
    """Vetted with the two parcels, then revised to the park site (one parcel) and not
    vetted again: the report stored counts two parcels, and the 初审意见书 (of that report)
    lists the corners of each of the two, not those of their union or of the park."""
    given = read_site(write_parcels(tmp_path))
    code = create_project(park_project(), site=given, user=STAFF, store=city).code
    vet_project(code, user=STAFF, store=city)
    revise_project(code, user=STAFF, store=city, reason="调整地块",
                   site=site("01_park_clean.txt"))
    assert get_project(code, store=city).site_version == 2
    stored = latest_report(code, store=city)
    assert stored is not None and stored.site_version == 1
    assert stored.report["site"]["parcels"] == 2
    review = project_review(code, store=city)
    assert len(review.parcels) == 2
    html = review_html(review, store=city)
    rows = re.findall(r"<tr><td>(\d+)</td><td>外环</td><td>(J\d+)</td>", html)
    assert [p for p, _ in rows] == ["1"] * 5 + ["2"] * 5, rows
    # the corners listed are those written for each parcel (X northing, Y easting)
    listed = re.findall(r"<tr><td>\d+</td><td>外环</td><td>J\d+</td>\s*"
                        r"<td class=\"num\">([\d.]+)</td><td class=\"num\">([\d.]+)</td>",
                        html)
    assert len(listed) == 10
    written = {(north, east - 39_000_000) for _, _, n0, n1, e0, e1 in PARCELS
               for north in (n0, n1) for east in (e0, e1)}
    assert {(round(float(x)), round(float(y))) for x, y in listed} == written
    # the current site (the park) downloads as its own one parcel
    current = read_coordinate_file(export_project_site(code, "coordfile", store=city).data)
    assert len(current.parcels) == 1


# ----- the migration, and a backup


def _columns(store: Store, table: str) -> set[str]:
    import warnings

    with store.engine.connect() as conn, warnings.catch_warnings():
        # the inspector does not know PostGIS's geometry type: the names are all we read
        warnings.filterwarnings("ignore", "Did not recognize type", sa.exc.SAWarning)
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def test_0017_downgrades_and_upgrades_a_store_with_projects(store: Store,
                                                            tmp_path: Path) -> None:
    """Down to 0016 the columns go and ``project_sites`` stays append-only (no batch
    rebuild dropped its triggers); up again a site stored without parcels is read as its
    outline's polygons (two touching parcels: one), and a revision keeps parcels again."""
    given = read_site(write_parcels(tmp_path))
    code = create_project(park_project(), site=given, user=STAFF, store=store).code
    downgrade(store, "0016_problem_dispatch")
    assert "parcels" not in _columns(store, "project_sites")
    assert "site_parcels" not in _columns(store, "projects")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE project_sites SET reason = 'x'"))
    assert upgrade(store) == HEAD
    assert {"parcels"} <= _columns(store, "project_sites")
    assert {"site_parcels"} <= _columns(store, "projects")
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT parcels FROM project_sites")).scalars().all() \
            == [None]
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE project_sites SET reason = 'x'"))
    project = get_project(code, store=store)
    assert project.site_parcels == () and project.to_dict()["site_parcels"] is None
    outline = read_coordinate_file(export_project_site(code, "coordfile", store=store).data)
    assert len(outline.parcels) == 1  # no parcels kept: the outline, as before 0017
    revise_project(code, user=STAFF, store=store, reason="重新上传地块", site=given)
    geojson_parcels(export_project_site(code, "geojson", store=store).data)


def test_a_backup_and_restore_keeps_the_parcels(store: Store, tmp_path: Path) -> None:
    """Backed up with its two parcels, revised to the park after the backup: restored, the
    project has its two parcels again, and its first site version has them too."""
    code = create_project(park_project(), site=read_site(write_parcels(tmp_path)),
                          user=STAFF, store=store).code
    archive = tmp_path / "backup.tar.gz"
    backup_store(archive, store=store)
    revise_project(code, user=STAFF, store=store, reason="调整地块",
                   site=site("01_park_clean.txt"))
    assert get_project(code, store=store).site_parcels != ()
    assert [p.attributes for p in get_project(code, store=store).site_parcels] != GIVEN
    restore_store(archive, store=store, force=True)
    project = get_project(code, store=store)
    assert project.site_version == 1
    assert [p.attributes for p in project.site_parcels] == GIVEN
    geojson_parcels(export_project_site(code, "geojson", store=store).data)
    with store.engine.connect() as conn:
        stored = json.loads(conn.execute(sa.text("SELECT parcels FROM project_sites")).scalar_one())
    assert [{k: v for k, v in p.items() if k != "wkb"} for p in stored] == GIVEN


def test_a_refused_form_keeps_the_parcels_of_its_file_with_their_names(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """保存为项目 with the coordinate file and a 总投资 of 0 (refused): the form keeps the
    file's site in its field parcel by parcel with each parcel's name and land use, and sent
    again without the file the project has them."""
    import html

    from tests.test_pages import _client, _csrf, _login, _users

    _users(city)
    path = write_parcels(tmp_path)
    fields = {"name": "两个相邻地块项目", "county": "371502", "industry": "industrial",
              "investment": "0", "responsible_unit": "聊城某公司"}
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        refused = nr.post("/projects/new", data={"csrf": _csrf(nr, "/projects/new"), **fields},
                          files={"site_file": (path.name, path.read_bytes())})
        assert refused.status_code == 422, refused.text
        kept = re.search(r'name="site" id="bp-site-json" value="([^"]*)"', refused.text)
        source = re.search(r'id="bp-site-source" value="([^"]*)"', refused.text)
        assert kept and source
        features = json.loads(html.unescape(kept.group(1)))["features"]
        assert [{k: f["properties"][k] for k in ("parcel_name", "land_use")}
                for f in features] == GIVEN
        saved = nr.post("/projects/new", follow_redirects=False, data={
            "csrf": _csrf(nr, "/projects/new"), **fields, "investment": "6",
            "site": html.unescape(kept.group(1)), "site_source": html.unescape(source.group(1))})
        assert saved.status_code == 303, saved.text
        code = str(saved.headers["location"]).rsplit("/", 1)[1]
    assert [p.attributes for p in get_project(code, store=city).site_parcels] == GIVEN
    geojson_parcels(export_project_site(code, "geojson", store=city).data)


# ----- a site of one parcel


ONE_PARCEL = SITES / "01_park_clean.txt"


def one_parcel_given() -> dict[str, str]:
    """What ``01_park_clean.txt`` says of its one parcel, read from the file's text (GBK):
    the parcel header's 4th field (地块名称) and 7th (地类用途)."""
    lines = ONE_PARCEL.read_bytes().decode("gbk").splitlines()
    header = lines[lines.index("[地块坐标]") + 1].split(",")
    return {"parcel_name": header[3], "land_use": header[6]}


def test_a_checked_site_of_one_parcel_keeps_its_name_and_land_use_as_a_project(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """The check of a one-parcel coordinate file answers no ``parcel`` feature (the outline
    is the parcel): the outline carries the parcel's name and land use, so the site the map
    posts back (its outline, as check.js's checkedSite sends it) saved as a project keeps
    them, as the same file saved by the core (the CLI's ``--site``) does: one parcel each."""
    given = one_parcel_given()
    assert given == {"parcel_name": "聊城经开区新能源汽车零部件项目", "land_use": "工业用地"}
    token = create_user("boss", "admin", None, store=city, actor="t")
    app = create_app(Settings(data_dir=city.data_dir, database_url=city.database_url))
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        with ONE_PARCEL.open("rb") as fh:
            checked = client.post("/api/vet/file", files={"file": (ONE_PARCEL.name, fh)},
                                  data={"format": "geojson"})
        assert checked.status_code == 200, checked.text
        fc = checked.json()
        assert [f for f in fc["features"] if f["properties"]["role"] == "parcel"] == []
        outline = next(f for f in fc["features"] if f["properties"]["role"] == "site")
        assert {k: outline["properties"].get(k) for k in given} == given
        posted = {"type": "Feature", "geometry": outline["geometry"],
                  "properties": {"name": fc["report"]["site"]["name"],
                                 **{k: outline["properties"][k] for k in given}}}
        made = client.post("/api/projects", json={
            "name": "新能源汽车零部件项目", "county": "371502", "industry": "industrial",
            "investment": "12.5", "responsible_unit": "聊城某公司", "site": posted})
        assert made.status_code == 201, made.text
        shown = client.get(f"/api/projects/{made.json()['code']}").json()
    parcels = shown["site_parcels"]["features"]
    assert [{k: f["properties"].get(k) for k in given} for f in parcels] == [given]
    assert [f["properties"]["parcel_no"] for f in parcels] == ["1"]
    from_file = create_project(park_project(), site=read_site(ONE_PARCEL), user=STAFF,
                               store=city).code
    assert [p.attributes for p in get_project(from_file, store=city).site_parcels] == [given]
    back = read_coordinate_file(export_project_site(made.json()["code"], "coordfile",
                                                    store=city).data).parcels
    assert list(back["parcel_name"]) == [given["parcel_name"]]
