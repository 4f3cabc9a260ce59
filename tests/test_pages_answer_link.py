"""The project page of a project in consultation links a department of the open round to its
answer form in the inbox (the real app, FastAPI TestClient, both engines): 答复本轮会商
before it answered, 修改本部门意见 after; staff and departments outside the round see no
link."""

from __future__ import annotations

from pathlib import Path

from projects_support import city  # noqa: F401  (city: fixture)

from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.test_pages import PASSWORD, _client, _csrf, _login, _project_in_consultation


def _link(html: str) -> str:
    """The answer link of a project page ("" when there is none)."""
    if 'id="bp-answer-link"' not in html:
        return ""
    return html.split('id="bp-answer-link"', 1)[1].split("</a>", 1)[0]


def test_a_department_of_the_round_finds_its_answer_form_from_the_project_page(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    code, rnd = _project_in_consultation(city, tmp_path)
    assert "industry" in {a.department for a in rnd.active}
    assert "water" not in {a.department for a in rnd.active}
    create_user("tzj", "department", None, store=city, actor="test", department="water",
                password=PASSWORD)
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        link = _link(gxj.get(f"/projects/{code}").text)
        assert f'href="/inbox?round={rnd.id}">答复本轮会商' in link, link
        done = gxj.post(f"/inbox/{rnd.id}/answer", follow_redirects=False, data={
            "csrf": _csrf(gxj, "/inbox"), "answer": "agree", "text": "同意。"})
        assert done.status_code == 303, done.text[-600:]
        assert "修改本部门意见" in _link(gxj.get(f"/projects/{code}").text)
    for name in ("nr", "tzj"):
        with _client(city, tmp_path) as other:
            _login(other, name)
            page = other.get(f"/projects/{code}")
            assert page.status_code == 200 and _link(page.text) == "", name
