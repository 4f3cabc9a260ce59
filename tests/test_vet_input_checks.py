"""What ``blueprint vet``, ``blueprint site-search`` and their APIs are asked is checked
before any work, not taken on trust (both engines, the sample city):

- a county is a code of the administrative boundary layer or the name of one (东昌府区,
  read as its code); anything else is refused listing the counties there are, with names;
- a pollutant or a quota kind given twice (``--demand land=3 --demand land=5``, ``SO2`` and
  ``so2``, ``land`` and ``new_construction_land``) is refused naming it, not the last
  amount taken silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from projects_support import city  # noqa: F401  (fixture)

from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.conftest import SAMPLE
from tests.test_cli_bounds import cli
from tests.test_pages import _client

FARMLAND = SAMPLE / "sites" / "03_farmland.txt"
DCF = "371502"
KNOWN = "可选：371502（东昌府区）、371521（阳谷县）、"


def _admin(report: dict[str, Any]) -> dict[str, Any]:
    return next(f for f in report["findings"] if f["kind"] == "admin_boundary")


def test_the_cli_reads_a_county_by_its_name_and_refuses_an_unknown_one(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    code, stdout, stderr = cli(city, ["vet", str(FARMLAND), "--county", "东昌府区",
                                      "--format", "json"])
    assert code == 0, stderr
    named = json.loads(stdout)
    assert named["county"] == DCF  # the name read as its code, not kept as a "county"
    assert "不在所填县区东昌府区（371502）内" in _admin(named)["message"]

    page = tmp_path / "初审意见书.html"
    for county, said in (("999999", "行政区划图层中没有县区代码“999999”"),
                         ("东昌府", "行政区划图层中没有名为“东昌府”的县区")):
        code, stdout, stderr = cli(city, ["vet", str(FARMLAND), "--county", county,
                                          "--format", "html", "--output", str(page)])
        assert code == 2 and stdout == "", stderr
        assert f"{said}，{KNOWN}" in stderr, stderr
        assert "（填县区代码或名称）" in stderr, stderr
        assert not page.exists()  # refused before anything is written

    code, stdout, stderr = cli(city, ["site-search", "--area", "12ha", "--county", "东昌府区",
                                      "--source", "land_bank", "--format", "json"])
    assert code == 0, stderr
    found = json.loads(stdout)
    assert found["candidates"], found["blocked_zh"]
    assert {c["report"]["county"] for c in found["candidates"]} == {DCF}


def test_the_api_reads_a_county_by_its_name_and_refuses_an_unknown_one(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    site = {"type": "Polygon", "coordinates": [[[115.95, 36.45], [115.951, 36.45],
                                                [115.951, 36.451], [115.95, 36.45]]]}
    with _client(city, tmp_path) as client:
        with FARMLAND.open("rb") as fh:
            by_name = client.post("/api/vet/file", files={"file": (FARMLAND.name, fh)},
                                  data={"county": "东昌府区"})
        with FARMLAND.open("rb") as fh:
            unknown_file = client.post("/api/vet/file", files={"file": (FARMLAND.name, fh)},
                                       data={"county": "9"})
        unknown = client.post("/api/vet", json={"site": site, "county": "某某县"})
        report = client.post("/api/vet/report.html", json={"site": site, "county": "9"})
        search = client.post("/api/site-search", json={"area_m2": 120000, "county": "东昌府区",
                                                       "source": "land_bank"})
    assert by_name.status_code == 200, by_name.text
    assert by_name.json()["county"] == DCF
    assert "不在所填县区东昌府区（371502）内" in _admin(by_name.json())["message"]
    for answer, where, said in ((unknown_file, "county", "县区代码“9”"),
                                (unknown, "body.county", "名为“某某县”的县区"),
                                (report, "body.county", "县区代码“9”")):
        assert answer.status_code == 422, answer.text
        assert answer.json()["where"] == where, answer.text
        assert f"行政区划图层中没有{said}，{KNOWN}" in answer.json()["message_zh"], answer.text
    assert search.status_code == 200, search.text
    assert search.json()["candidates"], search.json()["blocked_zh"]
    assert {c["report"]["county"] for c in search.json()["candidates"]} == {DCF}


def test_a_pollutant_or_a_quota_kind_given_twice_is_refused_naming_it(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    site = str(SAMPLE / "sites" / "01_park_clean.txt")
    page = tmp_path / "初审意见书.html"
    for args, said in (
            (["--demand", "land=3", "--demand", "land=5"],
             "新增建设用地指标需求填了两次（land=3、land=5），每类指标只填一次"),
            (["--demand", "land=3,new_construction_land=5"],
             "新增建设用地指标需求填了两次（land=3、new_construction_land=5）"),
            (["--emissions", "SO2=1", "--emissions", "so2=2"], "二氧化硫排放量填了两次")):
        code, stdout, stderr = cli(city, ["vet", site, *args, "--format", "html",
                                          "--output", str(page)])
        assert code == 2 and stdout == "", stderr
        assert said in stderr, stderr
        assert not page.exists()
        code, _, stderr = cli(city, ["site-search", "--area", "12ha", *args])
        assert code == 2 and said in stderr, stderr
    # one option given twice with different kinds is one list, as with commas
    code, stdout, stderr = cli(city, ["vet", site, "--emissions", "SO2=1", "--emissions",
                                      "NOx=2", "--format", "json"])
    assert code == 0, stderr
    assert json.loads(stdout)["capacity"]["emissions"] == {"SO2": 1.0, "NOx": 2.0}

    token = create_user("twice", "nr_staff", None, store=city, actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    geojson = {"type": "Polygon", "coordinates": [[[115.95, 36.45], [115.951, 36.45],
                                                   [115.951, 36.451], [115.95, 36.45]]]}
    twice = {"land": 1, "new_construction_land": 2}
    with _client(city, tmp_path) as client:
        answers = [
            (client.post("/api/vet", json={"site": geojson, "emissions": {"SO2": 1, "so2": 2}}),
             "body.emissions.so2", "二氧化硫排放量填了两次"),
            (client.post("/api/vet", json={"site": geojson, "demands": twice}, headers=auth),
             "body.demands.new_construction_land", "新增建设用地指标需求填了两次"),
            (client.post("/api/site-search", json={"area_m2": 120000, "demands": twice},
                         headers=auth),
             "body.demands.new_construction_land", "新增建设用地指标需求填了两次")]
        with FARMLAND.open("rb") as fh:
            answers.append((client.post("/api/vet/file", files={"file": (FARMLAND.name, fh)},
                                        data={"demands": "land=1,land=2"}, headers=auth),
                            "demands.land", "新增建设用地指标需求填了两次（land=1、land=2）"))
    for answer, where, said in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["where"] == where, answer.text
        assert said in answer.json()["message_zh"], answer.text


def test_projects_create_refuses_a_kind_given_twice_and_stores_nothing(
        city: Store) -> None:  # noqa: F811
    from blueprint.analysis.projects import list_projects

    args = ["projects", "create", "--name", "重复需求项目", "--county", DCF, "--industry",
            "industrial", "--investment", "3", "--unit", "某公司"]
    for given, said in ((["--demand", "land=3", "--demand", "land=5"],
                         "新增建设用地指标需求填了两次（land=3、land=5）"),
                        (["--emissions", "SO2=1", "--emissions", "二氧化硫=2"],
                         "二氧化硫排放量填了两次")):
        code, stdout, stderr = cli(city, [*args, *given])
        assert code == 2 and said in stderr, stderr
    assert list_projects(store=city) == []
    code, _, stderr = cli(city, [*args, "--demand", "land=3", "--demand", "energy=5"])
    assert code == 0, stderr  # two kinds in two options: one list
    assert len(list_projects(store=city)) == 1


def test_a_key_sent_twice_in_one_json_object_is_refused_not_read_as_the_last(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """``{"land": 1, "land": 2}`` is valid JSON that reading keeps as ``{"land": 2}``."""
    token = create_user("twice_json", "nr_staff", None, store=city, actor="test")
    json_type = {"Content-Type": "application/json"}
    auth = {"Authorization": f"Bearer {token}"} | json_type
    site = ('{"type": "Polygon", "coordinates": [[[115.95, 36.45], [115.951, 36.45], '
            '[115.951, 36.451], [115.95, 36.45]]]}')
    cases = [
        ("/api/vet", f'{{"site": {site}, "emissions": {{"SO2": 1, "SO2": 2}}}}', json_type,
         "body.emissions.SO2", "二氧化硫排放量填了两次（SO2=1、SO2=2）"),
        ("/api/vet/report.html", f'{{"site": {site}, "demands": {{"land": 1, "land": 2}}}}',
         auth, "body.demands.land", "新增建设用地指标需求填了两次（land=1、land=2）"),
        ("/api/site-search", '{"area_m2": 120000, "demand": {"energy": 1, "energy": 2}}',
         auth, "body.demand.energy", "能耗指标需求填了两次（energy=1、energy=2）"),
        # the key spelt with an escape, and the body in UTF-16: read as JSON all the same
        ("/api/vet", f'{{"site": {site}, "\\u0065missions": {{"SO2": 1, "SO2": 2}}}}',
         json_type, "body.emissions.SO2", "二氧化硫排放量填了两次（SO2=1、SO2=2）"),
        ("/api/vet", f'{{"site": {site}, "emissions": {{"SO2": 1, "SO2": 2}}}}'
         .encode("utf-16"), json_type, "body.emissions.SO2",
         "二氧化硫排放量填了两次（SO2=1、SO2=2）")]
    with _client(city, tmp_path) as client:
        for url, body, headers, where, said in cases:
            answer = client.post(url, content=body if isinstance(body, bytes)
                                 else body.encode(), headers=headers)
            assert answer.status_code == 422, (url, answer.text)
            assert answer.json()["where"] == where, answer.text
            assert said in answer.json()["message_zh"], answer.text
        once = client.post("/api/vet", content=f'{{"site": {site}, "emissions": '
                           '{"SO2": 1, "NOx": 2}}'.encode(), headers=json_type)
    assert once.status_code == 200, once.text
    assert once.json()["capacity"]["emissions"] == {"SO2": 1.0, "NOx": 2.0}


def test_a_projects_demands_sent_twice_are_refused_after_its_user_and_store_nothing(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """A project's declared demands and emissions (creation, revision) are read as sent too:
    a kind twice is refused at its place in the body, nothing stored; a caller without a
    token hears 401 first, not what is wrong with a body it may not send."""
    from blueprint.analysis.projects import get_project, list_projects

    token = create_user("twice_project", "nr_staff", None, store=city, actor="test")
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    fields = ('"name": "重复需求项目", "county": "371502", "industry": "industrial", '
              '"investment": "3", "responsible_unit": "某公司"')
    twice = f'{{{fields}, "demands": {{"land": 1, "new_construction_land": 2}}}}'
    with _client(city, tmp_path) as client:
        anonymous = client.post("/api/projects", content=twice.encode(),
                                headers={"Content-Type": "application/json"})
        refused = client.post("/api/projects", content=twice.encode(), headers=auth)
        assert list_projects(store=city) == []
        made = client.post("/api/projects", content=f'{{{fields}, "demands": {{"land": 1}}}}'
                           .encode(), headers=auth)
        assert made.status_code == 201, made.text
        code = made.json()["code"]
        revised = client.post(f"/api/projects/{code}/revise", headers=auth, content=(
            '{"reason": "调整排放", "project": {"emissions": {"SO2": 1, "so2": 2}}}').encode())
    assert anonymous.status_code == 401, anonymous.text
    assert refused.status_code == 422, refused.text
    assert refused.json()["where"] == "body.demands.new_construction_land", refused.text
    assert "新增建设用地指标需求填了两次（land=1、new_construction_land=2）" in \
        refused.json()["message_zh"], refused.text
    assert revised.status_code == 422, revised.text
    assert revised.json()["where"] == "body.project.emissions.so2", revised.text
    assert "二氧化硫排放量填了两次" in revised.json()["message_zh"], revised.text
    assert get_project(code, store=city).emissions == {}
