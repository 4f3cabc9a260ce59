# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser and projects_support)
"""The 初审意见书 styles the newest consultation round as its heading says it stands (both
engines, the sample city, drawn by Debian's Chromium): while it is open its heading and
opinions look as the opinions in force do; closed for revision (未通过，待修改后重新征求意见)
or cancelled with the project's exit (已撤销) they look otherwise — the heading in its own
colour with a bar, the opinions grey in dashed cells — not as the round in force.

The colours asserted are those the document's style sheet gives (computed by Chromium),
written here as numbers: the body's text #111, the rejected heading's #b35900, the
cancelled heading's #777, opinions not in force #555.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from projects_support import DCF_STAFF, city, dept_user

from blueprint.analysis.consultation import answer, close_round, rounds_of
from blueprint.analysis.projects import exit_project
from blueprint.analysis.review.document import review_html
from blueprint.analysis.review.project import project_review
from blueprint.layers.store import Store
from tests.test_browser import _need_browser, browser
from tests.test_review_opinion_rounds import _consulted_twice

pytestmark = pytest.mark.browser
__all__ = ["browser", "city"]

BODY = "rgb(17, 17, 17)"  # #111
REJECTED = "rgb(179, 89, 0)"  # #b35900
CANCELLED = "rgb(119, 119, 119)"  # #777
NOT_IN_FORCE = "rgb(85, 85, 85)"  # #555


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page that loads nothing from anywhere: the document is set as its content."""
    _need_browser()
    context = browser.new_context(viewport={"width": 900, "height": 1200}, locale="zh-CN")
    context.route("**/*", lambda route: route.abort())
    tab = context.new_page()
    yield tab
    context.close()


def _round_2(page: Any, store: Store, code: str) -> dict[str, Any]:
    """Round 2's heading as drawn: its class, colour and left border, and the colour and
    border style of its opinions' cells."""
    page.set_content(review_html(project_review(code, store=store), store=store))
    return dict(page.eval_on_selector("#bp-round-2", """h => {
        const s = getComputedStyle(h), table = h.nextElementSibling;
        const cell = table.querySelector("td"), c = getComputedStyle(cell);
        return {cls: h.className, text: h.textContent, color: s.color,
                bar: s.borderLeftStyle, table: table.className, cell: c.color,
                border: c.borderTopStyle};
    }"""))


def test_a_rejected_or_cancelled_newest_round_is_not_drawn_as_the_round_in_force(
        city: Store, page: Any) -> None:
    code = _consulted_twice(city)  # round 2 open, natural resources agreed
    open_ = _round_2(page, city, code)
    assert (open_["cls"], open_["color"], open_["bar"], open_["cell"], open_["border"]) == (
        "latest", BODY, "none", BODY, "solid")

    r2 = max(rounds_of(code, store=city), key=lambda r: r.number)
    answer(r2.id, user=dept_user("ee"), answer="disagree", text="排放口位置仍不符合要求。",
           store=city)
    close_round(r2.id, user=DCF_STAFF, outcome="revise", store=city, reason="调整排放口")
    rejected = _round_2(page, city, code)
    assert "未通过，待修改后重新征求意见" in rejected["text"]
    assert rejected["cls"] == "round-rejected" and "round-rejected" in rejected["table"]
    assert (rejected["color"], rejected["bar"], rejected["cell"], rejected["border"]) == (
        REJECTED, "solid", NOT_IN_FORCE, "dashed")


def test_a_round_cancelled_by_the_projects_exit_has_its_own_style(
        city: Store, page: Any) -> None:
    code = _consulted_twice(city)
    exit_project(code, user=DCF_STAFF, store=city, reason="企业放弃投资")
    cancelled = _round_2(page, city, code)
    assert "已撤销" in cancelled["text"]
    assert cancelled["cls"] == "round-cancelled" and "round-cancelled" in cancelled["table"]
    assert (cancelled["color"], cancelled["bar"], cancelled["cell"], cancelled["border"]) == (
        CANCELLED, "solid", NOT_IN_FORCE, "dashed")
