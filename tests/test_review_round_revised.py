"""Between a round closed for revision and the next round, the closed round's opinions are
not headed 最新一轮 as if they stood (both engines, the sample city).

A disagreement sends the project back to be revised and consulted again (DOMAIN.md,
Consultation): only an agreed round's opinions stand as the preliminary-review opinions.
The round just closed for revision is the newest one until the next starts; the
初审意见书 and the project page head it 未通过，待修改后重新征求意见, and once the next round
starts, as an earlier round (以第 N 轮为准).
"""

from __future__ import annotations

import re
from pathlib import Path

from projects_support import DCF_STAFF, city, dept_user, site  # noqa: F401  (city: fixture)

from blueprint.analysis.consultation import answer, close_round, rounds_of, start_round
from blueprint.analysis.projects import exit_project, revise_project, vet_project
from blueprint.analysis.review.document import review_html
from blueprint.analysis.review.project import project_review
from blueprint.layers.store import Store
from tests.test_pages import _client, _login, _users
from tests.test_review_opinion_rounds import ROUND_1, _consulted_twice, _text

ROUND_2_REVISED = "第 2 轮征求意见（未通过，待修改后重新征求意见）"


def _headings(store: Store, code: str, tmp_path: Path) -> tuple[str, list[str]]:
    """The 初审意见书's opinions section (text) and the project page's round headings."""
    text = _text(review_html(project_review(code, store=store), store=store))
    section = text[text.index("部门会商意见"):text.index("所用图层版本")]
    with _client(store, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get(f"/projects/{code}").text
    rounds = re.search(r'<ul class="bp-timeline" id="bp-rounds">(.*?)\n  </ul>', page, re.S)
    assert rounds, page[-3000:]
    return section, re.findall(r"<b>([^<]+)</b>", rounds.group(1))


def test_a_round_closed_for_revision_is_not_headed_the_latest(city: Store,  # noqa: F811
                                                              tmp_path: Path) -> None:
    _users(city)
    code = _consulted_twice(city)  # round 2 open, natural resources agreed
    r2 = max(rounds_of(code, store=city), key=lambda r: r.number)
    answer(r2.id, user=dept_user("ee"), answer="disagree", text="排放口位置仍不符合要求。",
           store=city)
    close_round(r2.id, user=DCF_STAFF, outcome="revise", store=city, reason="调整排放口")

    section, page = _headings(city, code, tmp_path)
    assert ROUND_2_REVISED in section and "最新一轮" not in section, section
    assert section.index(ROUND_2_REVISED) < section.index(ROUND_1)
    assert page == [ROUND_1, ROUND_2_REVISED]

    revise_project(code, user=DCF_STAFF, store=city, site=site("01_park_clean.txt"),
                   reason="调整排放口")
    vet_project(code, user=DCF_STAFF, store=city)
    start_round(code, user=DCF_STAFF, store=city)  # round 3: round 2 is an earlier round now
    section, page = _headings(city, code, tmp_path)
    assert page == ["第 1 轮征求意见（前轮意见，以第 3 轮为准）",
                    "第 2 轮征求意见（前轮意见，以第 3 轮为准）", "第 3 轮征求意见（最新一轮）"]
    assert "第 3 轮征求意见（最新一轮） 本轮尚无部门答复。" in section
    assert "未通过" not in "".join(page)


def test_a_round_cancelled_by_the_projects_exit_is_not_headed_the_latest(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    code = _consulted_twice(city)  # round 2 open, natural resources agreed
    exit_project(code, user=DCF_STAFF, store=city, reason="企业放弃投资")

    section, page = _headings(city, code, tmp_path)
    assert "第 2 轮征求意见（已撤销）" in section and "最新一轮" not in section, section
    assert page == [ROUND_1, "第 2 轮征求意见（已撤销）"]
