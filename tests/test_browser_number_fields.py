# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""The map page's number fields in Debian's Chromium: what the browser cannot read as a
number ("1e", "--3" in a ``type=number`` field are ``""`` to a script, as an empty field, with
``validity.badInput``; Chromium drops the second "." of "1..2" as it is typed, Firefox keeps it
as unreadable) stops the check (选址审查) and the site search (找地块) with the field named in
Chinese, and nothing is sent; corrected, the same panel runs with the value."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.a11y import assert_accessible
from tests.conftest import SAMPLE
from tests.test_browser import (  # noqa: F401  (fixtures)
    browser,
    console,
    page,
    server,
)

pytestmark = pytest.mark.browser
FAIL_FAST_MS = 10_000  # the refusal is the page's own, no server answer to wait for


def _requests_to(page: Any, path: str) -> list[Any]:
    sent: list[Any] = []
    page.on("request", lambda request: sent.append(request) if path in request.url else None)
    return sent


def _unreadable(page: Any, selector: str, text: str) -> None:
    """Type ``text`` key by key (``fill`` refuses it for a number field) and check the
    browser holds it as unreadable."""
    field = page.locator(selector)
    field.press_sequentially(text)
    assert field.evaluate("f => [f.value, f.validity.badInput]") == ["", True]


def _is_marked_and_focused(page: Any, selector: str, alert_id: str) -> None:
    field = page.locator(selector)
    assert field.get_attribute("aria-invalid") == "true"
    assert field.get_attribute("aria-describedby") == alert_id
    assert field.evaluate("f => f === document.activeElement")


def test_an_unreadable_emission_stops_the_check_and_names_the_field(page):
    sent = _requests_to(page, "/api/vet")
    page.click("details.bp-more summary")
    _unreadable(page, "[data-pollutant=SO2]", "--3")
    page.click("details.bp-more summary")  # folded again: the refusal opens it
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "01_park_clean.txt"))
    alert = page.locator("#bp-status #bp-check-field-error[role=alert]")
    alert.wait_for(timeout=FAIL_FAST_MS)
    assert "二氧化硫（SO2）年排放量" in alert.inner_text()
    assert "不是有效的数字" in alert.inner_text()
    assert "未审查" in page.locator("#bp-status").inner_text()
    page.wait_for_timeout(1000)  # past the emissions fields' delay: still nothing sent
    assert sent == [] and page.locator("#bp-result").is_hidden()
    assert page.locator("details.bp-more").get_attribute("open") is not None
    _is_marked_and_focused(page, "[data-pollutant=SO2]", "bp-check-field-error")
    assert_accessible(page)

    def sends_so2(request: Any) -> bool:
        return "/api/vet/file" in request.url and b"SO2=1.2" in (request.post_data_buffer or b"")

    with page.expect_request(sends_so2, timeout=15_000):
        page.fill("[data-pollutant=SO2]", "1.2")  # corrected: the same file is checked
    page.locator("#bp-capacity", has_text="1.200").wait_for(timeout=30_000)
    assert page.locator("#bp-verdict").inner_text().startswith("初审结论：")
    assert page.locator("[data-pollutant=SO2]").get_attribute("aria-invalid") is None
    assert page.locator("#bp-check-field-error").count() == 0


def test_an_unreadable_emission_stops_the_site_search_and_names_the_field(page):
    sent = _requests_to(page, "/api/site-search")
    page.locator("#bp-search > summary").click()
    page.select_option("#bp-search-county", "371502")
    page.fill("#bp-search-area", "12")
    page.locator("details.bp-search-more summary").click()
    _unreadable(page, "[data-search-pollutant=SO2]", "1e")
    page.locator("#bp-search-run").click()
    alert = page.locator("#bp-search-status #bp-search-field-error[role=alert]")
    alert.wait_for(timeout=FAIL_FAST_MS)
    assert "二氧化硫（SO2）年排放量" in alert.inner_text()
    assert "不是有效的数字" in alert.inner_text()
    assert "未查找" in page.locator("#bp-search-status").inner_text()
    page.wait_for_timeout(500)
    assert sent == [] and page.locator("#bp-search-result").is_hidden()
    _is_marked_and_focused(page, "[data-search-pollutant=SO2]", "bp-search-field-error")

    page.fill("[data-search-pollutant=SO2]", "1.2")
    with page.expect_request(lambda r: "/api/site-search" in r.url) as caught:
        page.locator("#bp-search-run").click()
    body = json.loads(caught.value.post_data or "{}")
    assert body["emissions"] == {"SO2": 1.2} and body["area_m2"] == 120_000
    page.locator(".bp-candidate-item").first.wait_for(timeout=60_000)
    assert page.locator("#bp-search-field-error").count() == 0
    assert page.locator("[data-search-pollutant=SO2]").get_attribute("aria-invalid") is None


def test_an_unreadable_area_is_named_not_asked_for(page):
    """The area typed as "1e" was 请填写项目用地面积, as if left empty."""
    sent = _requests_to(page, "/api/site-search")
    page.locator("#bp-search > summary").click()
    _unreadable(page, "#bp-search-area", "1e")
    page.locator("#bp-search-run").click()
    alert = page.locator("#bp-search-field-error[role=alert]")
    alert.wait_for(timeout=FAIL_FAST_MS)
    assert "用地面积（公顷）" in alert.inner_text() and "请填写" not in alert.inner_text()
    _is_marked_and_focused(page, "#bp-search-area", "bp-search-field-error")
    page.fill("#bp-search-area", "0")  # under its min (0.01)
    page.locator("#bp-search-run").click()
    page.locator("#bp-search-field-error", has_text="不能小于 0.01").wait_for()
    assert sent == []
