"""Where a search looks, on both engines, over the API and the command line: a reference
point (``near``) more than 50 km outside the city's counties is refused naming the field,
the point and how far out it lies (``[70, 0]`` was ranked by as 距指定地点 7107.1 公里,
measured in the county's projection); a point in the city, on its line or near it (a rail
hub in the next city) ranks; a county without an urban development boundary is told it has
none. A small blueprint of two counties side by side, the urban boundary in the first only;
in the sample city, the points are found with geopandas from the boundary file itself: a
corner of its bounding box outside every county, the hole of an enclave, and a point 60 km
out beyond the corner."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import shapely.ops
from fastapi.testclient import TestClient

from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.conftest import SAMPLE
from tests.helpers import GK39, X0, Y0, box, frame, write
from tests.test_cli_bounds import cli

COUNTIES = frame([box(-500, -500, 5000, 5000), box(4500, -500, 5000, 5000)],
                 code=["371502", "371521"], name=["东昌府区", "阳谷县"])
URBAN = frame([box(0, 0, 3000, 3000)], name=["城镇开发边界"])


@pytest.fixture
def two_counties(store: Store, tmp_path: Path) -> Store:
    for gdf, name, kind, opts in ((COUNTIES, "county.geojson", "admin_boundary",
                                   {"id_field": "code"}),
                                  (URBAN, "urban.geojson", "urban_boundary", {})):
        import_layer(write(gdf, tmp_path / name), ImportOptions(kind=kind, name=kind, **opts),
                     store=store)
    return store


def _client(store: Store) -> TestClient:
    return TestClient(create_app(Settings(data_dir=store.data_dir,
                                          database_url=store.database_url)))


def _lonlat(x: float, y: float) -> list[float]:
    """A point of the blueprint's metres (EPSG:4548, as the layers were written) as
    [lon, lat]."""
    point = gpd.GeoSeries([shapely.Point(X0 + x, Y0 + y)], crs=GK39).to_crs(4490).iloc[0]
    return [point.x, point.y]


def test_a_reference_point_far_outside_the_city_is_refused_naming_it(two_counties: Store
                                                                       ) -> None:
    """The two counties span x from -500 to 9,500 m: a point 60 km east of them is refused,
    saying how far; 200 m or 40 km east of them (the next city), on their line, or in
    阳谷县 while searching 东昌府区, a point ranks by its distance."""
    body = {"area_m2": 120000, "county": "371502", "source": "anywhere", "top": 1}
    beyond = _lonlat(9500 + 60_000, 2000)
    near_points = [_lonlat(9700, 2000), _lonlat(9500 + 40_000, 2000), _lonlat(9505, 2000),
                   _lonlat(7000, 2000)]
    with _client(two_counties) as client:
        far = client.post("/api/site-search", json=body | {"near": [70, 0]})
        refused = client.post("/api/site-search", json=body | {"near": beyond})
        answers = [client.post("/api/site-search", json=body | {"near": p})
                   for p in near_points]
    for answer in (far, refused):
        assert answer.status_code == 422, answer.text
        assert answer.json()["where"] == "near", answer.text
    assert far.json()["message_zh"].startswith(
        "参考点 near（经度 70，纬度 0）距本市行政区划范围约 6,"), far.text
    assert refused.json()["message_zh"] == (
        f"参考点 near（经度 {beyond[0]:g}，纬度 {beyond[1]:g}）距本市行政区划范围约 60.0 公里，"
        "超过 50 公里，请选择本市或其周边的地点（经纬度是否填反或漏了位数？）"), refused.text
    for answer in answers:
        assert answer.status_code == 200, answer.text
        reasons = "；".join(answer.json()["candidates"][0]["reasons_zh"])
        assert "距指定地点" in reasons and "公里" in reasons, reasons
    code, out, err = cli(two_counties, ["site-search", "--area", "12ha", "--county", "371502",
                                        "--near", "70,0"])
    assert (code, out) == (2, ""), err
    assert "参考点 near（经度 70，纬度 0）距本市行政区划范围约" in err, err


def _sample_city() -> shapely.Geometry:
    """The union of the sample's counties as the boundary file has them (EPSG:4326, read
    as CGCS2000: they differ by centimetres; six of them repaired, as the import does)."""
    counties = gpd.read_file(SAMPLE / "layers" / "liaocheng_counties.geojson")
    parts = shapely.get_parts(shapely.make_valid(counties.geometry.values))
    return shapely.union_all([p for p in parts if p.geom_type == "Polygon"])


def _metres_out(city: shapely.Geometry, lonlat: list[float]) -> float:
    zone = gk3_zone(lonlat[0])
    both = gpd.GeoSeries([city, shapely.Point(lonlat)], crs=4490).to_crs(zone)
    return float(both.iloc[0].distance(both.iloc[1]))


def gk3_zone(lon: float) -> str:
    """The CGCS2000 3-degree zone (no prefix) of ``lon``, as EPSG counts them (4534 for
    zone 25, 75°E), written out here rather than read from the product."""
    return f"EPSG:{4534 + round(lon / 3) - 25}"


def _km_said(message: str) -> float:
    number, unit = re.search(r"范围约 ([0-9,.]+) (公里|米)", message).groups()  # type: ignore[union-attr]
    return float(number.replace(",", "")) * (1.0 if unit == "公里" else 0.001)


def _out_from(city_gk: shapely.Geometry, point_gk: shapely.Point, metres: float
              ) -> shapely.Point:
    """The point ``metres`` outside ``city_gk`` on the line from its nearest point through
    ``point_gk`` (all in one Gauss-Krüger zone)."""
    edge = shapely.ops.nearest_points(point_gk, city_gk)[1]
    run = point_gk.distance(edge)
    return shapely.Point(edge.x + (point_gk.x - edge.x) * metres / run,
                         edge.y + (point_gk.y - edge.y) * metres / run)


def test_the_sample_city_s_near_points_rank_and_a_far_one_is_refused(sample_store: Store
                                                                     ) -> None:
    """The sample city's bounding box holds land of no county: its corners, and the hole of
    an enclave inside 莘县 (1.4 km²). Points there, or 5 m outside a county's line, are near
    the city and rank; a point 60 km out beyond the corner is refused, saying how far out it
    lies as the boundary file measures it, on both engines alike."""
    city = _sample_city()
    x0, y0, x1, y1 = city.bounds
    extent = shapely.box(x0, y0, x1, y1)
    corner_land = shapely.difference(extent, city.buffer(0.02))  # ~2 km clear of every county
    corner = max(shapely.get_parts(corner_land), key=lambda p: p.area).representative_point()
    holes = [shapely.Polygon(ring) for part in shapely.get_parts(city) for ring in part.interiors]
    assert holes, "the sample city has an enclave"
    enclave = max(holes, key=lambda h: h.area)
    inside_hole = shapely.maximum_inscribed_circle(enclave).coords[0]  # its deepest point
    zone = gk3_zone(corner.x)
    gk = gpd.GeoSeries([city, corner], crs=4490).to_crs(zone)
    made = gpd.GeoSeries([_out_from(gk.iloc[0], gk.iloc[1], 5),
                          _out_from(gk.iloc[0], gk.iloc[1], 60_000)], crs=zone).to_crs(4490)
    points = {"corner": [corner.x, corner.y], "enclave": list(inside_hole),
              "on the line": [made.iloc[0].x, made.iloc[0].y],
              "60 km out": [made.iloc[1].x, made.iloc[1].y]}
    for name in ("corner", "enclave"):
        assert extent.covers(shapely.Point(points[name])) and not city.buffer(0.001).covers(
            shapely.Point(points[name])), name
    assert 4.5 < _metres_out(city, points["on the line"]) < 5.5
    body = {"area_m2": 60000, "source": "anywhere", "top": 1, "county": "371522"}
    with _client(sample_store) as client:
        answers = {name: client.post("/api/site-search", json=body | {"near": p})
                   for name, p in points.items()}
    for name in ("corner", "enclave", "on the line"):
        assert answers[name].status_code == 200, (name, answers[name].text)
        reasons = "；".join(answers[name].json()["candidates"][0]["reasons_zh"])
        assert "距指定地点" in reasons, reasons
    said, (lon, lat) = answers["60 km out"].json(), points["60 km out"]
    assert answers["60 km out"].status_code == 422 and said["where"] == "near", said
    assert said["message_zh"].startswith(
        f"参考点 near（经度 {lon:g}，纬度 {lat:g}）距本市行政区划范围约 "), said
    expected_km = _metres_out(city, [lon, lat]) / 1000
    assert 59 < expected_km < 61, expected_km
    assert abs(_km_said(said["message_zh"]) - expected_km) <= expected_km * 0.01, said


def test_a_county_without_an_urban_boundary_is_told_so(two_counties: Store) -> None:
    """It said 阳谷县城镇开发边界没有可供工业项目选址的范围。, as if the boundary were there
    and all taken: the county has none in the blueprint."""
    said = "阳谷县在一张蓝图中没有城镇开发边界，工业项目须在城镇开发边界内选址，无处可选。"
    with _client(two_counties) as client:
        answers = [client.post("/api/site-search", json={"area_m2": 120000, "county": county,
                                                          "source": "anywhere", "top": 1})
                   for county in ("371521", "阳谷县", "371502")]
    for answer in answers[:2]:
        assert answer.status_code == 200, answer.text
        assert (answer.json()["candidates"], answer.json()["blocked_zh"]) == ([], said)
    assert answers[2].json()["candidates"] and answers[2].json()["blocked_zh"] is None
    code, out, err = cli(two_counties, ["site-search", "--area", "12ha", "--county", "371521"])
    assert code == 0, err
    assert f"未找到候选地块：{said}" in out, out
