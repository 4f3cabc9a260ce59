"""Nonsense in a page's address (a hand-edited link, an old bookmark) gets the page itself,
under the usual header, naming the field and the value and keeping the other filters — not
a bare error page, a JSON body or a server error. Both engines, the sample city."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from projects_support import DCF_STAFF, dept_user, park_project, site

from blueprint.analysis.consultation import answer, start_round
from blueprint.analysis.projects import create_project, vet_project
from blueprint.layers.store import Store
from blueprint.web.session import COOKIE
from tests.conftest import ENGINES, SAMPLE, make_store

LONG = "9" * 5000
NO_PAGE = "该页面不存在，请检查地址，或从上方的导航进入"


def _in_consultation(store: Store, name: str) -> tuple[str, int]:
    """A project of 东昌府区 in consultation: its code and its open round (自然资源和规划局,
    ``nr``, answers every round)."""
    code = create_project(park_project(name=name), site=site("01_park_clean.txt"),
                          user=DCF_STAFF, store=store).code
    vet_project(code, user=DCF_STAFF, store=store)
    return code, start_round(code, user=DCF_STAFF, store=store).id


@pytest.fixture(scope="module", params=ENGINES)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """The real app over the sample city, signed in as a city quota manager; the session of
    a department user (``nr``) with two rounds to answer, the first answered."""
    from blueprint.analysis.sample import load_sample
    from blueprint.layers.sessions import sign_in
    from blueprint.layers.users import create_user
    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings

    if request.param == "postgis":
        request.applymarker(pytest.mark.postgis)
    gen = make_store(str(request.param), tmp_path_factory.mktemp(f"q-{request.param}"))
    store: Store = next(gen)
    load_sample(SAMPLE, store=store, actor="test")
    create_user("q_city", "city_quota_manager", None, store=store, actor="test",
                password="pw-1234567890")
    session_id, _ = sign_in("q_city", "pw-1234567890", store=store, hours=1)
    create_user("q_nr", "department", None, store=store, actor="test", department="nr",
                password="pw-1234567890")
    answered, first = _in_consultation(store, "会商地址测试一")
    waiting, second = _in_consultation(store, "会商地址测试二")
    answer(first, user=dept_user("nr"), answer="agree", text="同意。", store=store)
    known = {"department": sign_in("q_nr", "pw-1234567890", store=store, hours=1)[0],
             "answered": answered, "waiting": waiting, "round": second}
    app = create_app(Settings(database_url=store.database_url, data_dir=store.data_dir))
    with TestClient(app, base_url="https://testserver",
                    headers={"accept": "text/html"}) as test_client:
        test_client.cookies.set(COOKIE, session_id)
        yield test_client, known
    next(gen, None)


@pytest.fixture(scope="module")
def client(world: tuple[TestClient, dict[str, Any]]) -> TestClient:
    """The app, signed in as a city quota manager."""
    return world[0]


CASES: list[tuple[str, dict[str, str], int, list[str]]] = [
    ("/quota", {"since": "2026-13-45", "op": "allocate", "county": "371502"}, 400,
     ["筛选条件“起”的值“2026-13-45”无效", '<option value="allocate" selected>',
      '<option value="371502" selected>']),
    ("/quota", {"since": "abc"}, 400, ["筛选条件“起”的值“abc”无效"]),
    ("/quota", {"until": "2026-02-30", "op": "grant"}, 400,
     ["筛选条件“止”的值“2026-02-30”无效", '<option value="grant" selected>']),
    ("/quota", {"op": "steal"}, 400, ["筛选条件“操作”的值“steal”无效：未知的操作类型"]),
    ("/quota", {"kind": "gold"}, 400, ["筛选条件“指标类型”的值“gold”无效"]),
    ("/quota", {"year": "abc"}, 400, ["筛选条件“年度”的值“abc”无效"]),
    ("/quota", {"year": "99999"}, 400, ["筛选条件“年度”的值“99999”无效"]),
    ("/quota", {"since": LONG}, 400, ["筛选条件“起”的值“" + "9" * 40 + "…”无效"]),
    ("/tracking", {"colour": "purple", "stage": "started"}, 400,
     ["没有颜色“purple”", 'value="started" selected']),
    ("/tracking", {"county": "999999"}, 400, ["县区“999999”不在"]),
    ("/tracking", {"month": "2026-13"}, 400, ["而非“2026-13”，已显示"]),
    ("/tracking/figures", {"month": "abc"}, 400, ["月份无效，已忽略：月份须为“年-月”"]),
    ("/tracking/bulletin", {"month": "2099-01"}, 400, ["2099-01 尚未到来，还没有指标和通报"]),
    ("/tracking/photos/0", {}, 404, [NO_PAGE]),
    ("/tracking/photos/abc", {}, 404, [NO_PAGE]),
    ("/tracking/projects/" + "A" * 300, {}, 404, [NO_PAGE]),
    ("/projects/" + "A" * 300, {}, 404, [NO_PAGE]),
    ("/tracking/bulletin/abc.pdf", {}, 404, [NO_PAGE]),
    ("/tracking/bulletin/2026-11.doc", {}, 404, ["通报只有 PDF 和 xlsx 两种下载，没有“.doc”"]),
    ("/tracking/bulletin/2026-13.pdf", {}, 400, ["而非“2026-13”"]),
    ("/tracking/bulletin/2099-01.xlsx", {}, 400, ["2099-01 尚未到来，还没有指标和通报"]),
    ("/quota/export", {"format": "doc", "op": "allocate", "county": "371502"}, 400,
     ["未能导出：地址中“导出格式”的值“doc”无效：导出格式应为 xlsx 或 csv",
      'href="/quota?op=allocate&amp;county=371502"']),
    ("/quota/export", {"format": "csv", "since": "2026-13-45"}, 400,
     ["未能导出：地址中“起”的值“2026-13-45”无效"]),
    ("/quota/export", {"until": "x", "kind": "land"}, 400,
     ["地址中“止”的值“x”无效", 'href="/quota?kind=land"']),
    ("/quota/export", {"kind": "gold"}, 400,
     ["地址中“指标类型”的值“gold”无效：未知的指标类型“gold”"]),
    ("/quota/export", {"op": "steal"}, 400, ["地址中“操作”的值“steal”无效：未知的操作类型"]),
    ("/quota/export", {"year": "abc"}, 400, ["地址中“年度”的值“abc”无效：年度应为数字"]),
    ("/quota/export", {"year": "99999"}, 400, ["地址中“年度”的值“99999”无效：年度无效"]),
    ("/quota/export", {"year": "²"}, 400, ["地址中“年度”的值“²”无效"]),
    ("/quota/export", {"since": LONG}, 400, ["地址中“起”的值“" + "9" * 40 + "…”无效"]),
]


@pytest.mark.parametrize(("path", "params", "status", "said"), CASES,
                         ids=[f"{p[:30]}-{'&'.join(q)}" for p, q, _, _ in CASES])
def test_nonsense_in_the_address_gets_the_page_saying_what_was_wrong(
        client: TestClient, path: str, params: dict[str, Any], status: int,
        said: list[str]) -> None:
    answer = client.get(path, params=params, follow_redirects=False)
    assert answer.status_code == status, answer.text[-1500:]
    assert answer.headers["content-type"].startswith("text/html")
    assert "<nav" in answer.text and "Traceback" not in answer.text  # under the usual header
    for text in said:
        assert text in answer.text, (text, answer.text[-2500:])
    assert LONG not in answer.text  # a very long value is shortened, not echoed whole


INBOX_CASES: list[tuple[str, list[str]]] = [
    ("abc", ["地址中的会商轮次（round）“abc”无效：不是会商轮次的编号"]),
    ("-1", ["会商轮次（round）“-1”无效：不是会商轮次的编号"]),
    ("999999", ["会商轮次（round）“999999”无效：本部门的待办会商中没有这一轮"]),
    (LONG, ["会商轮次（round）“" + "9" * 40 + "…”无效：不是会商轮次的编号"]),
]


@pytest.mark.parametrize(("value", "said"), INBOX_CASES, ids=[v[:10] for v, _ in INBOX_CASES])
def test_a_round_not_in_the_inbox_is_said_and_the_inbox_shown_as_without_it(
        world: tuple[TestClient, dict[str, Any]], value: str, said: list[str]) -> None:
    """``/inbox?round=`` naming no round of this department's inbox: 400, the inbox itself
    saying so, with the other values of the address kept (``done``: the answer just
    recorded) and the first round still to answer open below."""
    client, known = world
    city = client.cookies.get(COOKIE)
    client.cookies.set(COOKIE, known["department"])
    try:
        answer = client.get("/inbox", params={"round": value, "done": known["answered"]})
        asked = client.get("/inbox", params={"round": known["round"]})
    finally:
        client.cookies.set(COOKIE, city)
    assert answer.status_code == 400, answer.text[-1500:]
    assert answer.headers["content-type"].startswith("text/html")
    assert "<nav" in answer.text and "Traceback" not in answer.text
    for text in said:
        assert text in answer.text, (text, answer.text[-2500:])
    assert LONG not in answer.text
    assert f"已提交对项目 <a href=\"/projects/{known['answered']}\">" in answer.text
    assert f"<h2>答复：{known['waiting']} " in answer.text  # the first round to answer
    assert asked.status_code == 200 and 'id="bp-query-error"' not in asked.text
    assert f"<h2>答复：{known['waiting']} " in asked.text
