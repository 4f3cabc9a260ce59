"""A site taken away (issue 15): ``blueprint convert``, ``POST /api/sites/download``, a
project's site — as 界址点坐标文件, GeoPackage, GeoJSON and zipped Shapefile.

Every format is written and read back with the reader ``blueprint vet`` uses; every vertex
stays within the coordinate file's stated precision (精度=0.001 m), compared in metres in
the site's Gauss-Krüger zone. The zone follows the site's longitude; the header's area is
shapely's area in that zone; the coordinate file is GBK on the bytes.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import shapely
from fastapi.testclient import TestClient
from projects_support import STAFF, park_project
from shapely.geometry import MultiPoint, MultiPolygon, Polygon, box

from blueprint.analysis.projects import create_project
from blueprint.analysis.site import Site, read_site, site_from_frame, site_from_geojson
from blueprint.analysis.site_export import FORMATS, SHAPEFILE_PARTS, export_site, write_site
from blueprint.layers.coordfile import read_coordinate_file
from blueprint.layers.crs import CGCS2000, to_crs
from blueprint.layers.errors import BadInput
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.conftest import SAMPLE

REPO = Path(__file__).resolve().parents[1]
PRECISION_M = 0.001  # the coordinate file's 精度: coordinates written to the millimetre
NAME = "聊城新材料产业园一期"
PASSWORD = "correct horse battery"


def _lonlat_site(lon: float, lat: float, name: str = NAME) -> Site:
    """Two parcels, the first with a hole and a vertex of full double precision."""
    import geopandas as gpd

    d = 0.004
    outer = [(lon, lat), (lon + d, lat + 0.0000001234567), (lon + d, lat + d),
             (lon + 0.3 * d, lat + 1.1 * d), (lon, lat + d), (lon, lat)]
    hole = [(lon + 0.3 * d, lat + 0.3 * d), (lon + 0.6 * d, lat + 0.3 * d),
            (lon + 0.6 * d, lat + 0.6 * d), (lon + 0.3 * d, lat + 0.3 * d)]
    second = box(lon + 2 * d, lat, lon + 2.5 * d, lat + 0.5 * d)
    frame = gpd.GeoDataFrame({"name": [name, name]}, geometry=[Polygon(outer, [hole]), second],
                             crs=CGCS2000)
    return site_from_frame(frame, name=name, source="test")


SITES = {
    "liaocheng": _lonlat_site(115.98, 36.43),  # zone 39 (117°E)
    "zone38": _lonlat_site(115.40, 36.43),  # 115.4 / 3 = 38.47 → zone 38 (114°E)
    "sample": read_site(SAMPLE / "sites" / "01_park_clean.txt"),
}


def _vertices(site: Site) -> MultiPoint:
    return MultiPoint(shapely.get_coordinates(to_crs(site.geometry, CGCS2000, site.zone_epsg)))


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    folder = tmp_path_factory.mktemp("export")
    paths = {}
    for key, site in SITES.items():
        for code, fmt in FORMATS.items():
            path = folder / f"{key}{fmt.suffix}"
            write_site(site, code, path)
            paths[key, code] = path
    return paths


@pytest.mark.parametrize("key", list(SITES))
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_round_trip_keeps_every_vertex(written, key, fmt):
    site = SITES[key]
    back = read_site(written[key, fmt])
    assert back.warnings == []  # the coordinate file's declared areas agree with its points
    assert back.zone_epsg == site.zone_epsg and back.parcels == site.parcels
    before, after = _vertices(site), _vertices(back)
    assert len(after.geoms) == len(before.geoms)
    assert shapely.hausdorff_distance(before, after) <= PRECISION_M
    assert back.area_m2 == pytest.approx(site.area_m2, abs=0.5)
    assert back.name == site.name


@pytest.mark.parametrize(("key", "zone"), [("liaocheng", 39), ("zone38", 38), ("sample", 39)])
def test_coordinate_file_zone_header_area_and_gbk(written, key, zone):
    site, data = SITES[key], written[key, "coordfile"].read_bytes()
    text = data.decode("gbk").replace("\r\n", "\n")  # CRLF lines
    assert NAME.encode("gbk") in data or site.name.encode("gbk") in data
    assert site.name.encode("utf-8") not in data  # GBK on the bytes, not UTF-8
    assert f"带号={zone}" in text and "几度分带=3" in text and "精度=0.001" in text
    assert "坐标系=2000国家大地坐标系" in text and "投影类型=高斯克吕格" in text
    eastings = [float(m) for m in re.findall(r"^J\d+,\d+,[\d.]+,([\d.]+)$", text, re.M)]
    assert eastings and all(int(e // 1_000_000) == zone for e in eastings)  # zone prefix
    assert site.zone_epsg == 4534 + zone - 25  # the report's area CRS: the same zone
    parsed = read_coordinate_file(data)
    assert parsed.epsg == 4513 + zone - 25
    headers = re.findall(r"^(\d+),([\d.]+),(\d+),([^,]*),面,.*@$", text, re.M)
    parts = site.parcel_geometries or [site.geometry]
    assert len(headers) == len(parts)
    for (_count, area_ha, _no, name), part in zip(headers, parts, strict=True):
        shapely_m2 = to_crs(part, CGCS2000, site.zone_epsg).area
        assert float(area_ha) * 10_000 == pytest.approx(shapely_m2, abs=0.5)  # 4 decimals of ha
        assert name == site.name


def test_shapefile_zip_holds_its_parts_with_utf8_attributes(written):
    with zipfile.ZipFile(written["liaocheng", "shp"]) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(f"site{s}" for s in SHAPEFILE_PARTS)
        assert archive.read("site.cpg").strip().upper() in (b"UTF-8", b"UTF8")
        assert NAME.encode("utf-8") in archive.read("site.dbf")
        assert b"GCS_China_Geodetic_Coordinate_System_2000" in archive.read("site.prj") \
            or b"CGCS2000" in archive.read("site.prj") or b"China" in archive.read("site.prj")


def test_names_the_format_cannot_hold_are_tidied_and_unknown_formats_refused(tmp_path):
    site = _lonlat_site(115.98, 36.43, name="一期,二期\n北区")
    write_site(site, "coordfile", tmp_path / "a.txt")
    assert read_coordinate_file(tmp_path / "a.txt").parcels["parcel_name"][0] == "一期，二期 北区"
    assert export_site(site, "geojson").filename == "一期,二期_北区.geojson"
    with pytest.raises(BadInput):
        export_site(site, "kml")
    with pytest.raises(BadInput, match="gbk") as refused:  # said, not replaced silently
        export_site(_lonlat_site(115.98, 36.43, name="😀地块"), "coordfile")
    # what (the site's name, the character) and where, and what else would do
    assert refused.value.where == "name"
    assert "地块名称“😀地块”中的“😀”" in refused.value.message_zh
    assert "GeoJSON" in refused.value.message_zh
    assert b"\xa3\xc0" in export_site(_lonlat_site(115.98, 36.43, name="@"), "coordfile").data
    multi = site_from_geojson({"type": "MultiPolygon", "coordinates": [
        [[[116.0, 36.4], [116.01, 36.4], [116.01, 36.41], [116.0, 36.4]]],
        [[[116.02, 36.4], [116.03, 36.4], [116.03, 36.41], [116.02, 36.4]]]]})
    back = read_coordinate_file(export_site(multi, "coordfile").data)
    assert isinstance(back.parcels.geometry.iloc[0], MultiPolygon)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_site_with_heights_exports_in_plan(fmt, tmp_path):
    """A site with Z values (a GPS survey's heights) is written and read back in plan: the
    coordinate file once failed on them with a 500."""
    ring = [[116.0, 36.4, 31.5], [116.01, 36.4, 32.0], [116.01, 36.41, 30.2], [116.0, 36.4, 31.5]]
    result = export_site(site_from_geojson({"type": "Polygon", "coordinates": [ring]}), fmt)
    (tmp_path / result.filename).write_bytes(result.data)
    back = shapely.force_2d(read_site(tmp_path / result.filename).geometry)
    plan = Polygon([p[:2] for p in ring])
    assert back.normalize().equals_exact(plan.normalize(), tolerance=1e-7), back.wkt


# --------------------------------------------------------------------------- command line


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {"PYTHONPATH": str(REPO), "BLUEPRINT_DATA_DIR": str(cwd / "bp"),
           "BLUEPRINT_DATABASE_URL": "", "COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "blueprint.service", "convert", *args],
                          cwd=cwd, env=env, capture_output=True, timeout=120)


def test_cli_convert_writes_and_exits_2_on_bad_input(tmp_path):
    site = SAMPLE / "sites" / "01_park_clean.txt"
    done = _cli([str(site), "--to", "shp"], tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    assert "已写出 01_park_clean.zip" in done.stderr.decode()
    back = read_site(tmp_path / "01_park_clean.zip")
    assert back.area_m2 == pytest.approx(read_site(site).area_m2, abs=0.01)
    again = _cli([str(site), "--to", "shp"], tmp_path)  # no silent overwrite
    assert again.returncode == 2 and "已存在" in again.stderr.decode()
    piped = _cli([str(tmp_path / "01_park_clean.zip"), "--to", "coordfile", "-o", "-"], tmp_path)
    assert piped.returncode == 0 and read_coordinate_file(piped.stdout).epsg == 4527
    bad = _cli([str(site), "--to", "kml"], tmp_path)
    assert bad.returncode == 2 and bad.stderr.decode().startswith("error: --to"), bad.stderr


# --------------------------------------------------------------------------- HTTP API


@pytest.fixture
def client(store: Any, tmp_path: Path) -> Any:
    token = create_user("boss", "admin", None, store=store, actor="t")
    code = create_project(park_project(), site=read_site(SAMPLE / "sites" / "01_park_clean.txt"),
                          user=STAFF, store=store).code
    app = create_app(Settings(data_dir=store.data_dir, database_url=store.database_url))
    with TestClient(app, base_url="https://testserver") as client:  # the Secure cookie
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, code


def _filename(answer: Any) -> str:
    found = re.search(r"filename\*=UTF-8''([^;]+)", answer.headers["content-disposition"])
    assert found and answer.headers["content-disposition"].startswith("attachment;")
    return unquote(found.group(1))


def test_api_and_project_page_download_sites(client, tmp_path):
    api, code = client
    feature = {"type": "Feature", "properties": {"name": NAME},
               "geometry": shapely.geometry.mapping(SITES["liaocheng"].parcel_geometries[0])}
    body = {"site": feature, "industry": "industrial", "format": "json"}  # a vet body fits
    types = {"coordfile": "text/plain; charset=gbk", "gpkg": "application/geopackage+sqlite3",
             "geojson": "application/geo+json", "shp": "application/zip"}
    for fmt, media in types.items():
        answer = api.post("/api/sites/download", params={"format": fmt}, json=body)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].lower() == media
        name = _filename(answer)
        assert name == NAME + FORMATS[fmt].suffix
        path = tmp_path / name
        path.write_bytes(answer.content)
        back = read_site(path)
        assert shapely.hausdorff_distance(
            to_crs(back.geometry, CGCS2000, 4548),
            to_crs(SITES["liaocheng"].parcel_geometries[0], CGCS2000, 4548)) <= PRECISION_M
    named = api.post("/api/sites/download", json={"site": feature, "name": "二号地块"})
    assert _filename(named) == "二号地块.txt" and "二号地块".encode("gbk") in named.content
    for query, sent in (({"format": "kml"}, body), ({}, {"site": {"type": "Point",
                                                                   "coordinates": [116, 36]}})):
        refused = api.post("/api/sites/download", params=query, json=sent)
        assert refused.status_code == 422 and refused.json()["message_zh"], refused.text
    got = api.get(f"/api/projects/{code}/site", params={"format": "gpkg"})
    assert got.status_code == 200 and _filename(got) == f"{code}-{park_project().name}.gpkg"
    assert api.get(f"/api/projects/{code}/site").headers["content-type"].startswith("text/plain")
    anonymous = api.get(f"/api/projects/{code}/site", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert api.get("/api/projects/LC-1999-9999/site").status_code == 404
    # the project page (signed in) offers the same four files
    create_user("wang", "nr_staff", None, store=api.app.state.store, actor="t",
                password=PASSWORD)
    api.headers.pop("Authorization")
    assert api.get(f"/projects/{code}/site", follow_redirects=False).status_code == 303
    token = re.search(r'name="login_token" value="([^"]+)"', api.get("/login").text)
    assert token
    api.post("/login", data={"name": "wang", "password": PASSWORD,
                             "login_token": token.group(1), "next": "/projects"})
    page = api.get(f"/projects/{code}").text
    assert "下载地块" in page and f"/projects/{code}/site?format=shp" in page
    got = api.get(f"/projects/{code}/site", params={"format": "shp"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(got.content)).namelist()[0] == "site.shp"


def test_a_project_without_a_site_has_none_to_download(client):
    """Not "cannot be vetted": the download says there is no site to download (404), on the
    API and on the project page."""
    api, _ = client
    bare = create_project(park_project(name="尚无地块的项目"), user=STAFF,
                          store=api.app.state.store).code
    answer = api.get(f"/api/projects/{bare}/site")
    assert answer.status_code == 404, answer.text
    assert answer.json()["message_zh"] == f"项目“{bare}”尚无用地范围，没有可下载的地块"
    assert "审查" not in answer.json()["message_zh"]
    create_user("wang", "nr_staff", None, store=api.app.state.store, actor="t",
                password=PASSWORD)
    api.headers.pop("Authorization")
    token = re.search(r'name="login_token" value="([^"]+)"', api.get("/login").text)
    assert token
    api.post("/login", data={"name": "wang", "password": PASSWORD,
                             "login_token": token.group(1), "next": "/projects"})
    page = api.get(f"/projects/{bare}/site")
    assert page.status_code == 404 and "没有可下载的地块" in page.text


def test_a_project_of_two_parcels_downloads_as_two(client):
    """A project's stored site is one MultiPolygon: its file holds a parcel for each of its
    polygons, as many as its report's 地块数, not one parcel with a second outer ring."""
    api, _ = client
    two = read_site(SAMPLE / "sites" / "07_multi_parcel.txt")
    code = create_project(park_project(county="371523"), site=two, user=STAFF,
                          store=api.app.state.store).code
    answer = api.get(f"/api/projects/{code}/site")
    assert answer.status_code == 200, answer.text
    back = read_coordinate_file(answer.content)
    assert len(back.parcels) == two.parcels == 2
    assert sorted(round(g.area / 10_000, 4) for g in back.parcels.geometry) == [4.16, 6.0]


def _touching_parcels(lon: float = 115.98, lat: float = 36.43, d: float = 0.004
                      ) -> dict[str, Any]:
    """Two parcels sharing an edge, as a file or a drawing gives them (lon/lat)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name},
         "geometry": shapely.geometry.mapping(box(lon + i * d, lat, lon + (i + 1) * d, lat + d))}
        for i, name in enumerate(("东地块", "西地块"))]}


def test_a_checked_site_of_two_touching_parcels_downloads_as_two(client):
    """The map's 下载地块 posts what the check answered: its outline dissolves two touching
    parcels into one polygon, so the answer carries the parcels as given (role "parcel")
    and the file written from them holds two parcel blocks, each of its own area."""
    api, _ = client
    checked = api.post("/api/vet", json={"site": _touching_parcels(), "industry": "industrial",
                                         "format": "geojson"})
    assert checked.status_code == 200, checked.text
    fc = checked.json()
    outline = [f for f in fc["features"] if f["properties"]["role"] == "site"]
    assert outline[0]["geometry"]["type"] == "Polygon"  # dissolved: one polygon
    parcels = [f for f in fc["features"] if f["properties"]["role"] == "parcel"]
    assert [p["properties"]["parcel_no"] for p in parcels] == ["1", "2"]
    # what check.js posts (checkedSite): the parcels, named as the report names the site
    sent = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": p["geometry"]} for p in parcels]}
    answer = api.post("/api/sites/download",
                      json={"site": sent, "name": fc["report"]["site"]["name"]})
    assert answer.status_code == 200, answer.text
    back = read_coordinate_file(answer.content)
    assert len(back.parcels) == fc["report"]["site"]["parcels"] == 2
    halves = [round(g.area, 1) for g in back.parcels.geometry]
    assert halves[0] == pytest.approx(halves[1], rel=1e-3)
    assert sum(halves) == pytest.approx(fc["report"]["site"]["area_m2"], abs=0.5)
    # and its 初审意见书 (the same parcels posted) lists the points parcel by parcel
    review = api.post("/api/vet/report.html", json={"site": sent, "industry": "industrial"})
    assert review.status_code == 200, review.text
    rows = re.findall(r"<tr><td>(\d+)</td><td>外环</td>", review.text)
    assert sorted(set(rows)) == ["1", "2"]


MULTI = SAMPLE / "sites" / "07_multi_parcel.txt"
MULTI_NAMES = ["茌平铝材深加工项目一号地块", "茌平铝材深加工项目二号地块"]


@pytest.mark.parametrize("fmt", ["coordfile", "gpkg"])
def test_each_parcel_keeps_its_name_and_land_use(fmt, tmp_path):
    """A coordinate file's parcels each have a name and a land use (工业用地): the file
    written from it has them parcel by parcel, not the site's name twice and no use."""
    import pyogrio

    site = read_site(MULTI)
    path = tmp_path / f"site{FORMATS[fmt].suffix}"
    write_site(site, fmt, path)
    parcels = read_coordinate_file(path).parcels if fmt == "coordfile" \
        else pyogrio.read_dataframe(path)
    assert list(parcels["parcel_name"]) == MULTI_NAMES
    assert list(parcels["land_use"]) == ["工业用地", "工业用地"]


def test_the_map_carries_each_parcels_name_and_land_use_to_its_file(client):
    """The check of a coordinate file answers its parcels with their names and land use;
    posted back as the map posts them, the downloaded file has them too."""
    api, _ = client
    with MULTI.open("rb") as fh:
        fc = api.post("/api/vet/file", files={"file": ("07.txt", fh)},
                      data={"format": "geojson"}).json()
    parcels = [f for f in fc["features"] if f["properties"]["role"] == "parcel"]
    assert [p["properties"]["parcel_name"] for p in parcels] == MULTI_NAMES
    sent = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": p["geometry"], "properties": {
            k: p["properties"][k] for k in ("parcel_name", "land_use")}} for p in parcels]}
    answer = api.post("/api/sites/download",
                      json={"site": sent, "name": fc["report"]["site"]["name"]})
    assert answer.status_code == 200, answer.text
    back = read_coordinate_file(answer.content).parcels
    assert list(back["parcel_name"]) == MULTI_NAMES
    assert list(back["land_use"]) == ["工业用地", "工业用地"]


def test_a_shapefile_keeps_each_parcels_name_in_ten_letters_and_reads_it_back(tmp_path):
    """A DBF column name has at most 10 letters: the Shapefile names ``parcel_name``
    ``parcelname`` itself (GDAL cut it to ``parcel_nam``, with a warning, which nothing read
    back), and reading the file gives each parcel its name and land use again."""
    import warnings

    import pyogrio

    path = tmp_path / "site.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # GDAL's laundering of a long name is a warning
        write_site(read_site(MULTI), "shp", path)
    written = pyogrio.read_dataframe(f"/vsizip/{path}/site.shp")
    assert list(written["parcelname"]) == MULTI_NAMES
    back = read_site(path)
    assert [a.get("parcel_name") for a in back.parcel_attributes] == MULTI_NAMES
    assert [a.get("land_use") for a in back.parcel_attributes] == ["工业用地", "工业用地"]
