"""Every endpoint of projects, consultation, the joint meeting, the audit log and tracking,
called as every role × county (own, other, city level) × department (own, other; at city
level, and a county's bureau of its own county and of another) and anonymously, on both
engines, against the one written policy (``service/api/policy.py``).

Allowed → the endpoint's success status; a role or scope the policy refuses → 403;
anonymous → 401. A refused call changes nothing: the audit log, every project and every
round are compared before and after. The policy must name every route (and each route
must enforce its own entry), and every entry must have a case here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from projects_api_support import DCF, PERSONAS, PROJECT, Api, Clock, city_api, geojson
from projects_support import park_project, site

from blueprint.analysis import consultation as rounds
from blueprint.analysis import projects as core
from blueprint.layers.schema import (
    audit_log,
    consultation_rounds,
    metadata,
    projects,
    sessions,
)
from blueprint.layers.users import User
from blueprint.service.api import audit, consultation, policy
from blueprint.service.api import projects as project_api
from blueprint.service.api import tracking as tracking_api
from blueprint.service.api import users as users_api
from blueprint.service.api.policy import POLICY, Permit, Rule
from blueprint.service.api.policy import STAFF as STAFF_ROLES

PREFIXES = ("/api/projects", "/api/rounds", "/api/consultation", "/api/meeting", "/api/audit",
            "/api/tracking", "/api/users")
ROUTERS = (project_api.router, consultation.router, audit.router, tracking_api.router,
           users_api.router)
# the matrix: every role at city level, own county and other county; both departments
CALLERS = ["admin", "nr_city", "nr_dcf", "nr_yg", "quota_city", "quota_dcf", "quota_yg",
           "dept_ee", "dept_ee_dcf", "dept_ee_yg", "dept_housing", "viewer", None]
STAFF = User("setup", "nr_staff", DCF)


def _user(name: str) -> User:
    role, county, dept = PERSONAS[name]
    return User(name, role, county, dept)


# -- states the endpoints act on (made through the core, at the frozen clock) ----------

def planned(store: Any) -> str:
    """A planned project of 东昌府区 with a vetted site."""
    code = core.create_project(park_project(), site=site("01_park_clean.txt"), user=STAFF,
                               store=store).code
    core.vet_project(code, user=STAFF, store=store)
    return code


def open_round(store: Any) -> tuple[str, int]:
    """A project in consultation and its open round (nr, ee, drc, industry, invest)."""
    code = planned(store)
    return code, rounds.start_round(code, user=STAFF, store=store).id


def disagreed(store: Any) -> tuple[str, int]:
    """An open round where natural resources said 不同意."""
    code, round_id = open_round(store)
    rounds.answer(round_id, user=_user("dept_nr"), answer="disagree", text="不同意。",
                  store=store)
    return code, round_id


def reserve(store: Any) -> str:
    """A project in the reserve (every department agreed)."""
    code, round_id = open_round(store)
    for dept in ("nr", "ee", "drc", "industry", "invest"):
        rounds.answer(round_id, user=_user(f"dept_{dept}"), answer="agree", text="同意。",
                      store=store)
    return code


def tracked(store: Any) -> str:
    """A planned project of 东昌府区 with a tracking plan."""
    from datetime import date

    from blueprint.analysis import tracking

    code = core.create_project(park_project(), user=STAFF, store=store).code
    tracking.set_plan(code, milestones=[tracking.Milestone("start", date(2026, 6, 1), "住建局")],
                      investment={"2026-02": "100"}, user=STAFF, store=store)
    return code


def problem(store: Any) -> int:
    """An open problem of a tracked project of 东昌府区."""
    from blueprint.analysis import tracking

    return tracking.raise_problem(tracked(store), "施工用电未接入", user=STAFF, store=store).id


def report(store: Any) -> int:
    """A monthly report of a tracked project of 东昌府区."""
    from blueprint.analysis import tracking

    return tracking.submit_report(tracked(store), "2026-02", investment="90", user=STAFF,
                                  store=store).id


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return out.getvalue()


PHOTO = {"__files__": [("photos", ("现场.png", _png(), "image/png"))]}


def photo(store: Any) -> int:
    """A photo of a monthly report."""
    import io

    from blueprint.analysis import tracking

    return tracking.add_photos(report(store), [("a.png", io.BytesIO(_png()))], user=STAFF,
                               store=store)[0].id


def meeting_item(store: Any) -> int:
    """An item on the joint meeting's problem list."""
    _, round_id = disagreed(store)
    rounds.close_round(round_id, user=STAFF, outcome="meeting", reason="确需实施，提请联席会议",
                       store=store)
    return int(rounds.problem_list(store=store)[-1]["id"])


