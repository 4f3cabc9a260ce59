"""Two page nits (the real app, FastAPI TestClient, both engines).

- The project page's 修改项目 (and 调出项目库) form labelled its reason 修改事由 (调出事由)
  while a refusal of an empty one says 必须填写事由: the clerk was told to fill a field the
  form does not name. The label is now the name the refusal gives.
- /meeting's empty list (问题清单为空) spanned 4 columns for every user, while one who
  cannot decide sees 3 (no 会议决定 column): its row now spans the columns shown.
"""

from __future__ import annotations

import re
from pathlib import Path

from projects_support import T0, city  # noqa: F401  (city: fixture)

from blueprint.layers.store import Store
from tests.test_pages import _client, _csrf, _login, _planned, _users


def _label_of(page: str, form_id: str, field: str) -> str:
    """The text of the label holding ``field`` in the form ``form_id``."""
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', page, re.S)
    assert form, page[-2000:]
    found = re.search(rf'<label>([^<]*)<input[^>]*name="{field}"', form.group(0))
    assert found, form.group(0)
    return found.group(1).strip()


def test_the_reason_fields_are_labelled_as_their_refusal_names_them(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    code = _planned(city, "事由标签测试项目", at=T0)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get(f"/projects/{code}").text
        revise = _label_of(page, "bp-revise-form", "reason")
        refused = nr.post(f"/projects/{code}/revise", data={
            "csrf": _csrf(nr, f"/projects/{code}"), "name": "事由标签测试项目",
            "county": "371502", "industry": "industrial", "investment": "9",
            "responsible_unit": "聊城某公司", "reason": " ", "crs": "", "site": ""})
        said = re.search(r'id="bp-error"[^>]*>(.*?)</p>', refused.text, re.S)
        assert refused.status_code == 422 and said, refused.text[-2000:]
        assert f"填写{revise}" in said.group(1), (revise, said.group(1))
        exit_form = re.search(r'<form[^>]*>(?:(?!</form>).)*name="action" value="exit".*?</form>',
                              page, re.S)
        assert exit_form, page[-3000:]
        exit_label = re.search(r'<label>([^<]*)<input[^>]*name="reason"', exit_form.group(0))
        assert exit_label and exit_label.group(1).strip() == revise == "事由"


def _columns_and_span(page: str) -> tuple[int, int]:
    """The problem list's header cells, and the columns its empty row spans."""
    table = re.search(r'<table[^>]*id="bp-problems".*?</table>', page, re.S)
    assert table, page[-2000:]
    head = re.search(r"<thead>.*?</thead>", table.group(0), re.S)
    assert head
    empty = re.search(r'<td colspan="(\d+)">问题清单为空', table.group(0))
    assert empty, table.group(0)
    return head.group(0).count("<th>"), int(empty.group(1))


def test_the_empty_problem_list_spans_the_columns_shown(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    for user, columns in (("nr_yg", 3), ("nr", 4)):  # a county user cannot decide
        with _client(city, tmp_path) as client:
            _login(client, user)
            page = client.get("/meeting").text
        shown, spanned = _columns_and_span(page)
        assert (shown, spanned) == (columns, columns), user
