# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""The 找地块 card shows what the search could not look at (``notes_zh``: layers the store
lacks), as the CLI's 提示 lines, and a search with nothing to note shows none (Chromium)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.test_browser import browser, console, page, server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
NOTE = "图层库中没有生态保护红线图层，候选地块的审查结论至多为有条件通过"


def _search(page: Any) -> None:
    page.locator("#bp-search-run").click()
    page.locator(".bp-candidate-item").first.wait_for(timeout=60000)


def test_the_search_card_shows_the_layers_the_search_lacked(page):
    def with_note(route: Any) -> None:  # the sample city lacks nothing: say it lacks one
        answer = route.fetch()
        route.fulfill(response=answer, body=json.dumps(answer.json() | {"notes_zh": [NOTE]}))

    page.locator(".bp-county-label").first.wait_for()
    page.locator("#bp-search > summary").click()
    page.select_option("#bp-search-county", "371502")
    page.fill("#bp-search-area", "12")
    page.route("**/api/site-search", with_note)
    _search(page)
    box = page.locator("#bp-search-notes-box")
    assert box.is_visible()
    assert box.inner_text().split() == ["提示", NOTE]
    page.unroute("**/api/site-search")
    page.fill("#bp-search-area", "11")
    _search(page)
    page.wait_for_function("document.querySelector('#bp-search-notes-box').hidden")
    assert page.locator("#bp-search-notes li").count() == 0
