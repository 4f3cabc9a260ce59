"""A library filter no project could match is refused naming what it may be, not answered
with an empty list that reads as "no such projects": an unknown stage, library (tag),
industry or county, on the page (/projects says which filter it dropped and shows the rest),
the API (GET /api/projects: 422, or 404 for a county the city does not know) and the CLI
(tests/data/bad/expected.toml). And the inbox marks the round being answered and links the
project whose answer was just recorded. The real app (FastAPI TestClient), both engines."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from projects_support import DCF, T0, city  # noqa: F401  (city: fixture)

from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.test_pages import (
    _client,
    _csrf,
    _login,
    _planned,
    _project_in_consultation,
    _users,
)


def _table_codes(html: str) -> list[str]:
    table = html.split('id="bp-projects"', 1)[1].split("</table>", 1)[0]
    return re.findall(r">(LC-\d{4}-\d{4})</a>", table)


# the page names what its filter form offers (the API and the CLI, which take codes, list
# the codes with their names: below, and tests/data/bad/expected.toml)
@pytest.mark.parametrize(("query", "said"), [
    ("stage=nonsense", "没有阶段“nonsense”，可选：策划生成、会商中、储备、签约、开工、投产、"
                       "达效、调出"),
    ("tag=nope", "没有项目库“nope”，可选：省重点项目库、市重点项目库、"),
    ("industry=steel", "没有行业“steel”，可选：工业项目、"),
    ("county=999999", "县区“999999”不在指标台账、行政区划图层或项目库中，已知县区：东昌府区、"),
])
def test_the_library_page_says_which_filter_it_dropped_and_keeps_the_others(
        city: Store, tmp_path: Path, query: str, said: str) -> None:  # noqa: F811
    _users(city)
    shop = _planned(city, "商业项目", at=T0, industry="commercial", demands={}, emissions={},
                    investment=Decimal("1"))
    works = _planned(city, "工业项目", at=T0)
    other = "stage=planned" if query.startswith("industry") else "industry=commercial"
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get(f"/projects?{query}&{other}")
        assert page.status_code == 400
        html = page.text
        refused = re.search(r'id="bp-filter-refused">([^<]*)<', html)
        assert refused and refused.group(1).startswith("筛选条件无效，已忽略："), html[:3000]
        assert said in refused.group(1)
        assert not re.search(r"[a-z_]{4,}（|\d{6}", refused.group(1).split("，可选", 1)[-1]
                             .split("，已知县区", 1)[-1]), refused.group(1)  # no codes
        if other == "stage=planned":  # the stage kept: both planned projects
            assert sorted(_table_codes(html)) == sorted([shop, works])
            assert 'value="planned" selected' in html
        else:  # the industry kept: the shop only
            assert _table_codes(html) == [shop]
            assert 'value="commercial" selected' in html
        good = nr.get(f"/projects?{other}")
        assert good.status_code == 200 and 'id="bp-filter-refused"' not in good.text


def test_the_battle_map_names_what_its_filters_offer(city: Store,  # noqa: F811
                                                      tmp_path: Path) -> None:
    _users(city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get("/tracking?stage=nonsense&library=nope&colour=purple&county=999999")
        assert page.status_code == 400
        refused = re.search(r'id="bp-filter-refused">([^<]*)<', page.text)
        assert refused, page.text[:3000]
        for said in ("没有阶段“nonsense”，可选：策划生成、会商中、",
                     "没有项目库“nope”，可选：省重点项目库、",
                     "没有颜色“purple”，可选：绿色（按计划推进）、黄色（滞后）、",
                     "已知县区：东昌府区、"):
            assert said in refused.group(1), refused.group(1)
        assert not re.search(r"planned|province_key|green|371502", refused.group(1))


def test_the_project_list_api_refuses_a_filter_nothing_could_match(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    code = _planned(city, "工业项目", at=T0)
    token = create_user("reader", "viewer", None, store=city, actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    with _client(city, tmp_path) as client:
        for query, status, where in (("stage=nonsense", 422, "stage"), ("tag=nope", 422, "tag"),
                                     ("industry=steel", 422, "industry"),
                                     ("county=999999", 404, "county")):
            answer = client.get(f"/api/projects?{query}", headers=auth)
            assert answer.status_code == status, (query, answer.text)
            body = answer.json()
            assert body["where"] == where and "X-Total-Count" not in answer.headers, body
            assert query.split("=")[1] in body["message_zh"], body
        said = client.get("/api/projects?stage=nonsense", headers=auth).json()["message_zh"]
        assert "可选：planned（策划生成）、" in said, said  # codes, as the API takes them
        fine = client.get(f"/api/projects?stage=planned&industry=industrial&county={DCF}",
                          headers=auth)
        assert fine.status_code == 200 and [p["code"] for p in fine.json()] == [code]
        none = client.get("/api/projects?stage=exited", headers=auth)  # known, empty: fine
        assert none.status_code == 200 and none.json() == []


def test_the_inbox_marks_the_round_being_answered_and_links_the_answered_project(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    code, rnd = _project_in_consultation(city, tmp_path)
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        html = gxj.get("/inbox").text
        rows = re.findall(r"<tr class=\"([^\"]*)\"([^>]*)>(.*?)</tr>", html, re.S)
        (marked,) = [r for r in rows if "aria-current" in r[1]]
        assert "bp-current" in marked[0] and code in marked[2]
        assert '<a href="#bp-answer">正在答复（见下方）</a>' in marked[2]
        done = gxj.post(f"/inbox/{rnd.id}/answer", follow_redirects=False,
                        data={"csrf": _csrf(gxj, "/inbox"), "answer": "agree",
                              "text": "同意。", "condition": ""})
        assert done.status_code == 303, done.text[-600:]
        told = gxj.get(done.headers["location"]).text
        notice = re.search(r'id="bp-done">(.*?)</p>', told, re.S)
        assert notice and f'<a href="/projects/{code}">{code} ' in notice.group(1), told[:3000]
        again = gxj.get(f"/inbox?round={rnd.id}").text  # amending: the row says so
        rows = re.findall(r"<tr class=\"([^\"]*)\"([^>]*)>(.*?)</tr>", again, re.S)
        (marked,) = [r for r in rows if "aria-current" in r[1]]
        assert '<a href="#bp-answer">正在修改（见下方）</a>' in marked[2]


def test_a_refusal_shown_on_a_page_says_the_page_wording() -> None:
    """An error that carries a page's own wording (``page_zh``: the names a filter form
    offers, where the API and the CLI are told codes) said it in codes when it reached a
    page through the error page or a form's refusal: both read ``message_zh``. They now say
    ``page_zh`` (which is ``message_zh`` for an error without one)."""
    from blueprint.layers.errors import BadInput
    from blueprint.web.render import PageContext, Refusal, error_page

    named = BadInput("stage 'x' is not one of planned",
                     message_zh="没有阶段“x”，可选：planned（策划生成）",
                     page_zh="没有阶段“x”，可选：策划生成", where="stage")
    plain = BadInput("bad", message_zh="地块无效", where="site")
    assert Refusal(error=named, status=400).message_zh == "没有阶段“x”，可选：策划生成"
    assert Refusal(error=named, status=400, note="请重新选择。").message_zh == \
        "没有阶段“x”，可选：策划生成。请重新选择。"
    assert Refusal(error=plain, status=400).message_zh == "地块无效"
    shown = error_page(PageContext(base="", session=None), named, 400, "/projects")
    text = bytes(shown.body).decode()
    assert shown.status_code == 400 and "可选：策划生成" in text and "planned（" not in text
