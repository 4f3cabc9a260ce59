"""What a refused form keeps when it comes back (the real app, FastAPI TestClient, both
engines): the project page's 修改项目 keeps a newly drawn site in the form, so that a second
submit sends it; a chosen file cannot be kept by a browser, and the reason says so unless
the refusal was about that file."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import shapely
from projects_support import SITES, city  # noqa: F401  (city: fixture)

from blueprint.analysis.projects import get_project
from blueprint.layers.store import Store
from tests.test_pages import _client, _csrf, _form, _login, _save_project, _users

DRAWN = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[
    [116.0370, 36.4394], [116.0390, 36.4394], [116.0390, 36.4405], [116.0370, 36.4405],
    [116.0370, 36.4394]]]}}
FILE_AGAIN = "所选的地块文件未能保留，请重新选择后再提交"


def _kept_site(html: str) -> str:
    """The drawn site the revise form of a page holds (its hidden field ``site``)."""
    form = _form(html, "bp-revise-form")
    field = form.split('id="bp-revise-site" value="', 1)[1].split('"', 1)[0]
    return unescape(field)


def test_a_refused_revision_keeps_the_drawn_site_and_asks_for_a_file_again(
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

        with (SITES / "01_park_clean.txt").open("rb") as fh:
            chosen = client.post(f"/projects/{code}/revise", data=fields,
                                 files={"site_file": ("新地块.txt", fh, "text/plain")})
        assert chosen.status_code == 422
        assert f"总投资须为数字。{FILE_AGAIN}" in _form(chosen.text, "bp-revise-form")
        assert f"未办理：总投资须为数字。{FILE_AGAIN}（见下方" in chosen.text  # on top too

        empty = client.post(f"/projects/{code}/revise", data=fields | {"investment": "7"},
                            files={"site_file": ("空.txt", b"", "text/plain")})
        assert empty.status_code == 422 and "上传文件为空" in empty.text
        assert FILE_AGAIN not in empty.text  # the refusal is about the file itself

        again = client.post(f"/projects/{code}/revise", follow_redirects=False,
                            data=fields | {"investment": "7", "site": kept})
        assert again.status_code == 303, again.text[-1500:]
    project = get_project(code, store=city)
    assert project.site_version == 2 and str(project.investment) == "7"
    drawn_site = shapely.geometry.shape(DRAWN["geometry"])
    assert project.site is not None and shapely.equals_exact(
        shapely.normalize(project.site), shapely.normalize(drawn_site), tolerance=1e-7)
