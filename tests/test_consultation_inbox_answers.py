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

import sys
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
from tests.test_pages import PASSWORD, _client, _csrf, _login, _planned
from tests.test_projects_policy import open_round, snapshot

HOUR = timedelta(hours=1)
NEEDS = {"agree": "选择“同意”时必须写明审核意见", "conditional": "选择“有条件同意”时必须写明所附的条件",
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
        assert "本部门的待办会商中没有这一轮" in unknown.text and "东昌府区的项目" not in unknown.text
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
            assert body["message_zh"] == f"{need}" + body["message_zh"][len(need):]
            assert need in body["message_zh"] and "text" in body["message_zh"], body
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
    from blueprint.service.cli.root import main

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))
    create_user("dept_ee", "department", None, department="ee", store=city, actor="test")

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["blueprint", *args])
        capsys.readouterr()
        try:
            main()
            status = 0
        except SystemExit as exc:
            status = int(exc.code or 0)
        return status, capsys.readouterr().err

    yield run


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


