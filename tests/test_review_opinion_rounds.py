"""The consultation opinions of a project consulted twice, in its 初审意见书 and on its page
(both engines, the sample city): a department's round-1 answer, superseded by round 2, is
not listed beside its round-2 answer as if both were in force. The newest round comes first
under 第 2 轮征求意见（最新一轮）; round 1 follows under a heading that says it is earlier
and which round is in force — the words the project page heads its rounds with."""

from __future__ import annotations

import re
from pathlib import Path

import shapely
from projects_support import DCF_STAFF, city, dept_user, park_project, site  # noqa: F401

from blueprint.analysis.consultation import answer, close_round, start_round
from blueprint.analysis.projects import create_project, revise_project, vet_project
from blueprint.analysis.review.document import review_html
from blueprint.analysis.review.project import project_review
from blueprint.layers.store import Store
from tests.test_pages import _client, _login, _users

ROUND_1 = "第 1 轮征求意见（前轮意见，以第 2 轮为准）"
ROUND_2 = "第 2 轮征求意见（最新一轮）"
NR_BEFORE = "地块约一半位于东昌湖生态保护红线内，不同意该选址。"
NR_NOW = "调整后的地块已避让生态保护红线，同意。"
EE_BEFORE = "西侧一半范围内不得布置排放口。"


def _consulted_twice(store: Store) -> str:
    """Round 1: natural resources disagree, ecology agrees on a condition area, the rest
    agree; closed for revision; the site revised and vetted again; round 2: natural
    resources agree, the rest not yet."""
    first = site("02_redline_conflict.txt")
    code = create_project(park_project(), site=first, user=DCF_STAFF, store=store).code
    vet_project(code, user=DCF_STAFF, store=store)
    r1 = start_round(code, user=DCF_STAFF, store=store)
    answer(r1.id, user=dept_user("nr"), answer="disagree", text=NR_BEFORE, store=store)
    x0, y0, x1, y1 = first.geometry.bounds
    answer(r1.id, user=dept_user("ee"), answer="conditional", text=EE_BEFORE, store=store,
           condition=shapely.geometry.mapping(shapely.box(x0, y0, (x0 + x1) / 2, y1)))
    for dept in ("drc", "industry", "invest"):
        answer(r1.id, user=dept_user(dept), answer="agree", text="同意。", store=store)
    close_round(r1.id, user=DCF_STAFF, outcome="revise", store=store, reason="避让生态保护红线")
    revise_project(code, user=DCF_STAFF, store=store, site=site("01_park_clean.txt"),
                   reason="避让生态保护红线")
    vet_project(code, user=DCF_STAFF, store=store)
    r2 = start_round(code, user=DCF_STAFF, store=store)
    answer(r2.id, user=dept_user("nr"), answer="agree", text=NR_NOW, store=store)
    return code


def _text(html: str) -> str:
    body = re.sub(r"<style>.*?</style>|data:image/png;base64,[^\"]+", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_the_report_heads_each_round_and_marks_the_earlier_one(city: Store) -> None:  # noqa: F811
    text = _text(review_html(project_review(_consulted_twice(city), store=city), store=city))
    section = text[text.index("部门会商意见"):text.index("所用图层版本")]
    assert section.index(ROUND_2) < section.index(ROUND_1)  # the opinions in force first
    now, before = section.split(ROUND_1)
    assert NR_NOW in now and NR_BEFORE not in now
    assert NR_BEFORE in before and NR_NOW not in before
    assert now.count("dept_") == 1  # round 2: natural resources only, the rest not yet
    assert before.count("dept_") == 5 and before.count("不同意") == 2  # its answer and text
    assert EE_BEFORE in before


def test_a_new_round_not_yet_answered_says_so_above_the_earlier_one(city: Store) -> None:  # noqa: F811
    """Before any department answers round 2, the report does not show round 1's opinions
    as the only ones: round 2 is there, saying it has no answer yet."""
    code = create_project(park_project(), site=site("02_redline_conflict.txt"),
                          user=DCF_STAFF, store=city).code
    vet_project(code, user=DCF_STAFF, store=city)
    r1 = start_round(code, user=DCF_STAFF, store=city)
    answer(r1.id, user=dept_user("nr"), answer="disagree", text=NR_BEFORE, store=city)
    close_round(r1.id, user=DCF_STAFF, outcome="revise", store=city, reason="避让生态保护红线")
    revise_project(code, user=DCF_STAFF, store=city, site=site("01_park_clean.txt"),
                   reason="避让生态保护红线")
    vet_project(code, user=DCF_STAFF, store=city)
    start_round(code, user=DCF_STAFF, store=city)
    text = _text(review_html(project_review(code, store=city), store=city))
    assert f"{ROUND_2} 本轮尚无部门答复。 {ROUND_1}" in text
    assert text.index(NR_BEFORE) > text.index(ROUND_1)


def test_the_project_page_heads_its_rounds_in_the_same_words(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    code = _consulted_twice(city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get(f"/projects/{code}").text
    rounds = re.search(r'<ul class="bp-timeline" id="bp-rounds">(.*?)\n  </ul>', page, re.S)
    assert rounds, page[-3000:]
    headings = re.findall(r"<b>([^<]+)</b>", rounds.group(1))
    assert headings == [ROUND_1, ROUND_2]  # the page's record: oldest first, as before
    earlier = rounds.group(1).split(ROUND_2)[0]
    assert NR_BEFORE in earlier and NR_NOW not in earlier and EE_BEFORE in earlier
    # the map draws the condition areas in force only: round 1's was drawn on the site
    # since revised, and round 2 has none
    assert "紫色虚线为会商部门的条件范围（0 处）" in page
    assert EE_BEFORE not in page.split('id="bp-rounds"')[0]
