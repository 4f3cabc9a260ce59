"""A department user tied to a county (a county's bureau, e.g. 生态环境局高唐县分局 answering
for ``ee``) sees in its inbox (core, API, CLI, page) only the rounds of its county's
projects, and answers (amends, with a condition area too) only on them: another county's
round is refused, naming the county it acts for, and nothing changes. A city-level
department user still sees and answers every county's rounds. Both engines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from projects_api_support import DCF, Api, Clock, city_api
from projects_support import STAFF, T0, city, dept_user, park_project, site  # noqa: F401

from blueprint.analysis.consultation import answer, get_round, inbox, start_round
from blueprint.analysis.projects import create_project, vet_project
from blueprint.analysis.quota.balances import counties
from blueprint.layers.errors import NotAllowed
from blueprint.layers.store import Store
from blueprint.layers.users import User, create_user
from tests.test_pages import PASSWORD, _client, _csrf, _login
from tests.test_projects_cli import blueprint  # noqa: F401  (fixture)
from tests.test_projects_policy import open_round, snapshot

GT = "371526"  # 高唐县
EE_GT = User("hbj_gt", "department", GT, "ee")


def _round(store: Store, county: str, site_file: str, **changes: Any) -> tuple[str, int]:
    code = create_project(park_project(county=county, **changes), site=site(site_file),
                          user=STAFF, store=store, at=T0).code
    vet_project(code, user=STAFF, store=store, at=T0)
    rnd = start_round(code, user=STAFF, store=store, at=T0)
    assert "ee" in {a.department for a in rnd.active}
    return code, rnd.id


def _two_rounds(store: Store) -> tuple[tuple[str, int], tuple[str, int]]:
    """Rounds consulting ``ee`` on a project of 东昌府区 and on one of 高唐县."""
    return (_round(store, DCF, "01_park_clean.txt"),
            _round(store, GT, "06_water_source_l2.geojson", emissions={}, demands={}))


def _ee_opinions(store: Store, round_id: int) -> list[Any]:
    return next(a.opinions for a in get_round(round_id, store=store).active
                if a.department == "ee")


def test_a_county_bureau_answers_only_its_countys_rounds(city: Store) -> None:  # noqa: F811
    (dcf, dcf_round), (gt, gt_round) = _two_rounds(city)
    assert counties(store=city)[GT] == "高唐县"
    assert [r["project"] for r in inbox("ee", store=city, county=GT)] == [gt]
    assert {r["project"] for r in inbox("ee", store=city)} == {dcf, gt}
    for how in ({"answer": "agree", "text": "同意。"},
                {"answer": "conditional", "text": "落实防护距离。",
                 "condition": site("01_park_clean.txt")}):
        with pytest.raises(NotAllowed) as refused:
            answer(dcf_round, user=EE_GT, store=city, **how)
        assert "只能答复本县（高唐县）项目的会商" in refused.value.message_zh
        assert "东昌府区" in refused.value.message_zh
    assert _ee_opinions(city, dcf_round) == []
    first = answer(gt_round, user=EE_GT, answer="agree", text="同意。", store=city)
    amended = answer(gt_round, user=EE_GT, answer="conditional", text="落实水源保护措施。",
                     condition=site("06_water_source_l2.geojson"), store=city)
    assert amended.amends_id == first.id and amended.author == "hbj_gt"
    # the city level answers (and amends the county bureau's answer) everywhere
    answer(dcf_round, user=dept_user("ee"), answer="agree", text="同意。", store=city)
    again = answer(gt_round, user=dept_user("ee"), answer="agree", text="同意。", store=city)
    assert again.amends_id == amended.id
    assert [o.author for o in _ee_opinions(city, dcf_round)] == ["dept_ee"]


@pytest.fixture
def api(engine_name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    yield from city_api(engine_name, tmp_path, monkeypatch)


def test_the_api_lists_and_refuses_by_the_users_county(api: tuple[Api, Clock]) -> None:
    client, _ = api
    code, round_id = open_round(client.store)  # a project of 东昌府区
    for caller, listed in (("dept_ee", [code]), ("dept_ee_dcf", [code]), ("dept_ee_yg", [])):
        got = client.call(caller, "GET", "/consultation/inbox")
        assert got.status_code == 200, (caller, got.text)
        assert [r["project"] for r in got.json()] == listed, caller
    before = snapshot(client.store)
    refused = client.call("dept_ee_yg", "POST", f"/rounds/{round_id}/answers",
                          {"answer": "agree", "text": "同意。"})
    assert refused.status_code == 403, refused.text
    assert "只能答复本县（阳谷县）项目的会商" in refused.json()["message_zh"]
    assert snapshot(client.store) == before
    assert client.call("dept_ee_dcf", "POST", f"/rounds/{round_id}/answers",
                       {"answer": "agree", "text": "同意。"}).status_code == 201


def test_the_cli_inbox_of_a_county_user(city: Store, blueprint: Any) -> None:  # noqa: F811
    (dcf, _), (gt, _) = _two_rounds(city)
    create_user("hbj_gt", "department", GT, department="ee", store=city, actor="test")
    own = blueprint("consult", "inbox", "--user", "hbj_gt").stdout
    assert gt in own and dcf not in own and "高唐县" in own, own
    every = blueprint("consult", "inbox", "--user", "dept_ee").stdout
    assert gt in every and dcf in every, every


def test_the_inbox_page_of_a_county_user(city: Store, tmp_path: Path) -> None:  # noqa: F811
    (dcf, dcf_round), (gt, gt_round) = _two_rounds(city)
    create_user("hbj_gt", "department", GT, department="ee", store=city, actor="test",
                password=PASSWORD)
    with _client(city, tmp_path) as hbj:
        _login(hbj, "hbj_gt")
        listed = hbj.get("/inbox").text
        assert gt in listed and dcf not in listed, listed[-2000:]
        assert 'id="bp-answer-link"' not in hbj.get(f"/projects/{dcf}").text
        assert 'id="bp-answer-link"' in hbj.get(f"/projects/{gt}").text
        refused = hbj.post(f"/inbox/{dcf_round}/answer", follow_redirects=False, data={
            "csrf": _csrf(hbj, "/inbox"), "answer": "agree", "text": "同意。"})
        assert refused.status_code == 403, refused.text[-800:]
        assert "只能答复本县（高唐县）项目的会商" in refused.text
        assert _ee_opinions(city, dcf_round) == []
        done = hbj.post(f"/inbox/{gt_round}/answer", follow_redirects=False, data={
            "csrf": _csrf(hbj, "/inbox"), "answer": "agree", "text": "同意。"})
        assert done.status_code == 303, done.text[-800:]
        assert [o.author for o in _ee_opinions(city, gt_round)] == ["hbj_gt"]
