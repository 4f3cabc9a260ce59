"""The 保存为项目 form (the real app, FastAPI TestClient, both engines) offers county staff
their own county only: a 阳谷县 user was offered all eight and refused after filling the
form in when choosing another; city-level staff still choose any county. A number it
refuses is refused saying how to write it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from projects_support import city  # noqa: F401  (city: fixture)

from blueprint.layers.store import Store
from tests.test_pages import SITE, _client, _csrf, _login, _users


def _counties(html: str) -> list[str]:
    select = html.split('<select name="county"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="(\d+)"', select)


def test_county_staff_are_offered_their_own_county_only(city: Store,  # noqa: F811
                                                         tmp_path: Path) -> None:
    _users(city)
    with _client(city, tmp_path) as yg:
        _login(yg, "nr_yg")
        assert _counties(yg.get("/projects/new").text) == ["371521"]
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        assert len(_counties(nr.get("/projects/new").text)) == 8


def test_a_number_written_as_people_write_it_is_refused_saying_how_to_write_it(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """总投资 typed 8.5亿 or 8,5 (a unit, a comma) is refused with what to type instead, and
    the form keeps what was typed."""
    _users(city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        for typed in ("8.5亿", "8,5"):
            refused = nr.post("/projects/new", data={
                "csrf": _csrf(nr, "/projects/new"), "site": json.dumps(SITE),
                "name": "数字项目", "county": "371502", "industry": "industrial",
                "investment": typed, "responsible_unit": "某公司"})
            assert refused.status_code == 422
            assert "总投资须为数字，如 8.5（不带单位和逗号）" in refused.text, typed
            assert f'name="investment" inputmode="decimal" required value="{typed}"' \
                in refused.text


def test_city_staff_filing_a_site_get_the_county_holding_most_of_it(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """The form opened without a county (a site file chosen in the form) had 东昌府区, the
    first of the list, chosen: a 茌平 site was filed there. Now 按地块所在县区 is chosen,
    and the project gets the county holding most of the site (03_farmland.txt: 茌平,
    data/sample/sites/README.md)."""
    import shapely
    from projects_support import site

    _users(city)
    farmland = {"type": "Feature", "properties": {},
                "geometry": shapely.geometry.mapping(site("03_farmland.txt").geometry)}
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        form = nr.get("/projects/new").text
        assert re.search(r'<option value="" selected>按地块所在县区', form), form
        saved = nr.post("/projects/new", data={
            "csrf": _csrf(nr, "/projects/new"), "site": json.dumps(farmland),
            "name": "茌平项目", "county": "", "industry": "industrial", "investment": "6",
            "responsible_unit": "某公司"}, follow_redirects=False)
        assert saved.status_code == 303, saved.text
        page = nr.get(saved.headers["location"]).text
        assert "茌平县（371523）" in page
    with _client(city, tmp_path) as yg:  # a county's staff have their county only
        _login(yg, "nr_yg")
        assert "按地块所在县区" not in yg.get("/projects/new").text


def test_county_staff_who_leave_the_county_empty_file_under_their_own_county(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """The county field sent empty by a county's staff (the API's missing county) was a
    permission refusal (无权新建项目：只能办理本县…); it is their own county, as
    POST /api/projects files it, and a site outside it is refused naming where it lies."""
    import shapely
    from projects_support import site

    _users(city)
    yanggu = {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(
        site("04_partly_outside_boundary.geojson").geometry)}
    with _client(city, tmp_path) as yg:
        _login(yg, "nr_yg")
        fields = {"csrf": _csrf(yg, "/projects/new"), "name": "阳谷项目", "county": "",
                  "industry": "logistics", "investment": "6", "responsible_unit": "某公司"}
        saved = yg.post("/projects/new", data=fields | {"site": json.dumps(yanggu)},
                        follow_redirects=False)
        assert saved.status_code == 303, saved.text[-2000:]
        assert "阳谷县（371521）" in yg.get(saved.headers["location"]).text
        elsewhere = yg.post("/projects/new", data=fields | {"site": json.dumps(SITE)})
        assert elsewhere.status_code == 403
        assert "不在本县区（阳谷县）内" in elsewhere.text and "无权" not in elsewhere.text
