"""The departments' inbox and answers, as the last review found them (both engines):

- ``/inbox?round=N`` of a round of another county's project says why it is not in a county
  bureau's inbox: the project's county and the bureau's own, by name, nothing of the project;
- a blank answer is refused saying what that kind of answer must state (不同意: its
  reasons; 有条件同意: its conditions; 同意: the review opinion, which becomes the
  预审意见) and where (the page's “意见内容”, the API's ``text``, the CLI's ``--text``),
  and nothing changes;
- a department removed from a round and added again answers anew: its earlier answer stays
  on record but counts no more (the round, the inbox, the outcome, the objections raised).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from projects_api_support import Api, Clock, city_api
from projects_support import STAFF, T0, city, dept_user  # noqa: F401  (city: fixture)

from blueprint.analysis.consultation import (
    add_department,
    answer,
    close_round,
    get_round,
    inbox,
    preliminary_opinions,
    remove_department,
    start_round,
)
from blueprint.analysis.tracking import list_problems
from blueprint.layers.audit import read_audit
from blueprint.layers.errors import BadInput, IllegalTransition
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.test_consultation_county import GT, _two_rounds
from tests.test_county_named_refusals import typed
from tests.test_pages import PASSWORD, _client, _csrf, _login, _planned
from tests.test_projects_policy import open_round, snapshot

HOUR = timedelta(hours=1)
NEEDS = {"agree": "选择“同意”时必须写明审核意见",
         "conditional": "选择“有条件同意”时必须写明所附的条件",
         "disagree": "选择“不同意”时必须写明不同意的理由"}


# 1. a round of another county's project, asked for by address


def test_a_round_of_another_county_is_said_by_its_county(city: Store,  # noqa: F811
                                                          tmp_path: Path) -> None:
    (dcf, dcf_round), (gt, _) = _two_rounds(city)
    create_user("hbj_gt", "department", GT, department="ee", store=city, actor="test",
                password=PASSWORD)
    with _client(city, tmp_path) as hbj:
        _login(hbj, "hbj_gt")
        other = hbj.get(f"/inbox?round={dcf_round}")
        assert other.status_code == 403, other.text[-800:]
        assert (f"地址中的会商轮次（round）“{dcf_round}”无效：该轮会商属于东昌府区的项目，"
                "本用户只能答复本县（高唐县）项目的会商，故不在本部门的待办会商中") in other.text
        assert dcf not in other.text and gt in other.text  # its own inbox, as without it
        unknown = hbj.get("/inbox?round=999999")  # no such round: no county to name
        assert unknown.status_code == 400
        assert "本部门的待办会商中没有这一轮" in unknown.text
        assert "东昌府区的项目" not in unknown.text
    with _client(city, tmp_path) as city_ee:  # a city-level user has every county's rounds
        create_user("hbj", "department", None, department="ee", store=city, actor="test",
                    password=PASSWORD)
        _login(city_ee, "hbj")
        assert city_ee.get(f"/inbox?round={dcf_round}").status_code == 200


# 2. a blank answer


def test_a_blank_answer_says_what_that_kind_must_state(city: Store) -> None:  # noqa: F811
    _, round_id = open_round(city)
    before = snapshot(city)
    for kind, need in NEEDS.items():
        for blank in ("", "  \n"):
            with pytest.raises(BadInput) as refused:
                answer(round_id, user=dept_user("ee"), answer=kind, text=blank, store=city)
            assert refused.value.where == "text"
            assert refused.value.message_zh.startswith(need), refused.value.message_zh
            assert refused.value.message_zh.endswith("请在 text 中填写")
            assert refused.value.page_zh.endswith("请在“意见内容”中填写")
            assert "必须填写事由或意见" not in refused.value.message_zh
    with pytest.raises(BadInput) as unknown:  # no kind chosen: that is said first
        answer(round_id, user=dept_user("ee"), answer="", text="", store=city)
    assert unknown.value.where == "answer"
    assert snapshot(city) == before


@pytest.fixture
def api(engine_name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[tuple[Api, Clock]]:
    yield from city_api(engine_name, tmp_path, monkeypatch)


def test_the_api_refuses_a_blank_answer_by_its_kind(api: tuple[Api, Clock]) -> None:
    client, _ = api
    _, round_id = open_round(client.store)
    before = snapshot(client.store)
    for kind, need in NEEDS.items():
        for blank in ("", " "):
            got = client.call("dept_ee", "POST", f"/rounds/{round_id}/answers",
                              {"answer": kind, "text": blank})
            assert got.status_code == 422, got.text
            body = got.json()
            assert body["error"] == "bad_input" and body["where"] == "text", body
            assert body["message"].startswith("text is required"), body
            assert body["message_zh"].startswith(need), body
            assert body["message_zh"].endswith("请在 text 中填写"), body
    assert snapshot(client.store) == before


def test_the_page_refuses_a_blank_answer_naming_the_field(city: Store,  # noqa: F811
                                                          tmp_path: Path) -> None:
    code = _planned(city, "空白意见项目", at=T0)
    rnd = start_round(code, user=STAFF, store=city, at=T0)
    create_user("hbj", "department", None, department="ee", store=city, actor="test",
                password=PASSWORD)
    with _client(city, tmp_path) as hbj:
        _login(hbj, "hbj")
        csrf = _csrf(hbj, "/inbox")
        before = snapshot(city)
        refused = hbj.post(f"/inbox/{rnd.id}/answer", follow_redirects=False, data={
            "csrf": csrf, "answer": "disagree", "text": " "})
        assert refused.status_code == 422, refused.text[-800:]
        assert "选择“不同意”时必须写明不同意的理由，请在“意见内容”中填写" in refused.text
        assert 'value="disagree" required checked' in refused.text  # the choice kept
        assert snapshot(city) == before


@pytest.fixture
def cli(city: Store, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """``blueprint …`` as typed, through ``main`` (a refusal: the one line on stderr)."""
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))
    create_user("dept_ee", "department", None, department="ee", store=city, actor="test")

    yield typed(monkeypatch, capsys)


def test_the_cli_refuses_a_blank_answer_naming_the_option(city: Store,  # noqa: F811
                                                          cli: Any) -> None:
    _, round_id = open_round(city)
    before = snapshot(city)
    for kind, need in NEEDS.items():
        for blank in ("", " "):
            status, err = cli("consult", "answer", str(round_id), "--answer", kind,
                              "--text", blank, "--user", "dept_ee")
            assert status == 2 and need in err and "请在 --text 中填写" in err, err
            assert "--text 不能为空" not in err, err
    assert snapshot(city) == before
    status, err = cli("consult", "answer", str(round_id), "--answer", "agree", "--text",
                      "同意。", "--user", "dept_ee")
    assert status == 0, err


# 3. a department removed and added again


def _ee(store: Store, round_id: int) -> Any:
    return next(a for a in get_round(round_id, store=store).active if a.department == "ee")


def _back_again(store: Store, said: str) -> tuple[int, int]:
    """A round where ee answered ``said``, then was removed and added again (an hour apart
    each): the round's id and that earlier answer's."""
    _, round_id = open_round(store)
    earlier = answer(round_id, user=dept_user("ee"), answer=said, text="排放总量无来源。",
                     store=store, at=T0 + HOUR)
    remove_department(round_id, "ee", user=STAFF, reason="误选", store=store, at=T0 + 2 * HOUR)
    add_department(round_id, "ee", user=STAFF, reason="涉及排放总量，仍须征求意见",
                   store=store, at=T0 + 3 * HOUR)
    return round_id, earlier.id


def test_a_department_added_again_answers_anew(city: Store) -> None:  # noqa: F811
    round_id, earlier = _back_again(city, "agree")
    ee = _ee(city, round_id)
    assert ee.current is None and [o.id for o in ee.opinions] == [earlier]  # kept, not counted
    assert not ee.counted(ee.opinions[0])
    assert next(r for r in inbox("ee", store=city) if r["round_id"] == round_id)["answer"] is None
    for dept in ("nr", "drc", "industry", "invest"):
        answer(round_id, user=dept_user(dept), answer="agree", text="同意。", store=city,
               at=T0 + 4 * HOUR)
    assert get_round(round_id, store=city).status == "open"  # ee has yet to answer anew
    with pytest.raises(IllegalTransition):  # nor is there a 不同意 to close it on
        close_round(round_id, user=STAFF, outcome="revise", reason="x", store=city)
    anew = answer(round_id, user=dept_user("ee"), answer="conditional", text="落实总量来源。",
                  store=city, at=T0 + 5 * HOUR)
    assert anew.amends_id is None  # an answer anew, not an amendment of the one set aside
    rnd = get_round(round_id, store=city)
    assert rnd.status == "agreed"
    code = rnd.project
    opinions = {o.department: o for o in preliminary_opinions(code, store=city)}
    assert opinions["ee"].id == anew.id
    audit = [r for r in read_audit(store=city, project=code) if r.action.startswith("round.")]
    readd = next(r for r in audit if r.action == "round.add_department")
    assert readd.detail["before"]["answers_not_counted"] == [earlier]
    assert [r.action for r in audit if r.detail.get("department") == "ee"] == [
        "round.answer", "round.answer"]


def test_an_objection_set_aside_is_raised_as_no_problem(city: Store) -> None:  # noqa: F811
    round_id, earlier = _back_again(city, "disagree")
    drc = answer(round_id, user=dept_user("drc"), answer="disagree", text="能耗无来源。",
                 store=city, at=T0 + 4 * HOUR)
    close_round(round_id, user=STAFF, outcome="revise", reason="调整", store=city,
                at=T0 + 5 * HOUR)
    code = get_round(round_id, store=city).project
    raised = {p.source_ref for p in list_problems(store=city, project=code)}
    assert raised == {f"opinion:{drc.id}"}, raised


def test_the_api_marks_the_answer_set_aside(api: tuple[Api, Clock]) -> None:
    client, clock = api
    round_id, earlier = _back_again(client.store, "disagree")
    clock.at = T0 + 4 * HOUR
    got = client.ok("dept_ee", "GET", f"/rounds/{round_id}")
    ee = next(d for d in got["departments"] if d["department"] == "ee")
    assert [(o["id"], o["counted"]) for o in ee["opinions"]] == [(earlier, False)]
    assert ee["removed_at"].startswith("2026-03-02T04:00") and not ee["removed"]
    listed = client.ok("dept_ee", "GET", "/consultation/inbox")
    assert next(r for r in listed if r["round_id"] == round_id)["answer"] is None
    anew = client.ok("dept_ee", "POST", f"/rounds/{round_id}/answers",
                     {"answer": "agree", "text": "同意。"})
    assert anew["amends_id"] is None
    ee = next(d for d in client.ok("dept_ee", "GET", f"/rounds/{round_id}")["departments"]
              if d["department"] == "ee")
    assert [o["counted"] for o in ee["opinions"]] == [False, True]


def test_the_project_page_says_the_answer_set_aside(city: Store,  # noqa: F811
                                                    tmp_path: Path) -> None:
    round_id, _ = _back_again(city, "disagree")
    code = get_round(round_id, store=city).project
    create_user("nr", "nr_staff", None, store=city, actor="test", password=PASSWORD)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        shown = nr.get(f"/projects/{code}").text
        assert "不同意：排放总量无来源。" in shown  # kept on record
        assert "移除前的意见，不计入" in shown and "已被修改" not in shown
