"""Where a search looks, on both engines, over the API and the command line: a reference
point (``near``) far outside the city is refused naming the field (``[70, 0]`` was ranked by
as 距指定地点 7107.1 公里, measured in the county's projection); a point near the city
still ranks; a county without an urban development boundary is told it has none. A small
blueprint of two counties side by side, the urban boundary in the first only; the city's
extent is read here with geopandas from the files imported."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.helpers import box, frame, write
from tests.test_cli_bounds import cli

COUNTIES = frame([box(-500, -500, 5000, 5000), box(4500, -500, 5000, 5000)],
                 code=["371502", "371521"], name=["东昌府区", "阳谷县"])
URBAN = frame([box(0, 0, 3000, 3000)], name=["城镇开发边界"])
MARGIN = 0.5  # degrees beyond the boundary layer's extent a reference point may lie


@pytest.fixture
def two_counties(store: Store, tmp_path: Path) -> Store:
    for gdf, name, kind, opts in ((COUNTIES, "county.geojson", "admin_boundary",
                                   {"id_field": "code"}),
                                  (URBAN, "urban.geojson", "urban_boundary", {})):
        import_layer(write(gdf, tmp_path / name), ImportOptions(kind=kind, name=kind, **opts),
                     store=store)
    return store


def _extent() -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = COUNTIES.to_crs(4490).total_bounds
    return float(x0), float(y0), float(x1), float(y1)


def _client(store: Store) -> TestClient:
    return TestClient(create_app(Settings(data_dir=store.data_dir,
                                          database_url=store.database_url)))


def test_a_reference_point_outside_the_city_is_refused_naming_it(two_counties: Store) -> None:
    x0, y0, x1, y1 = _extent()
    east = round(x1 + MARGIN + 0.2, 2)  # in China, 0.2° beyond the margin
    body = {"area_m2": 120000, "county": "371502", "source": "anywhere", "top": 1}
    with _client(two_counties) as client:
        far = client.post("/api/site-search", json=body | {"near": [70, 0]})
        beyond = client.post("/api/site-search", json=body | {"near": [east, (y0 + y1) / 2]})
        close = client.post("/api/site-search",
                            json=body | {"near": [round(x1 + MARGIN - 0.1, 2), y1]})
    for answer in (far, beyond):
        assert answer.status_code == 422, answer.text
        assert answer.json()["where"] == "near", answer.text
    assert far.json()["message_zh"].startswith(
        "参考点 near（经度 70，纬度 0）不在本市范围内：须在经度 "
        f"{x0 - MARGIN:.2f}–{x1 + MARGIN:.2f}、纬度 {y0 - MARGIN:.2f}–{y1 + MARGIN:.2f} 之间"
    ), far.text
    assert f"经度 {east:g}" in beyond.json()["message_zh"], beyond.text
    assert close.status_code == 200, close.text
    reasons = "；".join(close.json()["candidates"][0]["reasons_zh"])
    assert "距指定地点" in reasons and "公里" in reasons, reasons
    code, out, err = cli(two_counties, ["site-search", "--area", "12ha", "--county", "371502",
                                        "--near", "70,0"])
    assert (code, out) == (2, ""), err
    assert "参考点 near（经度 70，纬度 0）不在本市范围内" in err, err


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
