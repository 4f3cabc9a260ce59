"""A page form's text field with a control character or over its length is refused with a
page, not the API's JSON (the real app, FastAPI TestClient, both engines): the error page
in Chinese under the usual header, naming the field as the form labels it and what is
wrong, status 422 (the service's one table), a link back to the form's page, no trace and
no JSON; nothing written. The API's routes refuse the same values with their JSON body.
Before, the pages answered ``check_fields``' refusal with the API's JSON 422.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from projects_support import T0, city  # noqa: F401  (city: fixture)

from blueprint.layers.schema import audit_log
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.test_pages import _client, _csrf, _login, _planned, _users

LONG = "长" * 6000


def _audit_rows(store: Store, code: str) -> int:
    """The audit rows of the project ``code``."""
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.project == code)).scalar_one())


def _said(answer: Any) -> str:
    """What the error page says of the refusal (its ``bp-error`` paragraph)."""
    found = re.search(r'id="bp-error"[^>]*>(.*?)</p>', answer.text, re.S)
    assert found, answer.text[-2000:]
    return found.group(1)


def _is_a_page(answer: Any) -> None:
    assert answer.status_code == 422, answer.text[-1500:]
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    assert "<html" in answer.text and "无法办理" in answer.text
    assert "Traceback" not in answer.text and '"message_zh"' not in answer.text


def test_a_refused_page_field_answers_a_page_and_the_api_json(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    code = _planned(city, "表单字段项目", at=T0)
    token = create_user("api_nr", "nr_staff", None, store=city, actor="test")
    before = _audit_rows(city, code)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        csrf = _csrf(nr)
        nul = nr.post(f"/projects/{code}/actions", headers={"Accept": "text/html"},
                      data={"csrf": csrf, "action": "exit", "reason": "调出\x00"})
        _is_a_page(nul)
        assert _said(nul) == "“事由”含有控制字符 U+0000（第 3 个字符），请删除后重试"
        assert f'href="/projects/{code}">返回</a>' in nul.text  # back to the project page
        assert '<span id="bp-user">nr（' in nul.text  # under the header of who is signed in

        long = nr.post(f"/projects/{code}/revise", data={
            "csrf": csrf, "name": "表单字段项目", "county": "371502", "industry": "industrial",
            "investment": "9", "responsible_unit": "聊城某公司", "reason": LONG, "crs": ""})
        _is_a_page(long)
        assert _said(long) == "“事由”过长（6000 个字符），最多 5000 个"

        named = nr.post(f"/projects/{code}/tags", data={
            "csrf": csrf, "tags": "city_key", "reason": "调整", "note": "x\x07"})
        _is_a_page(named)
        assert _said(named).startswith("“备注”含有控制字符 U+0007")

    with _client(city, tmp_path) as anonymous:  # the sign-in form, before anyone is in
        sign_in = anonymous.post("/login", data={"name": "王科长\x00", "password": "x"})
        _is_a_page(sign_in)
        assert _said(sign_in) == "“用户名”含有控制字符 U+0000（第 4 个字符），请删除后重试"

    with _client(city, tmp_path) as api:
        api.headers["Authorization"] = f"Bearer {token}"
        for reason, problem in (("调出\x00", "string_pattern_mismatch"),
                                (LONG, "string_too_long")):
            answer = api.post(f"/api/projects/{code}/exit", json={"reason": reason},
                              headers={"Idempotency-Key": f"fields-{problem}"})
            assert answer.status_code == 422, answer.text[-500:]
            assert answer.headers["content-type"].startswith("application/json")
            body = answer.json()
            assert body["error"] == "bad_input" and body["where"] == "body.reason", body
    assert _audit_rows(city, code) == before  # nothing written by any of them
