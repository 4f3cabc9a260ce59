"""Every form of the pages (``POST`` routes of ``web/``), posted as every role × county (own,
other, city level) × department and anonymously, and without its CSRF token, on both
engines, against the one written policy: ``PAGE_POLICY`` of ``service/api/policy.py``,
which names for each page action the API endpoint whose rule it follows.

Refused → 403 (a Chinese page) and nothing changed; anonymous → to /login, nothing
changed; no CSRF token → 403 and nothing changed. Allowed callers pass the policy: each
but the last posts a form the core refuses for its content (400 or 422 as the API's error
table says, nothing changed: the policy let it through), the last posts the real form (303
back to the page). Every POST route the app serves must have an entry (a new page route
without one fails here), and every entry a case.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from projects_api_support import DCF, PERSONAS, T0, Clock, geojson
from test_projects_policy import (
    CALLERS,
    a_user,
    disagreed,
    expected,
    meeting_item,
    open_round,
    planned,
    reserve,
    snapshot,
    tracked,
)

from blueprint.layers.errors import NotAllowed
from blueprint.layers.schema import sessions, users
from blueprint.layers.users import User, create_user
from blueprint.service.api.policy import (
    PAGE_POLICY,
    POLICY,
    PUBLIC,
    QUOTA_CORE,
    SESSION,
    check_page,
)
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from blueprint.web.session import COOKIE
from tests.conftest import copy_of_sample

SITE = json.dumps({"type": "Feature", "properties": {}, "geometry": geojson("01_park_clean.txt")})
ATTRS = {"name": "页面权限测试项目", "county": DCF, "industry": "industrial",
         "investment": "6", "responsible_unit": "聊城某公司", "origin": "attracted",
         "emission_SO2": "0.2"}
Form = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """A fresh state → (path, the real form, a form the core refuses for its content)."""

    make: Callable[[Any], tuple[str, Form, Form | None]]


def _act(action: str, **fields: Any) -> Form:
    return {"action": action, **fields}


CASES: dict[str, Case] = {
    "POST /projects/new": Case(lambda s: (
        "/projects/new", ATTRS | {"site": SITE}, ATTRS | {"site": SITE, "investment": "x"})),
    "POST /projects/{code}/actions start_round": Case(lambda s: (
        f"/projects/{planned(s)}/actions", _act("start_round"),
        _act("start_round", period_days="0"))),
    "POST /projects/{code}/actions close_round": Case(lambda s: (lambda c, r: (
        f"/projects/{c}/actions", _act("close_round", round_id=r, outcome="revise",
                                       reason="退回修改"),
        _act("close_round", round_id=r, outcome="revise", reason="")))(*disagreed(s))),
    "POST /projects/{code}/actions advance": Case(lambda s: (
        f"/projects/{reserve(s)}/actions", _act("advance", to="signed", reason="签约"),
        _act("advance", to="signed", reason=""))),
    "POST /projects/{code}/actions exit": Case(lambda s: (
        f"/projects/{planned(s)}/actions", _act("exit", reason="不再实施"),
        _act("exit", reason=""))),
    "POST /projects/{code}/departments": Case(lambda s: (
        f"/projects/{open_round(s)[0]}/departments",
        {"department": "water", "reason": "涉及河道"}, {"department": "water", "reason": ""})),
    "POST /projects/{code}/departments/remove": Case(lambda s: (
        f"/projects/{open_round(s)[0]}/departments/remove",
        {"department": "invest", "reason": "非招商项目"},
        {"department": "invest", "reason": ""})),
    "POST /projects/{code}/revise": Case(lambda s: (
        f"/projects/{planned(s)}/revise",
        ATTRS | {"reason": "调整选址", "new_round": "1", "site": json.dumps(
            geojson("02_redline_conflict.txt"))},
        ATTRS | {"reason": "调整选址", "investment": "x"})),
    "POST /projects/{code}/tags": Case(lambda s: (
        f"/projects/{planned(s)}/tags", {"tags": "city_key", "reason": "列入市重点"},
        {"tags": "city_key", "reason": ""})),
    "POST /projects/{code}/vet": Case(lambda s: (f"/projects/{planned(s)}/vet", {}, None)),
    "POST /inbox/{round_id}/answer": Case(lambda s: (
        f"/inbox/{open_round(s)[1]}/answer", {"answer": "agree", "text": "同意。"},
        {"answer": "maybe", "text": "同意。"})),
    "POST /meeting/{item_id}/decide": Case(lambda s: (
        f"/meeting/{meeting_item(s)}/decide",
        {"decision": "proceed", "meeting_date": "2026-03-02", "attendees": "市长、局长",
         "text": "同意推进。"},
        {"decision": "proceed", "meeting_date": "三月", "attendees": "市长",
         "text": "同意推进。"})),
    "POST /tracking/projects/{code}/reports": Case(lambda s: (
        f"/tracking/projects/{tracked(s)}/reports", {"month": "2026-02", "investment": "90"},
        {"month": "2026-02", "investment": "x"})),
    "POST /users/actions unlock": Case(lambda s: (
        "/users/actions", _act("unlock", name=_name(a_user(s, locked=True))),
        _act("unlock", name=""))),
    "POST /users/actions disable": Case(lambda s: (
        "/users/actions", _act("disable", name=_name(a_user(s))), _act("disable", name=""))),
    "POST /users/actions password": Case(lambda s: (lambda n: (
        "/users/actions", _act("password", name=n, password="new-password-22",
                               again="new-password-22"),
        _act("password", name=n, password="short", again="short")))(_name(a_user(s)))),
}


def _name(quoted: str) -> str:
    from urllib.parse import unquote

    return unquote(quoted)


def _open_session(store: Any, name: str) -> tuple[str, str]:
    """A live session of user ``name`` as sign-in stores it (its id hashed), without the
    password check (``tests/test_pages.py`` signs in through /login; argon2 for eleven
    users would cost more than this whole test)."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.name == name)).scalar_one()
        conn.execute(sessions.insert().values(
            id_hash=hashlib.sha256(session_id.encode()).hexdigest(), user_id=user_id,
            csrf_token=csrf, created_at=now, expires_at=now + timedelta(hours=2)))
    return session_id, csrf