def a_user(store: Any, *, locked: bool = False) -> str:
    """A new user of 东昌府区 to act on (its sign-in locked by wrong passwords, if asked),
    quoted for a path."""
    from urllib.parse import quote

    from blueprint.layers.sign_in_guard import Lockout, record_failure
    from blueprint.layers.users import create_user

    name = f"县局科员{_next_user()}"
    create_user(name, "nr_staff", DCF, store=store, actor="test", password="old-password-1")
    for _ in range(5 if locked else 0):
        record_failure(name, store=store, lockout=Lockout())
    return quote(name, safe="")


def _next_user(counter: list[int] = [0]) -> int:  # noqa: B006  (a counter across cases)
    counter[0] += 1
    return counter[0]


@dataclass(frozen=True)
class Case:
    """How to call one endpoint: a fresh state → (path, body); the success status."""

    make: Callable[[Any], tuple[str, Any]]
    ok: int = 200


CASES: dict[str, Case] = {
    "POST /api/projects": Case(lambda s: ("/projects", PROJECT | {
        "site": geojson("01_park_clean.txt"), "vet": False}), 201),
    "GET /api/projects": Case(lambda s: ("/projects", None)),
    "GET /api/projects/stale": Case(lambda s: ("/projects/stale", None)),
    "POST /api/projects/revet": Case(lambda s: ("/projects/revet", None)),
    "GET /api/projects/{code}": Case(lambda s: (f"/projects/{planned(s)}", None)),
    "GET /api/projects/{code}/site": Case(lambda s: (f"/projects/{planned(s)}/site", None)),
    "POST /api/projects/{code}/vet": Case(lambda s: (f"/projects/{planned(s)}/vet", None)),
    "POST /api/projects/{code}/revise": Case(lambda s: (
        f"/projects/{planned(s)}/revise", {"reason": "调整", "site":
                                           geojson("02_redline_conflict.txt")})),
    "PUT /api/projects/{code}/tags": Case(lambda s: (
        f"/projects/{planned(s)}/tags", {"tags": ["city_key"], "reason": "列入市重点"})),
    "POST /api/projects/{code}/advance": Case(lambda s: (
        f"/projects/{reserve(s)}/advance", {"to": "signed", "reason": "签约"})),
    "POST /api/projects/{code}/exit": Case(lambda s: (
        f"/projects/{planned(s)}/exit", {"reason": "不再实施"})),
    "POST /api/projects/{code}/rounds": Case(lambda s: (
        f"/projects/{planned(s)}/rounds", {}), 201),
    "GET /api/rounds/{round_id}": Case(lambda s: (f"/rounds/{open_round(s)[1]}", None)),
    "POST /api/rounds/{round_id}/departments": Case(lambda s: (
        f"/rounds/{open_round(s)[1]}/departments", {"department": "water",
                                                    "reason": "涉及河道"})),
    "POST /api/rounds/{round_id}/departments/{department}/remove": Case(lambda s: (
        f"/rounds/{open_round(s)[1]}/departments/invest/remove", {"reason": "非招商项目"})),
    "POST /api/rounds/{round_id}/answers": Case(lambda s: (
        f"/rounds/{open_round(s)[1]}/answers", {"answer": "agree", "text": "同意。"}), 201),
    "POST /api/rounds/{round_id}/close": Case(lambda s: (
        f"/rounds/{disagreed(s)[1]}/close", {"outcome": "revise", "reason": "退回修改"})),
    "GET /api/consultation/inbox": Case(lambda s: ("/consultation/inbox", None)),
    "GET /api/consultation/overdue": Case(lambda s: ("/consultation/overdue", None)),
    "GET /api/meeting/items": Case(lambda s: ("/meeting/items", None)),
    "POST /api/meeting/items/{item_id}/decide": Case(lambda s: (
        f"/meeting/items/{meeting_item(s)}/decide",
        {"decision": "proceed", "meeting_date": "2026-03-02", "attendees": ["市长", "局长"],
         "text": "同意推进。"})),
    "GET /api/audit": Case(lambda s: ("/audit", None)),
    "GET /api/users": Case(lambda s: ("/users", None)),
    "POST /api/users/{name}/unlock": Case(lambda s: (
        f"/users/{a_user(s, locked=True)}/unlock", None)),
    "POST /api/users/{name}/disable": Case(lambda s: (f"/users/{a_user(s)}/disable", None)),
    "POST /api/users/{name}/password": Case(lambda s: (
        f"/users/{a_user(s, locked=True)}/password", {"password": "new-password-22"})),
    "GET /api/tracking/projects": Case(lambda s: ("/tracking/projects", None)),
    "GET /api/tracking/projects/{code}/plan": Case(lambda s: (
        f"/tracking/projects/{tracked(s)}/plan", None)),
    "PUT /api/tracking/projects/{code}/plan": Case(lambda s: (
        f"/tracking/projects/{tracked(s)}/plan", {"investment": {"2026-03": "50"}})),
    "POST /api/tracking/projects/{code}/reports": Case(lambda s: (
        f"/tracking/projects/{tracked(s)}/reports", {"month": "2026-02", "investment": "90"}),
        201),
    "GET /api/tracking/projects/{code}/reports": Case(lambda s: (
        f"/tracking/projects/{tracked(s)}/reports", None)),
    "POST /api/tracking/reports/{report_id}/photos": Case(lambda s: (
        f"/tracking/reports/{report(s)}/photos", PHOTO), 201),
    "GET /api/tracking/photos/{photo_id}": Case(lambda s: (f"/tracking/photos/{photo(s)}", None)),
    "GET /api/tracking/dispatches": Case(lambda s: ("/tracking/dispatches", None)),
    "POST /api/tracking/dispatches": Case(lambda s: ("/tracking/dispatches", {
        "held_on": "2026-03-02", "attendees": ["市重点项目办"], "projects": [tracked(s)],
        "decisions": "加快推进。"}), 201),
    "GET /api/tracking/adjustments": Case(lambda s: ("/tracking/adjustments", None)),
    "POST /api/tracking/adjustments": Case(lambda s: ("/tracking/adjustments", {
        "quarter": "2026-Q1", "decided_on": "2026-03-02", "items": [
            {"project": tracked(s), "action": "in", "reason": "列入市重点"}]}), 201),
    "GET /api/tracking/late": Case(lambda s: ("/tracking/late?month=2026-02", None)),
    "GET /api/tracking/problems": Case(lambda s: ("/tracking/problems", None)),
    "POST /api/tracking/problems/{problem_id}/escalate": Case(lambda s: (
        f"/tracking/problems/{problem(s)}/escalate", {"note": "县级无法协调"})),
    "POST /api/tracking/problems/{problem_id}/close": Case(lambda s: (
        f"/tracking/problems/{problem(s)}/close", {"note": "已解决，销号"})),
    "GET /api/tracking/figures": Case(lambda s: ("/tracking/figures?month=2026-02", None)),
    "GET /api/tracking/bulletin": Case(lambda s: (
        "/tracking/bulletin?month=2026-02&format=xlsx", None)),
}


