"""The project page of a project in consultation links a department of the open round to its
answer form in the inbox (the real app, FastAPI TestClient, both engines): 答复本轮会商
before it answered, 修改本部门意见 after; staff and departments outside the round see no
link. The form to amend an answer comes filled in with the answer in force."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

from projects_support import STAFF, city, dept_user  # noqa: F401  (city: fixture)

from blueprint.analysis.consultation import answer, close_round, rounds_of
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.test_pages import (
    CONDITION,
    PASSWORD,
    _client,
    _csrf,
    _login,
    _project_in_consultation,
)


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


def test_修改意见_opens_the_form_filled_in_with_the_answer_in_force(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """A department amending its answer starts from what it answered (意见, 意见内容, the
    condition area), not from a blank form it would have to fill in again from memory."""
    code, rnd = _project_in_consultation(city, tmp_path)
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        blank = _form(gxj.get(f"/inbox?round={rnd.id}").text)
        assert " checked" not in blank and 'id="bp-amending"' not in blank
        done = gxj.post(f"/inbox/{rnd.id}/answer", follow_redirects=False, data={
            "csrf": _csrf(gxj, "/inbox"), "answer": "conditional",
            "text": "须保留东侧绿化带。", "condition": json.dumps(CONDITION)})
        assert done.status_code == 303, done.text[-600:]
        form = _form(gxj.get(f"/inbox?round={rnd.id}").text)
        assert 'value="conditional" required checked' in form, form
        assert ">须保留东侧绿化带。</textarea>" in form
        kept = re.search(r'name="condition" id="bp-condition" value="([^"]*)"', form)
        assert kept and json.loads(unescape(kept.group(1)))["type"] == "Polygon"
        assert "已附条件范围（现行意见所附" in form and 'id="bp-amending"' in form
        # sent back as it stands, it is the same answer again (the amendment kept on record)
        again = gxj.post(f"/inbox/{rnd.id}/answer", follow_redirects=False, data={
            "csrf": _csrf(gxj, "/inbox"), "answer": "conditional",
            "text": "须保留东侧绿化带。", "condition": unescape(kept.group(1))})
        assert again.status_code == 303, again.text[-600:]
    mine = next(a for a in rounds_of(code, store=city)[-1].active if a.department == "industry")
    assert [o.answer for o in mine.opinions] == ["conditional", "conditional"]
    assert mine.current is not None and mine.current.condition is not None


def _form(html: str) -> str:
    """The inbox's answer form."""
    return html.split('id="bp-answer-form"', 1)[1].split("</form>", 1)[0]


def test_an_answer_to_a_round_closed_meanwhile_names_the_project_and_round(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """The form was open while staff closed the round: the refusal names the project and the
    round's number as the department knows them, not the round's row id."""
    code, rnd = _project_in_consultation(city, tmp_path)
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        csrf = _csrf(gxj, f"/inbox?round={rnd.id}")
        answer(rnd.id, user=dept_user("nr"), answer="disagree", text="不同意。", store=city)
        close_round(rnd.id, user=STAFF, outcome="revise", reason="调整选址", store=city)
        late = gxj.post(f"/inbox/{rnd.id}/answer", data={
            "csrf": csrf, "answer": "agree", "text": "同意。"})
    assert late.status_code == 409
    said = f"项目“{code}”第 1 轮会商已结束（未通过，修改后重新会商），不能再办理此事项"
    assert said in late.text, late.text[-1500:]
    assert f"会商轮次 {rnd.id}" not in late.text
