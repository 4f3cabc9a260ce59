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