def expected(key: str, caller: str | None, ok: int) -> int:
    """What the policy says a caller gets (every resource here is of 东昌府区 and every
    round consults ee, not housing)."""
    rule = POLICY[key]
    if caller is None:
        return 401
    role, county, dept = PERSONAS[caller]
    if role not in rule.roles:
        return 403
    if role == "admin":
        return ok
    if rule.scope == "city" and county:
        return 403
    if rule.scope == "reporter" and role not in STAFF_ROLES:  # nobody here is 李专员
        return 403
    if rule.scope in ("county", "reporter") and county and county != DCF:
        return 403
    if rule.scope == "department" and "{round_id}" in key and (
            dept == "housing" or (county and county != DCF)):
        return 403
    return ok


def snapshot(store: Any) -> tuple[Any, ...]:
    """Everything a call could change: the audit log, projects and rounds, and how many rows
    every table of records holds (tracking reports, photos, problems, dispatches … too)."""
    with store.engine.connect() as conn:
        return (conn.execute(sa.select(sa.func.count(), sa.func.max(audit_log.c.id))).one(),
                conn.execute(sa.select(projects.c.code, projects.c.stage,
                                       projects.c.site_version).order_by(projects.c.id)).all(),
                conn.execute(sa.select(consultation_rounds.c.id, consultation_rounds.c.status)
                             .order_by(consultation_rounds.c.id)).all(),
                {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                 for t in metadata.sorted_tables if t.name != sessions.name})


