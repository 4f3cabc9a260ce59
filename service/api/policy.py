"""Who may call which endpoint of projects, consultation, the joint meeting and the audit
log: the one written policy, and the one dependency that enforces it.

:data:`POLICY` maps each endpoint (``"METHOD /path"`` as FastAPI routes it) to the roles
that may call it and at which scope; ``docs/projects.md`` shows it as a table and
``tests/test_projects_policy.py`` calls every endpoint as every role, county and
department against it. :class:`Permit` is the one dependency every such endpoint
takes, naming its key (``user: Annotated[User, permit("POST /api/projects")]``); a key
missing from the table is refused (deny by default), never open, and the test checks that
each route's key is its own method and path.

Scopes:

- ``any``: every county's records;
- ``county``: the project's county (from the path: a project code, a round, a
  problem-list item or a tracked problem; for a new project, the ``county`` of the
  body); a user without a county (city level) acts for every county;
- ``city``: city-level users only (no county);
- ``department``: a ``department`` user, and, for a round, a department still in it and
  (for a user tied to a county: a county bureau) a project of the user's county; such a
  user's inbox lists only its county's rounds (``analysis.consultation.inbox``);
- ``reporter``: the project's service officer (服务专员, its ``service_officer``), or
  staff at ``county`` scope (a monthly report and its photos).

``admin`` passes every scope, as :meth:`blueprint.layers.users.User.require` does; the
core checks the same again (``analysis.projects.records.require_staff``,
``analysis.consultation.rounds.answer``), so the policy is never looser than the core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from blueprint.analysis.audit_view import READERS
from blueprint.analysis.consultation.model import own_county
from blueprint.analysis.quota.balances import county_name
from blueprint.layers.errors import BadInput, NotAllowed, NotFound
from blueprint.layers.inputs import CODE_LEN, MAX_ID, check_text
from blueprint.layers.store import Store
from blueprint.layers.users import ROLES, User, authenticate

EVERYONE = tuple(ROLES)
STAFF = ("admin", "nr_staff", "city_quota_manager", "county_quota_manager")
DEPARTMENT = ("department",)
AUDITORS = READERS  # who reads the audit log (analysis.audit_view, the CLI and /audit)
ADMIN = ("admin",)
# who may file a project's monthly report: staff (county scope), or the project's service
# officer (服务专员) whatever their role, read-only users excepted
REPORTERS = tuple(r for r in ROLES if r != "viewer")


@dataclass(frozen=True)
class Rule:
    """Who may call an endpoint: ``roles``, at ``scope`` (``any``, ``county``, ``city``,
    ``department``); ``what`` says it in Chinese for the docs and the error."""

    roles: tuple[str, ...]
    scope: str
    what: str


POLICY: dict[str, Rule] = {
    "POST /api/projects": Rule(STAFF, "county", "新建项目（策划生成）"),
    "GET /api/projects": Rule(EVERYONE, "any", "项目列表"),
    "GET /api/projects/stale": Rule(EVERYONE, "any", "审查结论已过期的项目"),
    "POST /api/projects/revet": Rule(STAFF, "city", "重新审查过期项目"),
    "GET /api/projects/{code}": Rule(EVERYONE, "any", "项目详情"),
    "GET /api/projects/{code}/site": Rule(EVERYONE, "any", "下载项目用地范围"),
    "POST /api/projects/{code}/vet": Rule(STAFF, "county", "审查项目用地"),
    "POST /api/projects/{code}/revise": Rule(STAFF, "county", "修改项目"),
    "PUT /api/projects/{code}/tags": Rule(STAFF, "county", "设置项目库"),
    "POST /api/projects/{code}/advance": Rule(STAFF, "county", "推进项目阶段"),
    "POST /api/projects/{code}/exit": Rule(STAFF, "county", "调出项目"),
    "POST /api/projects/{code}/rounds": Rule(STAFF, "county", "发起会商"),
    "GET /api/rounds/{round_id}": Rule(EVERYONE, "any", "会商轮次详情"),
    "POST /api/rounds/{round_id}/departments": Rule(STAFF, "county", "增加会商部门"),
    "POST /api/rounds/{round_id}/departments/{department}/remove":
        Rule(STAFF, "county", "移除会商部门"),
    "POST /api/rounds/{round_id}/answers": Rule(DEPARTMENT, "department", "答复会商"),
    "POST /api/rounds/{round_id}/close": Rule(STAFF, "county", "结束会商"),
    "GET /api/consultation/inbox": Rule(DEPARTMENT, "department", "本部门待办会商"),
    "GET /api/consultation/overdue": Rule(STAFF, "any", "逾期未答复"),
    "GET /api/meeting/items": Rule(STAFF, "any", "联席会议问题清单"),
    "POST /api/meeting/items/{item_id}/decide": Rule(STAFF, "city", "记录联席会议决定"),
    "GET /api/audit": Rule(AUDITORS, "city", "审计日志"),
    "GET /api/users": Rule(ADMIN, "any", "查看用户"),
    "POST /api/users/{name}/unlock": Rule(ADMIN, "any", "解除登录锁定"),
    "POST /api/users/{name}/disable": Rule(ADMIN, "any", "停用用户"),
    "POST /api/users/{name}/password": Rule(ADMIN, "any", "重设用户密码"),
    "GET /api/tracking/projects": Rule(EVERYONE, "any", "项目三色状态"),
    "GET /api/tracking/projects/{code}/plan": Rule(EVERYONE, "any", "查看倒排工期"),
    "PUT /api/tracking/projects/{code}/plan": Rule(STAFF, "county", "制定倒排工期"),
    "POST /api/tracking/projects/{code}/reports": Rule(REPORTERS, "reporter", "填报月报"),
    "GET /api/tracking/projects/{code}/reports": Rule(EVERYONE, "any", "查看月报"),
    "POST /api/tracking/reports/{report_id}/photos": Rule(REPORTERS, "reporter",
                                                          "上传月报照片"),
    "GET /api/tracking/photos/{photo_id}": Rule(EVERYONE, "any", "查看月报照片"),
    "GET /api/tracking/dispatches": Rule(EVERYONE, "any", "周调度记录"),
    "POST /api/tracking/dispatches": Rule(STAFF, "city", "记录周调度"),
    "GET /api/tracking/adjustments": Rule(EVERYONE, "any", "季度调整记录"),
    "POST /api/tracking/adjustments": Rule(STAFF, "city", "记录季度调整"),
    "GET /api/tracking/late": Rule(STAFF, "any", "月报逾期、未报清单"),
    "GET /api/tracking/problems": Rule(EVERYONE, "any", "跟踪问题清单"),
    "POST /api/tracking/problems/{problem_id}/escalate": Rule(STAFF, "county", "问题提级"),
    "POST /api/tracking/problems/{problem_id}/close": Rule(STAFF, "county", "问题销号"),
    "GET /api/tracking/figures": Rule(EVERYONE, "any", "指标与排名"),
    "GET /api/tracking/bulletin": Rule(EVERYONE, "any", "月度通报"),
}

# The pages' forms (``POST`` routes of ``web/``): each names the API endpoint whose rule it
# follows, so a page never lets anyone do what the API would refuse them. A route that
# dispatches on its form's ``action`` has one entry per action (``"POST /path action"``).
# ``PUBLIC``: anyone (the sign-in form, its own double-submit token); ``SESSION``: whoever is
# signed in (signing out); ``QUOTA_CORE``: the quota ledger's own role and county checks
# (``analysis/quota``, ``docs/quota.md``), tested in ``tests/test_quota_pages.py``.
PUBLIC, SESSION, QUOTA_CORE = "public", "session", "quota-core"
PAGE_POLICY: dict[str, str] = {
    "POST /login": PUBLIC,
    "POST /logout": SESSION,
    "POST /account/password": SESSION,
    "POST /quota/ops": QUOTA_CORE,
    "POST /projects/new": "POST /api/projects",
    "POST /projects/{code}/actions start_round": "POST /api/projects/{code}/rounds",
    "POST /projects/{code}/actions close_round": "POST /api/rounds/{round_id}/close",
    "POST /projects/{code}/actions advance": "POST /api/projects/{code}/advance",
    "POST /projects/{code}/actions exit": "POST /api/projects/{code}/exit",
    "POST /projects/{code}/departments": "POST /api/rounds/{round_id}/departments",
    "POST /projects/{code}/departments/remove":
        "POST /api/rounds/{round_id}/departments/{department}/remove",
    "POST /projects/{code}/revise": "POST /api/projects/{code}/revise",
    "POST /projects/{code}/tags": "PUT /api/projects/{code}/tags",
    "POST /projects/{code}/vet": "POST /api/projects/{code}/vet",
    "POST /inbox/{round_id}/answer": "POST /api/rounds/{round_id}/answers",
    "POST /meeting/{item_id}/decide": "POST /api/meeting/items/{item_id}/decide",
    "POST /tracking/projects/{code}/reports": "POST /api/tracking/projects/{code}/reports",
    "POST /users/actions unlock": "POST /api/users/{name}/unlock",
    "POST /users/actions disable": "POST /api/users/{name}/disable",
    "POST /users/actions password": "POST /api/users/{name}/password",
}

_bearer = HTTPBearer(auto_error=False)
_ID = re.compile(r"[0-9]{1,10}")


def _refuse(user: User, rule: Rule | None, why: str, why_zh: str) -> NotAllowed:
    what = rule.what if rule else "此操作"
    return NotAllowed(f"user {user.name!r} ({user.role}) may not do this: {why}",
                      message_zh=f"用户“{user.name}”无权{what}：{why_zh}")


def _checked(params: dict[str, Any]) -> dict[str, Any]:
    """The path's ids and code checked before any lookup: this dependency runs before
    FastAPI validates the parameters (a ``round_id`` of ``null`` or 10^20 is a 422)."""
    for name in ("round_id", "item_id", "problem_id", "report_id", "photo_id"):
        if name in params:
            text = str(params[name])
            if not _ID.fullmatch(text) or not 1 <= int(text) <= MAX_ID:
                raise BadInput(f"{name} must be an integer from 1 to {MAX_ID}",
                               message_zh=f"{name} 须为 1 至 {MAX_ID} 之间的整数", where=name)
    for name in ("code", "department"):
        if name in params:
            check_text(str(params[name]), name, max_len=CODE_LEN)
    return params


async def _body_county(request: Request, own: str | None) -> str | None:
    """The ``county`` of a JSON body, if it has one (the body is not validated yet); a JSON
    object without one (or with ``null``) is for the user's ``own`` county, as the endpoint
    files it (``POST /api/projects``: a county user's own county)."""
    try:
        body = await request.json() if await request.body() else {}
    except ValueError:  # not JSON (or not UTF-8): the body's own validation answers 422
        return None
    if not isinstance(body, dict):
        return None
    county = body.get("county")
    return county if isinstance(county, str) else own if county is None else None


def _resource(store: Store, params: dict[str, Any]) -> tuple[str | None, list[str]]:
    """The county of the project a path names, and the departments still in its round."""
    from blueprint.analysis.consultation.records import get_round
    from blueprint.analysis.projects.records import get_project

    if "round_id" in params:
        rnd = get_round(int(params["round_id"]), store=store)
        return get_project(rnd.project, store=store).county, [a.department for a in rnd.active]
    if "item_id" in params:
        from blueprint.analysis.consultation.meeting import problem_list

        item_id = int(params["item_id"])
        code = next((i["project"] for i in problem_list(store=store, status=None)
                     if i["id"] == item_id), None)
        if code is None:
            raise NotFound(f"no problem-list item {item_id}", where="item",
                           message_zh=f"问题清单事项 {item_id} 不存在")
        return get_project(code, store=store).county, []
    if "problem_id" in params:
        from blueprint.analysis.tracking.problems import get_problem

        return get_problem(int(params["problem_id"]), store=store).county, []
    if "code" in params:
        return get_project(str(params["code"]), store=store).county, []
    return None, []


def _reporter_resource(store: Store, params: dict[str, Any]) -> tuple[str | None, str | None]:
    """The county and service officer of the project a report path names."""
    from blueprint.analysis.projects.records import get_project

    if "report_id" in params:
        from blueprint.analysis.tracking.reports import report_project

        code = report_project(int(params["report_id"]), store=store)
    else:
        code = str(params["code"])
    project = get_project(code, store=store)
    return project.county, project.service_officer


def check_role(user: User, rule: Rule | None) -> Rule:
    """Raise :class:`NotAllowed` unless ``rule`` names the user's role."""
    if rule is None:
        raise _refuse(user, rule, "the endpoint is not in the access policy",
                      "该接口未列入访问权限表")
    if user.role not in rule.roles:
        raise _refuse(user, rule, f"needs one of: {', '.join(rule.roles)}", "角色不符")
    return rule


def check_scope(user: User, rule: Rule, county: str | None, departments: list[str],
                round_named: bool, officer: str | None = None,
                store: Store | None = None) -> None:
    """Raise :class:`NotAllowed` unless ``rule``'s scope lets ``user`` act on a resource
    of ``county`` (a round with ``departments`` still in it, when ``round_named``; a
    project whose service officer is ``officer``, for the ``reporter`` scope). A refusal
    for another county names the user's as they know it (本县（阳谷县）), read from
    ``store`` then; without one (a check whose message nobody reads) by its code."""
    if user.role == "admin":
        return
    if rule.scope == "reporter":
        if officer and user.name == officer:
            return
        if user.role not in STAFF:
            raise _refuse(user, rule, "neither staff nor the project's service officer",
                          "只有本项目的服务专员或本县工作人员可以填报")
    if rule.scope == "city" and user.county:
        raise _refuse(user, rule, "city-level users only", "仅限市级用户")
    if rule.scope in ("county", "reporter") and user.county and county != user.county:
        raise _refuse(user, rule, f"acts only for county {user.county}",
                      f"只能办理本县（{_own_county(user.county, store)}）的项目")
    if rule.scope == "department" and (
            not user.department or (round_named and user.department not in departments)):
        raise _refuse(user, rule, "the user's department is not consulted here",
                      "本部门未参与该轮会商")
    if rule.scope == "department" and round_named and not own_county(user, county):
        raise _refuse(user, rule, f"acts only for county {user.county}",
                      f"只能答复本县（{_own_county(user.county or '', store)}）项目的会商")


def _own_county(county: str, store: Store | None) -> str:
    return county_name(county, store=store) if store is not None else county


def check_page(user: User, key: str, county: str | None,
               departments: list[str] | None = None, officer: str | None = None,
               store: Store | None = None) -> None:
    """Raise :class:`NotAllowed` unless the rule :data:`PAGE_POLICY` follows for the page
    action ``key`` lets ``user`` act on a project of ``county`` (a round with
    ``departments`` still in it, when given; a project whose service officer is
    ``officer``). A key missing from the table is refused. A form that shows the refusal
    passes ``store``, to name the user's county (:func:`check_scope`)."""
    rule = POLICY.get(PAGE_POLICY.get(key, ""))
    check_scope(user, check_role(user, rule), county, departments or [],
                departments is not None, officer, store)


class Permit:
    """The dependency of one endpoint: the user of the bearer token (401 without one),
    allowed by the rule :data:`POLICY` has for ``key`` to call it on this resource (403
    otherwise; 404 for a resource that does not exist). A key the policy lacks is refused.
    """

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, request: Request,
                       creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
                       ) -> User:
        """Authenticate, then check the role, then the scope."""
        store: Store = request.app.state.store
        user = await run_in_threadpool(authenticate, creds.credentials if creds else None,
                                       store=store)
        rule = check_role(user, POLICY.get(self.key))  # no lookups for the wrong role
        county: str | None = None
        departments: list[str] = []
        officer: str | None = None
        params: dict[str, Any] = _checked(dict(request.path_params))
        if rule.scope == "reporter":
            county, officer = await run_in_threadpool(_reporter_resource, store, params)
        elif rule.scope in ("county", "department"):
            county, departments = await run_in_threadpool(_resource, store, params)
            if county is None and rule.scope == "county":
                county = await _body_county(request, user.county)
        scope = (user, rule, county, departments, "round_id" in params, officer)
        try:
            check_scope(*scope)
        except NotAllowed:  # refused (rare): again off the event loop, naming the county
            await run_in_threadpool(check_scope, *scope, store)
            raise
        return user


def permit(key: str) -> Any:
    """``Annotated[User, permit("POST /api/projects")]``: the endpoint's one dependency."""
    return Depends(Permit(key))
