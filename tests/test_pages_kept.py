"""What a refused form keeps when it comes back (the real app, FastAPI TestClient, both
engines): the project page's 修改项目 keeps a newly drawn site in the form, so that a second
submit sends it; a chosen file cannot be kept by a browser: the project forms keep the site
read from it (tests/test_pages_kept_site.py) and say so, a condition file is asked for
again, unless the refusal was about that file."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import shapely
from projects_support import SITES, city  # noqa: F401  (city: fixture)

from blueprint.analysis.projects import get_project, list_projects
from blueprint.layers.store import Store
from tests.test_pages import (
    _client,
    _csrf,
    _form,
    _login,
    _project_in_consultation,
    _save_project,
    _users,
)

DRAWN = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
    [116.0370, 36.4394], [116.0390, 36.4394], [116.0390, 36.4405], [116.0370, 36.4405],
    [116.0370, 36.4394]]]}}
FILE_AGAIN = "所选的地块文件未能保留，请重新选择后再提交"


def _kept(name: str) -> str:
    """What a refused project form says of the one-parcel site it read from file ``name``."""
    return f"已读取地块文件“{name}”（1 个地块），无需重新选择；如需更换请重新选择文件"

NOT_A_NUMBER = "总投资须为数字，如 8.5（不带单位和逗号）"  # what to type, not only what is wrong


def _kept_site(html: str) -> str:
    """The drawn site the revise form of a page holds (its hidden field ``site``)."""
    form = _form(html, "bp-revise-form")
    field = form.split('id="bp-revise-site" value="', 1)[1].split('"', 1)[0]
    return unescape(field)


def test_a_refused_revision_keeps_the_drawn_site_and_the_one_read_from_a_file(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    with _client(city, tmp_path) as client:
        _login(client, "nr")
        csrf = _csrf(client)
        code = _save_project(client, csrf)
        assert _kept_site(client.get(f"/projects/{code}").text) == ""  # nothing drawn yet
        fields = {"csrf": csrf, "name": "页面测试项目", "county": "371502",
                  "industry": "industrial", "investment": "很多",
                  "responsible_unit": "聊城某公司", "reason": "调整地块", "crs": ""}

        drawn = client.post(f"/projects/{code}/revise", data=fields | {"site": json.dumps(DRAWN)})
        assert drawn.status_code == 422, drawn.text[-1500:]
        form = _form(drawn.text, "bp-revise-form")
        assert 'id="bp-error">未办理：总投资须为数字' in form and FILE_AGAIN not in drawn.text
        kept = _kept_site(drawn.text)
        assert json.loads(kept) == DRAWN
        # and the page says so itself, not only once its script has drawn it again
        state = form.split('id="bp-revise-site-state"', 1)[1].split("</p>", 1)[0]
        assert ">已绘制新的项目地块（保留自上次提交" in state, state

        with (SITES / "01_park_clean.txt").open("rb") as fh:
            chosen = client.post(f"/projects/{code}/revise", data=fields,
                                 files={"site_file": ("新地块.txt", fh, "text/plain")})
        assert chosen.status_code == 422
        assert f"{NOT_A_NUMBER}。{_kept('新地块.txt')}" in _form(chosen.text, "bp-revise-form")
        # on top too, naming the section the form is in (修改项目, not 办理)
        assert f'未办理：{NOT_A_NUMBER}。{_kept("新地块.txt")}（见下方<a href="#bp-error">' \
            '修改项目</a>' in chosen.text
        assert FILE_AGAIN not in chosen.text

        empty = client.post(f"/projects/{code}/revise", data=fields | {"investment": "7"},
                            files={"site_file": ("空.txt", b"", "text/plain")})
        assert empty.status_code == 422 and "上传文件为空" in empty.text
        assert FILE_AGAIN not in empty.text and "已读取" not in empty.text  # about the file

        again = client.post(f"/projects/{code}/revise", follow_redirects=False,
                            data=fields | {"investment": "7", "site": kept})
        assert again.status_code == 303, again.text[-1500:]
    project = get_project(code, store=city)
    assert project.site_version == 2 and str(project.investment) == "7"
    drawn_site = shapely.geometry.shape(DRAWN["geometry"])
    assert project.site is not None and shapely.equals_exact(
        shapely.normalize(project.site), shapely.normalize(drawn_site), tolerance=1e-7)


def test_a_refused_answer_asks_for_its_condition_file_again(city: Store,  # noqa: F811
                                                            tmp_path: Path) -> None:
    """A 同意 sent with a condition file is refused after the file was read: the reason says
    the file must be chosen again (the browser dropped it); a refusal about the file itself
    does not."""
    code, rnd = _project_in_consultation(city, tmp_path)
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        base = {"csrf": _csrf(gxj, "/inbox"), "text": "须退让河道 50 米。"}
        park = (SITES / "01_park_clean.txt").read_bytes()
        plain = gxj.post(f"/inbox/{rnd.id}/answer", data=base | {"answer": "agree"},
                         files={"condition_file": ("条件.txt", park)})
        assert plain.status_code == 422
        said = 'id="bp-error">只有“有条件同意”可以附加条件范围。所选的条件范围文件未能保留'
        assert said in plain.text, plain.text[-2000:]
        bad = gxj.post(f"/inbox/{rnd.id}/answer", data=base | {"answer": "conditional"},
                       files={"condition_file": ("条件.txt", b"hello\nnot a site\n")})
        assert bad.status_code == 422 and "既不是界址点坐标文件" in bad.text
        assert "请重新选择" not in bad.text  # the refusal is about the file itself
    assert get_project(code, store=city).stage == "consulting"


def test_a_new_project_takes_its_site_from_an_uploaded_file(city: Store,  # noqa: F811
                                                            tmp_path: Path) -> None:
    """保存为项目 without a check on the map: the site comes from a file chosen in the form
    (a GeoJSON file here, so the stored site is compared with the file's own positions).
    Refused after the file was read, the form keeps the site read and says so; refused
    because of the file, or with no site at all, it says that; nothing is saved by a
    refusal."""
    _users(city)
    with _client(city, tmp_path) as client:
        _login(client, "nr")
        csrf = _csrf(client)
        form = _form(client.get("/projects/new").text, "bp-project-form")
        assert 'enctype="multipart/form-data"' in client.get("/projects/new").text
        assert 'name="site_file"' in form and 'name="crs"' in form
        fields = {"csrf": csrf, "name": "上传地块项目", "county": "371502",
                  "industry": "industrial", "investment": "很多", "origin": "attracted",
                  "responsible_unit": "聊城某公司", "crs": ""}
        geojson = json.dumps(DRAWN).encode()
        before = len(list_projects(store=city))

        bad = client.post("/projects/new", data=fields,
                          files={"site_file": ("地块.geojson", geojson, "application/json")})
        assert bad.status_code == 422 and f"{NOT_A_NUMBER}。{_kept('地块.geojson')}" in bad.text
        empty = client.post("/projects/new", data=fields | {"investment": "6"},
                            files={"site_file": ("空.geojson", b"", "application/json")})
        assert empty.status_code == 422 and "上传文件为空" in empty.text
        assert "已读取" not in empty.text  # the refusal is about the file itself
        none = client.post("/projects/new", data=fields | {"investment": "6"})
        assert none.status_code == 422 and "或上传地块文件" in none.text
        assert len(list_projects(store=city)) == before

        saved = client.post("/projects/new", data=fields | {"investment": "6"},
                            follow_redirects=False,
                            files={"site_file": ("地块.geojson", geojson, "application/json")})
        assert saved.status_code == 303, saved.text[-1500:]
    project = get_project(saved.headers["location"].rsplit("/", 1)[1], store=city)
    assert project.name == "上传地块项目" and str(project.investment) == "6"
    drawn_site = shapely.geometry.shape(DRAWN["geometry"])
    assert project.site is not None and shapely.equals_exact(
        shapely.normalize(project.site), shapely.normalize(drawn_site), tolerance=1e-7)


def test_a_refused_answer_keeps_the_drawn_condition_area_and_says_so(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """A 同意 sent with an area drawn on the map is refused: the form comes back with the
    area in its field and says it is drawn (the page itself, before its script redraws it);
    a form with no area says none is drawn."""
    code, rnd = _project_in_consultation(city, tmp_path)
    area = json.dumps(DRAWN["geometry"])
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        page = gxj.get(f"/inbox?round={rnd.id}").text
        assert 'id="bp-condition-state"' in page and "未绘制条件范围。</p>" in page
        refused = gxj.post(f"/inbox/{rnd.id}/answer", data={
            "csrf": _csrf(gxj, "/inbox"), "text": "同意。", "answer": "agree",
            "condition": area})
        assert refused.status_code == 422
        form = _form(refused.text, "bp-answer-form")
        assert "只有“有条件同意”可以附加条件范围" in form
        kept = form.split('id="bp-condition" value="', 1)[1].split('"', 1)[0]
        assert json.loads(unescape(kept)) == DRAWN["geometry"]
        state = form.split('id="bp-condition-state"', 1)[1].split("</p>", 1)[0]
        assert state.endswith(">已绘制条件范围（提交时随意见保存）。"), state
    assert get_project(code, store=city).stage == "consulting"