@pytest.fixture
def api(engine_name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[tuple[Api, Clock]]:
    yield from city_api(engine_name, tmp_path, monkeypatch)


def _method(key: str) -> str:
    return key.split(" ", 1)[0]


def _call(client: Api, caller: str | None, method: str, path: str, body: Any) -> Any:
    """``client.call``, or a multipart post for a body of ``__files__``."""
    if isinstance(body, dict) and "__files__" in body:
        headers = {"Authorization": f"Bearer {client.tokens[caller]}"} if caller else {}
        return client.client.request(method, f"/api{path}", files=body["__files__"],
                                     headers=headers)
    return client.call(caller, method, path, body)


def test_every_endpoint_as_every_caller(api: tuple[Api, Clock]) -> None:
    client, _ = api
    store = client.store
    for key, case in CASES.items():
        wants = {caller: expected(key, caller, case.ok) for caller in CALLERS}
        refused = [c for c, status in wants.items() if status in (401, 403)]
        path, body = case.make(store)  # one state for every refused caller
        before = snapshot(store)
        for caller in refused:
            got = _call(client, caller, _method(key), path, body)
            assert got.status_code == wants[caller], (key, caller, got.text)
            assert snapshot(store) == before, (key, caller, "a refused call changed data")
        for caller in (c for c in CALLERS if c not in refused):
            if _method(key) != "GET":
                path, body = case.make(store)  # a fresh state for each change
            last = _last_audit_id(store)
            got = _call(client, caller, _method(key), path, body)
            assert got.status_code == wants[caller], (key, caller, got.text)
            if _method(key) != "GET" and key not in CHANGES_NOTHING_HERE:
                assert caller in _audit_actors_since(store, last), (key, caller, "no audit row")
        assert [c for c in CALLERS if c not in refused], f"nobody may call {key}"


# changing calls whose state here leaves nothing to change (no project's review is stale)
CHANGES_NOTHING_HERE = {"POST /api/projects/revet"}


def _last_audit_id(store: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit_log.c.id), 0)))
                   .scalar_one())


def _audit_actors_since(store: Any, last: int) -> set[str]:
    """Who the audit rows written after row ``last`` name: every change says who made it."""
    with store.engine.connect() as conn:
        return set(conn.execute(sa.select(audit_log.c.actor).where(audit_log.c.id > last))
                   .scalars())


def _routes() -> set[str]:
    """Every endpoint the routers of these areas serve, as 'METHOD /api/path'."""
    return {f"{m} /api{r.path}" for router in ROUTERS for r in router.routes
            for m in getattr(r, "methods", ())}


def missing_from_policy(served: set[str], policy: dict[str, Rule]) -> set[str]:
    """Endpoints served under the areas' prefixes that the policy does not name."""
    return {key for key in served if key.split(" ", 1)[1].startswith(PREFIXES)
            and key not in policy}


def test_the_policy_names_every_route_and_every_route_enforces_its_own_entry(
        api: tuple[Api, Clock]) -> None:
    client, _ = api
    served = {f"{method.upper()} {path}"
              for path, ops in client.client.get("/openapi.json").json()["paths"].items()
              for method in ops if path.startswith(PREFIXES)}
    assert served == _routes()
    assert missing_from_policy(served, POLICY) == set()
    assert set(POLICY) == served == set(CASES)
    for router in ROUTERS:
        for route in router.routes:
            keys = [d.call.key for d in route.dependant.dependencies  # type: ignore[attr-defined]
                    if isinstance(d.call, Permit)]
            assert keys == [f"{m} /api{route.path}"  # type: ignore[attr-defined]
                            for m in route.methods], route  # type: ignore[attr-defined]


def test_an_endpoint_missing_from_the_policy_is_found_and_refused(
        api: tuple[Api, Clock], monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = api
    gone = "GET /api/projects/stale"
    trimmed = {k: v for k, v in POLICY.items() if k != gone}
    assert missing_from_policy(_routes(), trimmed) == {gone}
    monkeypatch.setattr(policy, "POLICY", trimmed)
    refused = client.call("admin", "GET", "/projects/stale")
    assert refused.status_code == 403 and "未列入访问权限表" in refused.json()["message_zh"]


def test_the_table_in_the_docs_is_the_policy() -> None:
    from pathlib import Path

    from blueprint.service.api.policy import EVERYONE
    from blueprint.service.api.policy import STAFF as STAFF_ROLES

    text = (Path(__file__).resolve().parents[1] / "docs" / "projects.md").read_text("utf-8")
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `") and " /api/" in line:
            key, what, roles, scope = (c.strip() for c in line.strip("|").split("|"))
            rows[key.strip("`")] = (what, roles, scope)
    named = {"everyone": EVERYONE, "staff": STAFF_ROLES}
    assert rows == {k: (r.what, next((n for n, v in named.items() if v == r.roles),
                                     ", ".join(r.roles)), r.scope)
                    for k, r in POLICY.items()}
