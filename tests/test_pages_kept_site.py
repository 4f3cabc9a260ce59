"""A refused project form keeps the site read from its file (the real app, FastAPI
TestClient, both engines): 保存为项目 and 修改项目 sent with a site file and a field the
core refuses came back asking for the file again (a browser cannot keep a chosen file).
Now the page keeps the site read — GeoJSON (EPSG:4490) in the form's hidden field ``site``
and the file's name in ``site_source`` — and says so; the form sent again without a file
saves the same site. The kept value comes back from the browser: a tampered one is checked
as any posted site and refused in Chinese, nothing saved; a file chosen again wins."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from projects_support import SITES, city  # noqa: F401  (city: fixture)
from shapely.geometry import Polygon

from blueprint.analysis.projects import get_project, list_projects
from blueprint.analysis.projects.reports import project_site
from blueprint.layers.store import Store
from blueprint.web import project_forms
from tests.test_pages import _client, _csrf, _form, _login, _save_project, _users

MULTI = SITES / "07_multi_parcel.txt"  # two parcels, 茌平县, 10.16 ha (zone 39, prefixed)
PARK = SITES / "01_park_clean.txt"  # one parcel, 东昌府区, 12.6 ha
KEPT = "已读取地块文件“07_multi_parcel.txt”（2 个地块），无需重新选择；如需更换请重新选择文件。"
FILE_AGAIN = "所选的地块文件未能保留，请重新选择后再提交"
NOT_A_NUMBER = "总投资须为数字，如 8.5（不带单位和逗号）"
FIELDS = {"name": "保留地块项目", "county": "371523", "industry": "industrial",
          "investment": "很多", "origin": "attracted", "responsible_unit": "聊城某公司",
          "crs": ""}


def _file_area(path: Path) -> float:
    """The planar area (m²) of a coordinate file's parcels from its own numbers (UTF-8
    with a BOM, or GBK): each ``J`` line is point, ring, X (north), Y (east, zone prefix
    39); a header line ending in ``@`` starts a parcel."""
    data = path.read_bytes()
    text = data.decode("utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else data.decode("gbk")
    parcels: list[list[tuple[float, float]]] = []
    for line in text.splitlines():
        cells = line.split(",")
        if line.endswith("@"):
            parcels.append([])
        elif re.fullmatch(r"J\d+", cells[0]):
            parcels[-1].append((float(cells[3]) - 39_000_000, float(cells[2])))
    assert len(parcels) >= 1
    return sum(Polygon(ring).area for ring in parcels)


def _hidden(html: str, form_id: str, name: str) -> str:
    """The value of the hidden field ``name`` of the form ``form_id`` ("" when absent)."""
    found = re.search(rf'<input type="hidden" name="{name}"[^>]* value="([^"]*)"',
                      _form(html, form_id))
    return unescape(found.group(1)) if found else ""


def _area(code: str, store: Store) -> float:
    return project_site(get_project(code, store=store)).area_m2


def _refused_with_the_file(client: Any, path: str, fields: dict[str, str],
                           form_id: str) -> dict[str, str]:
    """Send ``fields`` (a refused one among them) with the two-parcel file: the form comes
    back saying the site is kept; the kept fields (``site``, ``site_source``)."""
    with MULTI.open("rb") as fh:
        refused = client.post(path, data=fields,
                              files={"site_file": ("07_multi_parcel.txt", fh, "text/plain")})
    assert refused.status_code == 422, refused.text[-1500:]
    assert f"{NOT_A_NUMBER}。{KEPT}" in refused.text and FILE_AGAIN not in refused.text
    assert f">{KEPT}</p>" in _form(refused.text, form_id)  # by the site's field too
    kept = {k: _hidden(refused.text, form_id, k) for k in ("site", "site_source")}
    assert kept["site_source"] == "07_multi_parcel.txt"
    site = json.loads(kept["site"])
    assert site["type"] == "FeatureCollection" and len(site["features"]) == 2
    lon, lat = site["features"][0]["geometry"]["coordinates"][0][0]
    assert 115 < lon < 117 and 36 < lat < 37.5  # lon/lat (EPSG:4490), not the file's metres
    return kept


def test_a_refused_new_project_keeps_the_site_read_from_its_file(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """Refused once for 总投资 and once more for a missing name, the form sent a third time
    with no file saves the two parcels of the file, with the area of the file's own
    coordinates."""
    _users(city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        fields = FIELDS | {"csrf": _csrf(nr, "/projects/new")}
        before = len(list_projects(store=city))
        kept = _refused_with_the_file(nr, "/projects/new", fields, "bp-project-form")
        again = nr.post("/projects/new", data=fields | kept | {"investment": "6", "name": ""})
        assert again.status_code == 422, again.text[-1500:]
        info = again.text.split('id="bp-site-info"', 1)[1].split("</p>", 1)[0]
        assert info == f' data-kept="1">{KEPT}', info  # still kept, still said
        assert _hidden(again.text, "bp-project-form", "site_source") == "07_multi_parcel.txt"
        assert len(list_projects(store=city)) == before
        saved = nr.post("/projects/new", follow_redirects=False,
                        data=fields | {"investment": "6",
                                       "site": _hidden(again.text, "bp-project-form", "site"),
                                       "site_source": "07_multi_parcel.txt"})
        assert saved.status_code == 303, saved.text[-1500:]
    code = saved.headers["location"].rsplit("/", 1)[1]
    assert _area(code, city) == pytest.approx(_file_area(MULTI), abs=0.01)
    assert _area(code, city) == pytest.approx(101_600, rel=1e-3)  # README: 10.16 ha


@pytest.mark.parametrize("form_id", ["bp-project-form", "bp-revise-form"])
def test_a_tampered_kept_site_is_refused_in_chinese_and_nothing_saved(
        city: Store, tmp_path: Path, form_id: str) -> None:  # noqa: F811
    """The kept site is the browser's to send back: not JSON, a self-intersecting polygon,
    a site outside China, one larger than the service vets or with more vertices than it
    takes are refused as a drawn site is, in Chinese; nothing is saved or revised."""
    _users(city)
    bowtie = {"type": "Polygon", "coordinates": [[[116.03, 36.43], [116.04, 36.44],
                                                  [116.04, 36.43], [116.03, 36.44],
                                                  [116.03, 36.43]]]}
    paris = {"type": "Polygon", "coordinates": [[[2.30, 48.85], [2.31, 48.85], [2.31, 48.86],
                                                 [2.30, 48.86], [2.30, 48.85]]]}
    huge = {"type": "Polygon", "coordinates": [[[115.6, 36.0], [116.6, 36.0], [116.6, 37.0],
                                                [115.6, 37.0], [115.6, 36.0]]]}
    ring = [[116.03 + 0.001 * i, 36.43 + 0.0001 * (i % 2)] for i in range(60)]
    jagged = {"type": "Polygon", "coordinates": [[*ring, [116.09, 36.45], ring[0]]]}
    tampered = [("{not json", "保留的地块数据无效，请重新选择地块文件"),
                (json.dumps(bowtie), "地块图形无效（自相交等）"),
                (json.dumps(paris), "坐标不在声明的坐标系的中国范围内"),
                (json.dumps(huge), "公顷，超过上限 10,000 公顷，请分开审查"),
                (json.dumps(jagged), "个顶点，超过上限 50 个，请简化图形或分开审查")]
    with _client(city, tmp_path, max_site_vertices=50) as nr:
        _login(nr, "nr")
        csrf = _csrf(nr, "/projects/new")
        code = _save_project(nr, csrf)
        path = "/projects/new" if form_id == "bp-project-form" else f"/projects/{code}/revise"
        fields = FIELDS | {"csrf": csrf, "investment": "6", "reason": "调整地块",
                           "site_source": "07_multi_parcel.txt"}
        if form_id == "bp-revise-form":
            fields["county"] = "371502"
        before = len(list_projects(store=city))
        for text, said in tampered:
            refused = nr.post(path, data=fields | {"site": text})
            assert refused.status_code in (400, 422), (said, refused.status_code)
            assert said in refused.text, (said, refused.text[-2000:])
            assert "已读取地块文件" not in refused.text  # nothing was read, nothing kept
    assert len(list_projects(store=city)) == before
    assert get_project(code, store=city).site_version == 1


def test_a_file_chosen_again_wins_over_the_kept_site(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """The kept two-parcel site and a newly chosen file (the park): the file is the site."""
    _users(city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        fields = FIELDS | {"csrf": _csrf(nr, "/projects/new"), "county": "371502"}
        kept = _refused_with_the_file(nr, "/projects/new", fields, "bp-project-form")
        with PARK.open("rb") as fh:
            saved = nr.post("/projects/new", data=fields | kept | {"investment": "6"},
                            follow_redirects=False,
                            files={"site_file": ("01_park_clean.txt", fh, "text/plain")})
        assert saved.status_code == 303, saved.text[-1500:]
    code = saved.headers["location"].rsplit("/", 1)[1]
    assert _area(code, city) == pytest.approx(_file_area(PARK), abs=0.01)
    assert get_project(code, store=city).county == "371502"


def test_a_refused_revision_keeps_the_site_read_from_its_file(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """修改项目 with a site file and a wrong 总投资: the page keeps the site read and says
    so by the site field; sent again with no file, the project's site is the file's."""
    _users(city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        csrf = _csrf(nr)
        code = _save_project(nr, csrf)
        fields = FIELDS | {"csrf": csrf, "county": "371502", "reason": "调整地块"}
        kept = _refused_with_the_file(nr, f"/projects/{code}/revise", fields, "bp-revise-form")
        page = nr.post(f"/projects/{code}/revise", data=fields | kept)  # still 很多
        state = _form(page.text, "bp-revise-form").split(
            'id="bp-revise-site-state"', 1)[1].split("</p>", 1)[0]
        assert state.endswith(f">{KEPT}"), state
        assert get_project(code, store=city).site_version == 1
        again = nr.post(f"/projects/{code}/revise", follow_redirects=False,
                        data=fields | kept | {"investment": "7"})
        assert again.status_code == 303, again.text[-1500:]
    project = get_project(code, store=city)
    assert project.site_version == 2 and str(project.investment) == "7"
    assert _area(code, city) == pytest.approx(_file_area(MULTI), abs=0.01)


def test_a_site_too_large_to_keep_in_a_form_asks_for_the_file_again(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """A form's field takes at most 1 MiB: a site whose GeoJSON would not fit is not kept,
    and the reason says to choose the file again."""
    monkeypatch.setattr(project_forms, "KEPT_SITE_BYTES", 200)
    _users(city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        with MULTI.open("rb") as fh:
            refused = nr.post("/projects/new", data=FIELDS | {"csrf": _csrf(nr, "/projects/new")},
                              files={"site_file": ("07_multi_parcel.txt", fh, "text/plain")})
        assert refused.status_code == 422
        assert f"{NOT_A_NUMBER}。{FILE_AGAIN}" in refused.text, refused.text[-1500:]
        assert _hidden(refused.text, "bp-project-form", "site_source") == ""
        assert "已读取地块文件" not in refused.text
