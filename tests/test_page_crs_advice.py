"""A page's upload refused for its CRS advises the form's 坐标系 choice, not the command
line's ``--crs`` nor an API request's ``crs`` field (both engines)."""

from __future__ import annotations

from html import unescape
from pathlib import Path

from projects_support import DCF, city  # noqa: F401  (city: fixture)

from blueprint.analysis.projects import list_projects
from blueprint.layers.store import Store
from tests.helpers import box, frame, write, zipped_site_without_crs
from tests.test_pages import _client, _csrf, _login, _users


def test_a_site_file_on_the_project_form_is_told_to_choose_its_crs(city: Store,  # noqa: F811
                                                                   tmp_path: Path) -> None:
    _users(city)
    before = len(list_projects(store=city))
    declared = write(frame([box(0, 0, 100, 100)], name=["园区"]), tmp_path / "园区.gpkg")
    form = {"name": "坐标系测试项目", "county": DCF, "industry": "industrial",
            "investment": "6", "responsible_unit": "聊城某公司", "origin": "attracted"}
    with _client(city, tmp_path) as client:
        _login(client, "nr")
        said = []
        for path, crs in ((zipped_site_without_crs(tmp_path), ""), (declared, "EPSG:4527")):
            answer = client.post("/projects/new", data=form | {"csrf": _csrf(client),
                                                               "crs": crs},
                                 files={"site_file": (path.name, path.read_bytes())})
            assert answer.status_code == 422, answer.text[-1500:]
            said.append(unescape(answer.text))
    assert "请在表单的“坐标系”中选择文件的坐标系" in said[0], said[0][-3000:]
    assert "文件自带坐标系与表单中所选的“坐标系”不一致" in said[1], said[1][-3000:]
    for page in said:
        assert "--crs" not in page and "命令行" not in page and "crs 字段" not in page
        assert 'value="坐标系测试项目"' in page  # what the user typed stays in the form
    assert len(list_projects(store=city)) == before
