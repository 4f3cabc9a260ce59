"""Every place that takes a site or a condition area as GeoJSON refuses bad geometry alike.

The JSON API (``POST /api/vet``, ``/api/vet/report.html``, ``/api/sites/download``,
``/api/projects`` and ``/api/projects/{code}/revise`` with a site, ``/api/rounds/{id}/answers``
with a condition area) and the pages (the map's drawn site posted to ``/projects/new``, the
inbox's drawn condition area) get each geometry of :data:`BAD`: a 422 (never a 5xx) whose
body carries the fragment in ``message_zh`` (the same words the file routes use, see
``tests/data/bad/expected.toml``), an English ``message`` and a ``where``, no traceback,
and the store unchanged (no row, no audit entry), on both engines. The module's store per
engine is the one of ``tests/test_bad_corpus.py`` (site vertex cap 1,000).
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

import pytest
from projects_support import park_project, site

from blueprint.analysis.projects import create_project, get_project
from blueprint.analysis.site import read_site
from blueprint.layers.users import User, create_user
from tests.test_bad_corpus import BOTH, Bench, bench  # noqa: F401 - the module's store

X, Y, D = 116.036, 36.439, 0.002  # 东昌府区, inside the sample city


def ring(x: float = X, y: float = Y, d: float = D) -> list[list[float]]:
    return [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]


def poly(positions: Any = None) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring() if positions is None else positions]}


def feature(geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {}}


def collection(*geometries: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [feature(g) for g in geometries]}


def nested(depth: int) -> dict[str, Any]:
    value: Any = [X, Y]
    for _ in range(depth):
        value = [value]
    return {"type": "Polygon", "coordinates": value}


def named_crs(name: str) -> dict[str, Any]:
    return {"type": "name", "properties": {"name": name}}


def circle(n: int) -> dict[str, Any]:
    points = [[X + 0.001 * math.cos(2 * math.pi * i / n), Y + 0.001 * math.sin(2 * math.pi * i / n)]
              for i in range(n)]
    return poly(points + [points[0]])


POINT = {"type": "Point", "coordinates": [X, Y]}
POLYGONS = "用地范围必须是面"
NO_GEOMETRY = "地块没有几何图形"
TOO_FEW = "闭合圈至少需要 4 个点"
UNCLOSED = "多边形的圈未闭合（首尾点不同）"
INVALID = "地块图形无效（自相交等）"
NOT_FINITE = "坐标含有非数值（NaN）或无穷大"
NOT_A_NUMBER = "坐标须为数字"
POSITION = "每个坐标须为 2 个数（经度、纬度），可另带高程"
STRUCTURE = "GeoJSON 几何格式有误"
METRES = "坐标数值是米而坐标系声明为经纬度"
BEYOND_DEGREES = "坐标超出经纬度的取值范围"
SWAPPED = "X、Y 坐标疑似颠倒"
NOT_IN_CHINA = "坐标不在声明的坐标系的中国范围内"
NOT_LONLAT = "提交的地块须为经纬度坐标（CGCS2000，EPSG:4490），不能是 EPSG:4548"
TOO_LARGE_V = "地块有 1,001 个顶点，超过上限 1,000 个"

#: (id, the GeoJSON sent, the fragment of ``message_zh``)
BAD: list[tuple[str, Any, str]] = [
    ("point", POINT, POLYGONS),
    ("multipoint", {"type": "MultiPoint", "coordinates": [[X, Y]]}, POLYGONS),
    ("linestring", {"type": "LineString", "coordinates": ring()}, POLYGONS),
    ("multilinestring", {"type": "MultiLineString", "coordinates": [ring()]}, POLYGONS),
    ("geometrycollection", {"type": "GeometryCollection", "geometries": [poly()]}, POLYGONS),
    ("feature-point", feature(POINT), POLYGONS),
    ("feature-null-geometry", feature(None), NO_GEOMETRY),
    ("feature-without-geometry", {"type": "Feature", "properties": {}}, "第 1 个要素缺少 geometry"),
    ("collection-0", collection(), "GeoJSON 中没有要素"),
    ("collection-1-point", collection(POINT), POLYGONS),
    ("collection-2-one-point", collection(poly(), POINT), POLYGONS),
    ("collection-null-geometry", collection(None), NO_GEOMETRY),
    ("collection-features-object", {"type": "FeatureCollection", "features": {"a": 1}},
     "features 须为要素数组"),
    ("collection-feature-number", {"type": "FeatureCollection", "features": [1]},
     "第 1 个要素不是 GeoJSON 要素"),
    ("unknown-type", {"type": "Circle", "coordinates": [X, Y]}, "不支持的 GeoJSON 类型“Circle”"),
    ("geometry-string", feature("POLYGON((0 0,1 0,1 1,0 0))"), "geometry 须为 GeoJSON 几何对象"),
    ("polygon-no-coordinates", {"type": "Polygon"}, NO_GEOMETRY),
    ("polygon-empty", {"type": "Polygon", "coordinates": []}, NO_GEOMETRY),
    ("multipolygon-empty", {"type": "MultiPolygon", "coordinates": []}, NO_GEOMETRY),
    ("ring-empty", {"type": "Polygon", "coordinates": [[]]}, TOO_FEW),
    ("ring-2-positions", poly(ring()[:1] + ring()[:1]), TOO_FEW),
    ("ring-3-positions", poly(ring()[:2] + ring()[:1]), TOO_FEW),
    ("ring-not-closed", poly(ring()[:4]), UNCLOSED),
    ("bow-tie", poly([[X, Y], [X + D, Y + D], [X + D, Y], [X, Y + D], [X, Y]]), INVALID),
    ("hole-outside-shell", {"type": "Polygon", "coordinates": [
        ring(), ring(X + 0.01, Y + 0.01, 0.001)]}, INVALID),
    ("zero-area", poly([[X, Y], [X + D, Y], [X + 2 * D, Y], [X, Y]]), INVALID),
    ("zero-area-one-point", poly([[X, Y]] * 4), INVALID),
    ("overlapping-parts", {"type": "MultiPolygon", "coordinates": [
        [ring()], [ring(X + D / 2)]]}, INVALID),
    ("4d", poly([p + [10.0, 1.0] for p in ring()]), POSITION),
    ("1-number", poly([p[:1] for p in ring()]), POSITION),
    ("5-numbers", poly([p + [1.0, 2.0, 3.0] for p in ring()]), POSITION),
    ("string-number", poly([[str(p[0]), p[1]] for p in ring()]), NOT_A_NUMBER),
    ("boolean-number", poly([[True, p[1]] for p in ring()]), NOT_A_NUMBER),
    ("null-number", poly([[None, p[1]] for p in ring()]), NOT_A_NUMBER),
    ("position-object", poly([{"x": X, "y": Y}] * 5), STRUCTURE),
    ("coordinates-string", {"type": "Polygon", "coordinates": "116 36"}, STRUCTURE),
    ("ring-number", {"type": "Polygon", "coordinates": [5]}, STRUCTURE),
    ("multipolygon-one-level-short", {"type": "MultiPolygon", "coordinates": [ring()]},
     STRUCTURE),
    ("polygon-one-level-deep", {"type": "Polygon", "coordinates": [[ring()]]}, STRUCTURE),
    ("deep-nesting", nested(900), STRUCTURE),
    ("nan", poly([[math.nan, Y]] + ring()[1:]), NOT_FINITE),
    ("infinity", poly([[math.inf, Y]] + ring()[1:]), NOT_FINITE),
    ("1e400", poly([[float("1e400"), Y]] + ring()[1:]), NOT_FINITE),
    ("gauss-krueger-metres", poly(ring(39500000, 4000000, 100)), METRES),
    ("metres-without-zone", poly(ring(500000, 4000000, 100)), METRES),
    ("latitude-beyond-90", poly(ring(116, 95)), BEYOND_DEGREES),
    ("longitude-beyond-180", poly(ring(216, 36)), BEYOND_DEGREES),
    ("swapped-lat-lon", poly([[p[1], p[0]] for p in ring(115.9, 36.4)]), SWAPPED),
    ("outside-china", poly(ring(2.35, 48.85)), NOT_IN_CHINA),
    ("antimeridian", poly([[179.9, 10], [-179.9, 10], [-179.9, 11], [179.9, 11], [179.9, 10]]),
     NOT_IN_CHINA),
    ("too-many-vertices", circle(1000), TOO_LARGE_V),
    ("too-many-features", collection(*[poly(ring(X + i * 0.0003, Y, 0.0001))
                                       for i in range(251)]), "个顶点，超过上限 1,000 个"),
    ("crs-projected", {**poly(), "crs": named_crs("EPSG:4548")}, NOT_LONLAT),
    ("crs-projected-urn", {**collection(poly()), "crs": named_crs(
        "urn:ogc:def:crs:EPSG::4548")}, "不能是 urn:ogc:def:crs:EPSG::4548"),
    ("crs-projected-on-a-feature-geometry", feature({**poly(), "crs": named_crs("EPSG:4548")}),
     NOT_LONLAT),
    ("crs-link", {**poly(), "crs": {"type": "link", "properties": {"href": "http://x/y"}}},
     "不接受链接或文件路径"),
    ("properties-list", {**feature(poly()), "properties": [1]}, "properties 须为对象"),
]

ROUTES = ["api-vet", "api-report-html", "api-download", "api-project", "api-revise",
          "api-answer", "web-project", "web-condition"]


@pytest.fixture(scope="module")
def extra(bench: Bench) -> dict[str, Any]:  # noqa: F811 - the imported fixture
    """A project still in 策划生成 (revisable) and a department's token, made before any
    fingerprint is taken."""
    staff = User("geo_staff", "nr_staff", "371502")
    code = create_project(park_project(), site=site("01_park_clean.txt"), user=staff,
                          store=bench.store).code
    token = create_user("geo_dept", "department", None, store=bench.store, actor="test",
                        department="nr")
    return {"code": code, "department": token}


def _web(client: Any, page: str, url: str, data: dict[str, str]) -> tuple[int, str]:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
    assert csrf
    answer = client.post(url, follow_redirects=False, data={"csrf": csrf.group(1), **data})
    return answer.status_code, html.unescape(answer.text)


def send(bench: Bench, extra: dict[str, Any], route: str, value: Any  # noqa: F811
         ) -> tuple[int, str, dict[str, Any] | None]:
    """``value`` as the site (or condition area) of ``route``: status, text, error body."""
    staff = {"Authorization": f"Bearer {bench.tokens['nr_staff']}"}
    dept = {"Authorization": f"Bearer {extra['department']}"}
    site_json = json.dumps(value)  # NaN and Infinity as Python's json writes them
    if route.startswith("web-"):
        if route == "web-project":
            return (*_web(bench.web, "/projects/new", "/projects/new", {
                "site": site_json, "name": "绘制地块项目", "county": "371502",
                "industry": "industrial", "investment": "6", "responsible_unit": "聊城某公司",
                "origin": "attracted"}), None)
        return (*_web(bench.department, f"/inbox?round={bench.round_id}",
                      f"/inbox/{bench.round_id}/answer", {
                          "condition": site_json, "answer": "conditional",
                          "text": "须避让生态保护红线"}), None)
    project = {"name": "绘制地块项目", "county": "371502", "industry": "industrial",
               "investment": "6", "responsible_unit": "聊城某公司"}
    method_url_body = {
        "api-vet": ("/api/vet", {"site": None}, {}),
        "api-report-html": ("/api/vet/report.html", {"site": None}, {}),
        "api-download": ("/api/sites/download", {"site": None}, {}),
        "api-project": ("/api/projects", {**project, "site": None}, staff),
        "api-revise": (f"/api/projects/{extra['code']}/revise",
                       {"reason": "调整用地范围", "site": None}, staff),
        "api-answer": (f"/api/rounds/{bench.round_id}/answers",
                       {"answer": "conditional", "text": "须避让", "condition": None}, dept),
    }
    url, body, headers = method_url_body[route]
    key = "condition" if "condition" in body else "site"
    text = json.dumps(body).replace(f'"{key}": null', f'"{key}": {site_json}')
    answer = bench.client.post(url, content=text, headers={
        **headers, "Content-Type": "application/json", "Idempotency-Key": f"geo-{route}"})
    if answer.status_code < 400:  # a report, a project, or a file (the download: GBK)
        return answer.status_code, answer.content.decode("utf-8", "replace"), None
    return answer.status_code, answer.text, answer.json()


@pytest.mark.parametrize("bench", BOTH, indirect=True)
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(("value", "fragment"), [pytest.param(v, f, id=i) for i, v, f in BAD])
def test_bad_geojson_is_refused_alike_everywhere_and_changes_nothing(
        bench: Bench, extra: dict[str, Any], route: str, value: Any,  # noqa: F811
        fragment: str) -> None:
    before = bench.fingerprint()
    status, text, body = send(bench, extra, route, value)
    assert status == 422, (route, status, text[:600])  # every route, both engines
    assert "Traceback" not in text and "internal error" not in text, text[:600]
    assert "/tmp/" not in text
    assert fragment in text, (route, fragment, text[:600] if body is None else body)
    if body is not None:
        assert body["message"] and body["where"] and fragment in body["message_zh"], body
        assert body["where"].startswith(FIELD[route]), body  # the body's field, not "geojson"
        assert not re.search(r"Exception|Error|attribute|subscriptable|iterable|float\(",
                             body["message"]), body
    assert bench.fingerprint() == before, route


#: the body field each JSON route takes the GeoJSON in
FIELD = {"api-vet": "body.site", "api-report-html": "body.site", "api-download": "body.site",
         "api-project": "body.site", "api-revise": "body.site", "api-answer": "body.condition"}

#: (id, the GeoJSON sent, the path under the field that ``where`` names)
PLACED: list[tuple[str, Any, str]] = [
    ("position-of-a-polygon", poly(ring()[:3] + [[X, "36"]] + ring()[4:]), ".coordinates[0][3]"),
    ("position-in-a-collection", collection(poly(), poly([[X, Y, 1, 2]] + ring()[1:])),
     ".features[1].geometry.coordinates[0][0]"),
    ("ring-of-a-multipolygon", {"type": "MultiPolygon", "coordinates": [[ring()],
                                                                      [ring()[:4]]]},
     ".coordinates[1][0]"),
    ("bow-tie-feature", feature(poly([[X, Y], [X + D, Y + D], [X + D, Y], [X, Y + D], [X, Y]])),
     ".geometry"),
    ("point-in-a-collection", collection(poly(), POINT), ".features[1].geometry"),
    ("crs-of-a-feature-geometry", feature({**poly(), "crs": named_crs("EPSG:4548")}),
     ".geometry.crs"),
    ("features-object", {"type": "FeatureCollection", "features": {"a": 1}}, ".features"),
    ("metres", poly(ring(39500000, 4000000, 100)), ""),
    ("too-many-vertices", circle(1000), ""),
]


@pytest.mark.parametrize("bench", BOTH, indirect=True)
@pytest.mark.parametrize("route", list(FIELD))
@pytest.mark.parametrize(("value", "path"), [pytest.param(v, p, id=i) for i, v, p in PLACED])
def test_a_refusal_names_the_body_field_the_geojson_came_in(
        bench: Bench, extra: dict[str, Any], route: str, value: Any,  # noqa: F811
        path: str) -> None:
    """``where`` is the JSON path in the request body (``body.site.coordinates[0][3]``,
    ``body.condition.features[1].geometry``), as a validation error of the body says it
    (it was ``geojson: coordinates[0][3]``, naming no field)."""
    status, text, body = send(bench, extra, route, value)
    assert status == 422 and body is not None, (route, status, text[:600])
    assert body["where"] == FIELD[route] + path, body


@pytest.mark.parametrize("bench", BOTH, indirect=True)
@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("value", [pytest.param(poly(ring(39500000, 4000000, 100)), id="metres"),
                                   pytest.param(poly(ring(2.35, 48.85)), id="outside-china")])
def test_a_wrong_crs_is_advised_the_geojson_way(
        bench: Bench, extra: dict[str, Any], route: str, value: Any) -> None:  # noqa: F811
    """Coordinates that are no lon/lat in China tell a GeoJSON sender how GeoJSON gives the
    CRS (lon/lat by default, a ``crs`` member naming a lon/lat CRS), not the command line's
    ``--crs`` or the upload form's 坐标系 (the file routes' advice, which they keep)."""
    status, text, body = send(bench, extra, route, value)
    assert status == 422, (route, status, text[:600])
    said = text if body is None else body["message_zh"]
    assert "提交的 GeoJSON 须为经纬度坐标" in said and "crs 成员只可声明经纬度坐标系" in said, said
    assert "--crs" not in said and "网页上传" not in said, said
    if body is not None:
        assert '"crs" member may name only a lon/lat CRS' in body["message"], body
        assert "--crs" not in body["message"] and "uploading" not in body["message"], body


@pytest.mark.parametrize("bench", BOTH, indirect=True)
@pytest.mark.parametrize("route", ["web-project", "web-condition"])
@pytest.mark.parametrize("text", ["[1]", "5", '"site"', "null", "[" * 100_000 + "]" * 100_000,
                                  "{not json"], ids=["array", "number", "string", "null",
                                                     "deep", "not-json"])
def test_drawn_text_that_is_no_geojson_object_is_refused_and_changes_nothing(
        bench: Bench, extra: dict[str, Any], route: str, text: str) -> None:  # noqa: F811
    """What the map posts is checked as text first: JSON that is not an object (the inbox
    took it for no condition area and stored the answer), or nesting deeper than the
    parser goes (a 500), is a 4xx page."""
    before = bench.fingerprint()
    if route == "web-project":
        status, page = _web(bench.web, "/projects/new", "/projects/new", {
            "site": text, "name": "绘制地块项目", "county": "371502", "industry": "industrial",
            "investment": "6", "responsible_unit": "聊城某公司", "origin": "attracted"})
        fragments = ("地块数据无效", "不是有效的 GeoJSON")
    else:
        status, page = _web(bench.department, f"/inbox?round={bench.round_id}",
                            f"/inbox/{bench.round_id}/answer", {
                                "condition": text, "answer": "conditional",
                                "text": "须避让生态保护红线"})
        fragments = ("条件范围数据无效",)
    assert status == 422, (status, page[:300])
    assert "Traceback" not in page and any(f in page for f in fragments), page[-2000:]
    assert bench.fingerprint() == before


@pytest.mark.parametrize("bench", BOTH, indirect=True)
def test_an_altitude_is_dropped_and_the_site_stored_alike(
        bench: Bench, extra: dict[str, Any]) -> None:  # noqa: F811
    """3-D positions (GeoJSON's altitude), some or all, are a site: 201 on both engines,
    stored in 2-D."""
    site = poly([p + [30.0] if i % 2 else p for i, p in enumerate(ring())])  # mixed too
    answer = bench.client.post("/api/projects", json={
        "name": "带高程地块", "county": "371502", "industry": "industrial", "investment": "6",
        "responsible_unit": "聊城某公司", "site": site, "vet": False},
        headers={"Authorization": f"Bearer {bench.tokens['nr_staff']}"})
    assert answer.status_code == 201, answer.text
    stored = bench.client.get(f"/api/projects/{answer.json()['code']}",
                              headers={"Authorization": f"Bearer {bench.tokens['nr_staff']}"})
    assert stored.status_code == 200, stored.text
    coords = stored.json()["site"]["coordinates"]
    assert {len(p) for p in coords[0]} == {2}, coords


@pytest.mark.parametrize("bench", BOTH, indirect=True)
@pytest.mark.parametrize(("bbox", "fragment"), [
    ("1,2,3", "bbox 参数格式有误"), (",,,", "bbox 参数格式有误"),
    ("115.9,36.4,116.1,36.5,9", "bbox 参数格式有误"), ("nan,0,1,1", "bbox 参数必须是有限数值"),
    ("1e400,0,1e400,1", "bbox 参数必须是有限数值"), ("179,0,-179,1", "bbox 最小值大于最大值")])
def test_a_bad_bbox_of_the_layer_api_says_where(bench: Bench, bbox: str,  # noqa: F811
                                                fragment: str) -> None:
    """The map's other geometry input, ``bbox`` of ``/api/layers/{name}/features``: 422
    naming ``bbox`` on both engines (it said where: null)."""
    answer = bench.client.get("/api/layers/red/features", params={"bbox": bbox})
    assert answer.status_code == 422, answer.text
    assert answer.json()["where"] == "bbox" and fragment in answer.json()["message_zh"]


@pytest.mark.parametrize("bench", BOTH, indirect=True)
@pytest.mark.parametrize("simplify", ["nan", "inf", "-inf"])
def test_a_simplify_that_is_no_number_is_said_to_be_none(bench: Bench,  # noqa: F811
                                                         simplify: str) -> None:
    """``simplify=nan`` (or an infinity) of the layer API is refused as no finite number;
    it said 须不大于 1.0 (NaN compares false with the bound), wrong for ``nan``."""
    answer = bench.client.get("/api/layers/red/features", params={"simplify": simplify})
    assert answer.status_code == 422, answer.text
    assert answer.json()["where"] == "query.simplify"
    assert answer.json()["message_zh"] == "请求参数有误（query.simplify）：须为有限的数"


def test_a_site_file_with_altitudes_is_stored_alike(store: Any, tmp_path: Any) -> None:
    """A file whose positions carry an altitude (the file routes: uploads, the CLI) makes a
    2-D site: PostGIS refused the project with a DataError (a 500) while SQLite stored Z."""
    path = tmp_path / "z.geojson"
    path.write_text(json.dumps(collection(poly([p + [5.0] for p in ring()]))), encoding="utf-8")
    made = read_site(path)
    assert not made.geometry.has_z and not any(g.has_z for g in made.parcel_geometries)
    code = create_project(park_project(), site=made, user=User("geo", "nr_staff", "371502"),
                          store=store).code
    stored = get_project(code, store=store).site
    assert stored is not None and not stored.has_z
    assert stored.equals(made.geometry)


def test_a_site_file_in_metres_keeps_the_file_routes_advice(tmp_path: Any) -> None:
    """The same coordinates in a file (the command line, an upload) are advised the file
    way: ``--crs``, or the upload form's 坐标系."""
    from blueprint.layers.errors import UnknownCRS

    path = tmp_path / "metres.geojson"
    path.write_text(json.dumps(collection(poly(ring(39500000, 4000000, 100)))),
                    encoding="utf-8")
    with pytest.raises(UnknownCRS) as caught:
        read_site(path)
    assert METRES in caught.value.message_zh and "命令行用 --crs" in caught.value.message_zh
    assert "提交的 GeoJSON" not in caught.value.message_zh


GOOD: list[tuple[str, Any]] = [
    ("polygon", poly()),
    ("polygon-with-hole", {"type": "Polygon", "coordinates": [
        ring(), ring(X + D / 4, Y + D / 4, D / 4)[::-1]]}),
    ("multipolygon", {"type": "MultiPolygon", "coordinates": [[ring()], [ring(X + 2 * D)]]}),
    ("collection-2", collection(poly(), poly(ring(X + 2 * D)))),
    ("collection-touching", collection(poly(), poly(ring(X + D)))),
    ("duplicate-vertices", poly([[X, Y], [X, Y], [X + D, Y], [X + D, Y + D], [X, Y + D],
                                 [X, Y]])),
    ("crs84", {**poly(), "crs": named_crs("urn:ogc:def:crs:OGC:1.3:CRS84")}),
    ("crs-null", {**poly(), "crs": None}),  # GeoJSON 2008: no CRS said (lon/lat then)
    # an integer longitude and an altitude; long and thin across the site, so that a
    # condition area made of it meets the project's site as every condition area must
    ("integers-and-altitude", {"type": "Polygon", "coordinates": [
        [[116, Y], [116.04, Y, 3], [116.04, Y + 0.001], [116, Y]]]}),
]


@pytest.mark.parametrize("bench", BOTH, indirect=True)
@pytest.mark.parametrize("route", ["api-vet", "api-download", "api-project", "api-revise",
                                   "api-answer", "web-project", "web-condition"])
@pytest.mark.parametrize("value", [pytest.param(v, id=i) for i, v in GOOD])
def test_good_geojson_is_taken_alike_everywhere(
        bench: Bench, extra: dict[str, Any], route: str, value: Any) -> None:  # noqa: F811
    status, text, _ = send(bench, extra, route, value)
    assert status in (200, 201, 303), (route, status, text[:600])


def test_a_python_callers_mapping_with_tuples_is_a_site() -> None:
    """shapely's ``mapping`` and ``__geo_interface__`` give arrays as tuples: a Python caller
    (a test, a script) passes them as they are, and gets the same site as from JSON."""
    import json as _json

    import shapely.geometry

    from blueprint.analysis.site import site_from_geojson

    square = shapely.geometry.shape(poly())
    as_python = site_from_geojson(dict(shapely.geometry.mapping(square)))
    as_json = site_from_geojson(_json.loads(_json.dumps(shapely.geometry.mapping(square))))
    assert as_python.geometry.equals(as_json.geometry) and as_python.area_m2 > 0


def test_an_uploaded_file_is_advised_the_api_way(store: Any, tmp_path: Any) -> None:
    """``POST /api/vet/file``: a file without a CRS, one whose coordinates cannot be in it,
    one declaring another than the ``crs`` sent, are advised the way this request gives a
    CRS (its form field ``crs``, which the map page's 坐标系 choice fills), not the command
    line's ``--crs``; the command line keeps its words."""
    from fastapi.testclient import TestClient

    from blueprint.layers.errors import UnknownCRS
    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings
    from tests.conftest import REPO
    from tests.helpers import box, frame, write

    bad = REPO / "tests" / "data" / "bad"
    declared = write(frame([box(500_000, 4_030_000, 100, 100)], crs=4548),
                     tmp_path / "zone39.gpkg")
    with TestClient(create_app(Settings(data_dir=store.data_dir,
                                        database_url=store.database_url))) as client:
        def vet(path: Any, **form: str) -> dict[str, Any]:
            answer = client.post("/api/vet/file", data=form,
                                 files={"file": (path.name, path.read_bytes())})
            assert answer.status_code == 422 and answer.json()["error"] == "unknown_crs"
            return dict(answer.json())

        missing = vet(bad / "crs_missing_prj.zip")
        metres = vet(bad / "crs_metres_in_geojson.geojson")
        other = vet(declared, crs="EPSG:4527")
    assert missing["message_zh"] == ("文件缺少坐标系信息（如 .prj），"
                                     "请在请求的 crs 字段中指定坐标系"
                                     "（如 EPSG:4527；网页上传时选择“坐标系”）")
    assert metres["message_zh"] == (f"{METRES}，请在请求的 crs 字段中指定正确的坐标系"
                                    "（如 EPSG:4527；网页上传时选择“坐标系”）")
    assert other["message_zh"] == "文件自带坐标系与请求的 crs 字段指定的不一致"
    for said in (missing, metres, other):
        assert "--crs" not in said["message"] + said["message_zh"], said
        assert "form field crs" in said["message"], said
    with pytest.raises(UnknownCRS) as cli:
        read_site(bad / "crs_missing_prj.zip")
    assert "命令行用 --crs" in cli.value.message_zh
    assert "--crs on the command line" in cli.value.message
