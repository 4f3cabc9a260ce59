"""Accessibility of a page in the browser, audited by axe-core (Deque's engine, the one
browser vendors' own audits use; bundled by ``axe-playwright-python``) with its default
rules: WCAG 2.x levels A and AA and the usual best practices (contrast, names of fields and
buttons, landmarks, a page that can be zoomed…). A page passes with no violation of any
impact: what a screen-reader user or a reader zooming the page would stumble on."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

_AXE = Axe()


def violations(page: Any) -> list[str]:
    """What axe-core finds wrong on the page as it stands, a line each (rule, impact, where)."""
    found = _AXE.run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            + "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:3])
            for v in found]


def assert_accessible(page: Any) -> None:
    """Fail with axe-core's findings when the page has any."""
    found = violations(page)
    assert not found, f"{page.url}:\n" + "\n".join(found)
