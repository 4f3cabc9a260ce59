# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""The project page styles its consultation rounds as the 初审意见书 does (``round_style``,
one function for both), drawn by Debian's Chromium from ``blueprint serve`` on the sample
city, signed in through /login: the round in force has the site's blue bar and its
opinions in their answers' colours; the newest round closed for revision (未通过，待修改后
重新征求意见) has a dashed amber bar and heading, the newest cancelled with the project's
exit (已撤销) a dashed grey one, and the opinions of either are grey — not drawn as the
round in force. The headings say which in words too, and the page passes axe-core.

The colours asserted are those ``web/static/pages.css`` gives (computed by Chromium),
written here as numbers: the site's blue #1f4e9c, the page's text #222, amber #8a5a00,
the cancelled heading's #595959, its bar's #767676, a 不同意's red #b71c1c.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from projects_support import DCF_STAFF, dept_user

from blueprint.analysis.consultation import answer, close_round, rounds_of
from blueprint.analysis.projects import exit_project
from blueprint.layers.store import Store
from tests.a11y import assert_accessible
from tests.live_server import serving_city
from tests.test_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    _need_browser,
    browser,
    console,
    page,
    sign_in,
)
from tests.test_review_opinion_rounds import _consulted_twice

pytestmark = pytest.mark.browser
CITY_STAFF = "市局刘科长"
CODES: dict[str, str] = {}

BLUE = "rgb(31, 78, 156)"  # #1f4e9c
TEXT = "rgb(34, 34, 34)"  # #222
AMBER = "rgb(138, 90, 0)"  # #8a5a00
GREY_TEXT = "rgb(89, 89, 89)"  # #595959
GREY_BAR = "rgb(118, 118, 118)"  # #767676
RED = "rgb(183, 28, 28)"  # #b71c1c


def _projects(store: Store) -> None:
    """Three projects consulted twice (round 1 closed for revision, round 2 with natural
    resources' 同意): ``open`` left so; ``rejected``: ecology disagrees in round 2, which
    is closed for revision; ``cancelled``: the project exits with round 2 open."""
    CODES["open"] = _consulted_twice(store)
    CODES["rejected"] = _consulted_twice(store)
    r2 = max(rounds_of(CODES["rejected"], store=store), key=lambda r: r.number)
    answer(r2.id, user=dept_user("ee"), answer="disagree", text="排放口位置仍不符合要求。",
           store=store)
    close_round(r2.id, user=DCF_STAFF, outcome="revise", store=store, reason="调整排放口")
    CODES["cancelled"] = _consulted_twice(store)
    exit_project(CODES["cancelled"], user=DCF_STAFF, store=store, reason="企业放弃投资")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``blueprint serve`` on the sample city with the three projects and city staff."""
    _need_browser()
    with serving_city(tmp_path_factory.mktemp("serve-round-styles"),
                      [(CITY_STAFF, "nr_staff", None, None)], setup=_projects) as base:
        yield base


def _rounds(page: Any, server: str, which: str) -> dict[int, dict[str, Any]]:
    """Each round of project ``which`` as drawn: its class, heading and the heading's
    colour, its bar's colour and style, and the colour of each of its opinions."""
    sign_in(page, server, CITY_STAFF, f"/projects/{CODES[which]}")
    drawn = page.eval_on_selector_all("#bp-rounds > li", """items => items.map(li => {
        const s = getComputedStyle(li), b = li.querySelector(":scope > b");
        return {id: li.id, cls: li.className, text: b.textContent,
                heading: getComputedStyle(b).color, bar: s.borderLeftColor,
                line: s.borderLeftStyle,
                opinions: [...li.querySelectorAll(".bp-opinion")].map(
                    o => [o.textContent.split("：")[0], getComputedStyle(o).color])};
    })""")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#bp-rounds").screenshot(path=str(ARTIFACTS / f"project_rounds_{which}.png"))
    assert_accessible(page)
    return {int(r["id"].removeprefix("bp-round-")): r for r in drawn}


def _in_force(drawn: dict[str, Any]) -> None:
    assert drawn["cls"] == "bp-round latest"
    assert (drawn["heading"], drawn["bar"], drawn["line"]) == (TEXT, BLUE, "solid")
    assert drawn["opinions"] == [["同意", TEXT]]  # natural resources' 同意 of round 2


def test_the_round_in_force_is_drawn_as_such_and_an_earlier_one_grey(server, page):
    rounds = _rounds(page, server, "open")
    _in_force(rounds[2])
    assert "最新一轮" in rounds[2]["text"]
    earlier = rounds[1]
    assert "前轮意见，以第 2 轮为准" in earlier["text"]
    assert earlier["cls"] == "bp-round earlier" and earlier["line"] == "solid"
    assert earlier["bar"] != BLUE
    # its opinions grey, a 不同意 too (red only where it stands)
    assert {answer for answer, _ in earlier["opinions"]} >= {"不同意", "同意"}
    assert {colour for _, colour in earlier["opinions"]} == {GREY_TEXT}


def test_a_rejected_newest_round_is_not_drawn_as_the_round_in_force(server, page):
    rounds = _rounds(page, server, "rejected")
    rejected = rounds[2]
    assert "未通过，待修改后重新征求意见" in rejected["text"]
    assert rejected["cls"] == "bp-round round-rejected"
    assert (rejected["heading"], rejected["bar"], rejected["line"]) == (AMBER, AMBER, "dashed")
    assert sorted(a for a, _ in rejected["opinions"]) == ["不同意", "同意"]
    assert {colour for _, colour in rejected["opinions"]} == {GREY_TEXT}
    assert RED not in {colour for _, colour in rejected["opinions"]}


def test_a_cancelled_round_has_its_own_style(server, page):
    rounds = _rounds(page, server, "cancelled")
    cancelled = rounds[2]
    assert "已撤销" in cancelled["text"]
    assert cancelled["cls"] == "bp-round round-cancelled"
    assert (cancelled["heading"], cancelled["bar"], cancelled["line"]) == (
        GREY_TEXT, GREY_BAR, "dashed")
    assert cancelled["opinions"] == [["同意", GREY_TEXT]]