class Pages:
    """The app over a sample city, one signed-in session per persona."""

    def __init__(self, client: TestClient, store: Any, sessions: dict[str, tuple[str, str]]):
        self.client, self.store, self.sessions = client, store, sessions

    def post(self, who: str | None, path: str, form: Form, csrf: bool = True) -> Any:
        self.client.cookies.clear()
        data = dict(form)
        if who is not None:
            session_id, token = self.sessions[who]
            self.client.cookies.set(COOKIE, session_id)
            if csrf:
                data["csrf"] = token
        return self.client.post(path, data=data, follow_redirects=False)


@pytest.fixture
def pages(engine_name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pages]:
    gen = copy_of_sample(engine_name, tmp_path / "data")  # the sample city, loaded once
    store = next(gen)
    for name, (role, county, dept) in PERSONAS.items():
        create_user(name, role, county, department=dept, store=store, actor="test")
    opened = {name: _open_session(store, name) for name in CALLERS if name is not None}
    Clock(monkeypatch, T0)
    app = create_app(Settings(database_url=store.database_url, data_dir=store.data_dir))
    with TestClient(app, base_url="https://testserver") as client:
        yield Pages(client, store, opened)
    next(gen, None)


def _to_login(answer: Any) -> bool:
    return answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_every_form_as_every_caller(pages: Pages) -> None:
    for key, case in CASES.items():
        api_key = PAGE_POLICY[key]
        wants = {c: expected(api_key, c, 303) for c in CALLERS}
        allowed = [c for c in CALLERS if wants[c] == 303 and c is not None]
        assert allowed, f"nobody may post {key}"
        path, good, bad = case.make(pages.store)
        before = snapshot(pages.store)
        assert _to_login(pages.post(None, path, good)), key
        no_csrf = pages.post(allowed[0], path, good, csrf=False)
        assert no_csrf.status_code == 403, key  # a page in Chinese, not JSON
        assert no_csrf.headers["content-type"].startswith("text/html"), key
        assert "表单已失效，请刷新页面后重新提交" in no_csrf.text and "返回</a>" in no_csrf.text
        for caller in (c for c in CALLERS if c is not None and wants[c] == 403):
            got = pages.post(caller, path, good)
            assert got.status_code == 403 and "无权" in got.text, (key, caller, got.text[:300])
        assert snapshot(pages.store) == before, (key, "a refused post changed data")
        for caller in allowed[:-1]:
            got = pages.post(caller, path, bad if bad is not None else good)
            if bad is not None:
                assert got.status_code in (400, 422), (key, caller, got.text[:300])
                assert snapshot(pages.store) == before, (key, caller)
            else:
                assert got.status_code == 303 and not _to_login(got), (key, caller)
        got = pages.post(allowed[-1], path, good)
        assert got.status_code == 303 and not _to_login(got), (key, allowed[-1], got.text[:300])
        assert snapshot(pages.store) != before or key.endswith("/vet"), key


def _flat(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through included routers (FastAPI ≥ 0.130 keeps them
    nested; older versions flatten them at inclusion)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flat(inner.routes, prefix + route.include_context.prefix)
        for method in getattr(route, "methods", None) or ():
            yield method, prefix + route.path


def _page_routes() -> set[str]:
    """Every form the app serves outside the APIs: 'POST /path'."""
    app = create_app(Settings())
    return {f"{m} {path}" for m, path in _flat(app.routes)
            if m not in ("GET", "HEAD") and not path.startswith(("/api", "/ogc"))}


def test_the_page_policy_names_every_form_and_follows_the_api_policy() -> None:
    served = _page_routes()
    named = {re.sub(r" [a-z_]+$", "", key) for key in PAGE_POLICY}
    assert served == named, served ^ named  # a new form without an entry fails here
    special = {PUBLIC, SESSION, QUOTA_CORE}
    for key, api_key in PAGE_POLICY.items():
        assert api_key in special or api_key in POLICY, key
    assert {k for k, v in PAGE_POLICY.items() if v not in special} == set(CASES)


def test_a_page_action_missing_from_the_policy_is_refused() -> None:
    admin = User("admin", "admin")
    check_page(admin, "POST /projects/{code}/tags", DCF)
    for key in ("POST /projects/{code}/actions teleport", "POST /login", "POST /nowhere"):
        with pytest.raises(NotAllowed):
            check_page(admin, key, DCF)


def test_the_table_in_the_docs_is_the_page_policy() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "web.md").read_text("utf-8")
    section = text.split("the page policy", 1)[1].split("tests/test_pages_policy.py", 1)[0]
    special = {PUBLIC: "public", SESSION: "whoever is signed in", QUOTA_CORE: "quota ledger"}
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `POST /"):
            form, follows = (c.strip() for c in line.strip("|").split("|"))
            key = " ".join(part.strip("`") for part in form.split("` `"))
            rows[key] = follows
    assert set(rows) == set(PAGE_POLICY)
    for key, api_key in PAGE_POLICY.items():
        assert (special[api_key] in rows[key]) if api_key in special \
            else rows[key] == f"`{api_key}`", key
