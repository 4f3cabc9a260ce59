"""The project page's forms beyond the stage moves: add or remove a department of the open
round (with a reason), revise the project after a 不同意 (attributes and a drawn or
uploaded site; a new round can start at once), set its libraries, and vet it again.

Each form carries the session's CSRF token; the page policy (``PAGE_POLICY`` of
``service/api/policy.py``, handed in as ``permit``) is checked before the same core
functions the API calls, and they write the audit rows. A refused form comes back on the
project page with the reason above it and what was filled in kept.
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency annotations.
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from blueprint.analysis.consultation import (
    add_department,
    remove_department,
    revise_and_vet,
)
from blueprint.analysis.projects import (
    get_project,
    latest_report,
    set_tags,
    vet_project,
)
from blueprint.analysis.projects.config import load_settings
from blueprint.analysis.site import Site
from blueprint.layers.errors import BlueprintError
from blueprint.layers.inputs import CODE_LEN, ONE_LINE
from blueprint.layers.users import User
from blueprint.web.form_fields import check_form
from blueprint.web.project_forms import (
    form_values,
    from_file,
    keep_site,
    project_input,
    site_from_form,
)
from blueprint.web.project_view import open_round_id, period
from blueprint.web.render import Refusal
from blueprint.web.session import check_csrf

ProjectCode = Annotated[str, Path(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE)]
Act = Callable[[Any, User], Awaitable[str]]


def action_routes(SessionDep: Any, Ctx: Any, StoreDep: Any, RulesDep: Any,  # noqa: N803
                  SettingsDep: Any, error_status: Any, permit: Any,
                  refused_page: Callable[..., Response]) -> APIRouter:
    """The routes, over the project router's dependency types; ``refused_page`` shows the
    project page again with a refused form filled in and the reason above it."""
    router = APIRouter(include_in_schema=False)

    async def run(code: str, request: Request, session: Any, ctx: Any, store: Any,
                  rules: Any, key: str, act: Act, form_name: str,
                  note: Callable[[Any, dict[str, Any]], str] | None = None) -> Response:
        """CSRF, the form's fields, the page policy, then ``act``; back to the project
        page (with what ``act`` returns as its query), or the page again with the form
        ``form_name`` as it was filled in and the reason of the refusal (and ``note`` of
        the form and what it keeps after it: what the page kept, or could not keep)."""
        form = await request.form()
        check_csrf(session, form.get("csrf"))
        check_form(form, long=("site",))
        back = f"/projects/{quote(code)}"
        try:
            permit(session.user, key, get_project(code, store=store).county, None, store=store)
            query = await act(form, session.user)
        except BlueprintError as exc:
            kept = form_values(form)
            return refused_page(code, request, session.user, ctx, store, rules, Refusal(
                exc, error_status(exc), kept, form_name,
                note(form, kept) if note is not None else ""))
        return RedirectResponse(f"{ctx.base}{back}{query}", status_code=303)

    def department_route(path: str, change: Callable[..., Any], form_name: str,
                         doc: str) -> None:
        """``POST path``: ``change`` (add or remove) a department of the open round, with
        a reason; the page policy's key is ``POST path``."""
        async def endpoint(code: ProjectCode, request: Request, session: SessionDep, ctx: Ctx,
                           store: StoreDep, rules: RulesDep) -> Response:
            async def act(form: Any, user: User) -> str:
                change(open_round_id(code, store), str(form.get("department") or ""),
                       user=user, reason=str(form.get("reason") or ""), store=store)
                return ""
            return await run(code, request, session, ctx, store, rules, f"POST {path}", act,
                             form_name)
        endpoint.__doc__ = doc
        router.post(path, response_model=None)(endpoint)

    department_route("/projects/{code}/departments", add_department, "add_department",
                     "Add a department to the open round, with a reason (its deadline from "
                     "today).")
    department_route("/projects/{code}/departments/remove", remove_department,
                     "remove_department",
                     "Take a department out of the open round, with a reason kept on record.")

    @router.post("/projects/{code}/revise", response_model=None)
    async def revise(code: ProjectCode, request: Request, session: SessionDep, ctx: Ctx,
                     store: StoreDep, rules: RulesDep, settings: SettingsDep) -> Response:
        """New attributes and/or site (策划生成 only), vetted again (the industry or the
        emissions may have changed); a new round at once when ``new_round`` is ticked: all
        in one transaction, nothing written when a step is refused. A refused form keeps a
        drawn site; a chosen file is read first, and a refusal after
        it was read keeps the site read (a browser cannot keep the file)."""
        read: list[Site | None] = []  # the site read: a later refusal is not about its file

        async def act(form: Any, user: User) -> str:
            site = await site_from_form(form, settings,
                                        str(form.get("name") or "") or "项目地块")
            read.append(site)
            data = project_input(form, load_settings().libraries)
            days = period(form.get("period_days"))
            revise_and_vet(code, user=user, store=store, reason=str(form.get("reason") or ""),
                           data=data, site=site, rules=rules, period_days=days,
                           new_round=form.get("new_round") == "1")
            return ""
        def note(form: Any, kept: dict[str, Any]) -> str:
            site = read[0] if read else None
            return keep_site(kept, site) if site is not None and from_file(form) else ""
        return await run(code, request, session, ctx, store, rules,
                         "POST /projects/{code}/revise", act, "revise", note)

    @router.post("/projects/{code}/tags", response_model=None)
    async def tags(code: ProjectCode, request: Request, session: SessionDep, ctx: Ctx,
                   store: StoreDep, rules: RulesDep) -> Response:
        """Put the project in exactly the ticked libraries (art. 6), with a reason."""
        async def act(form: Any, user: User) -> str:
            set_tags(code, form.getlist("tags"), user=user, store=store,
                     reason=str(form.get("reason") or ""))
            return ""
        return await run(code, request, session, ctx, store, rules,
                         "POST /projects/{code}/tags", act, "tags")

    @router.post("/projects/{code}/vet", response_model=None)
    async def revet(code: ProjectCode, request: Request, session: SessionDep, ctx: Ctx,
                    store: StoreDep, rules: RulesDep) -> Response:
        """Vet the stored site again against today's layers; the page says whether the
        verdict changed."""
        async def act(form: Any, user: User) -> str:
            before = latest_report(code, store=store)
            vet_project(code, user=user, store=store, rules=rules)
            return "?" + urlencode({"revet": before.verdict}) if before else ""
        return await run(code, request, session, ctx, store, rules,
                         "POST /projects/{code}/vet", act, "vet")

    return router
