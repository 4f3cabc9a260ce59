"""Consultation between departments and the joint meeting over HTTP (same core as
``blueprint consult`` and ``blueprint meeting``).

Rounds start on a project (``POST /api/projects/{code}/rounds``) and are then addressed by
id (``/api/rounds/{round_id}``); a department user answers for their own department and
reads its inbox; staff read what is overdue and the joint meeting's problem list. Every
endpoint takes :data:`~blueprint.service.api.policy.Allowed` (``service/api/policy.py``).
Deadlines need the holiday calendar: a year it does not cover yet is 503.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from blueprint.analysis import consultation as core
from blueprint.analysis.projects.json_view import inbox_json, overdue_json
from blueprint.analysis.site import site_from_geojson
from blueprint.layers.users import User
from blueprint.service.api.bounds import CodePath, CodeQuery, IdPath
from blueprint.service.api.deps import SettingsDep, StoreDep
from blueprint.service.api.policy import permit
from blueprint.service.api.project_models import (
    AnswerIn,
    CloseIn,
    DecideIn,
    DecisionOut,
    DepartmentIn,
    InboxOut,
    OpinionOut,
    OverdueOut,
    ProblemOut,
    ReasonIn,
    RoundOut,
    StartRoundIn,
    opinion_out,
    round_out,
)
from blueprint.service.context import site_limits

router = APIRouter(tags=["consultation"])


@router.post(
    "/projects/{code}/rounds",
    response_model=RoundOut,
    status_code=201,
    summary="Start a consultation round / 发起会商",
)
def api_start(
    code: CodePath,
    body: StartRoundIn,
    user: Annotated[User, permit("POST /api/projects/{code}/rounds")],
    store: StoreDep,
) -> Any:
    """Departments picked by the routing rules, each with a working-day deadline."""
    return round_out(core.start_round(code, user=user, store=store, period_days=body.period_days))


@router.get("/rounds/{round_id}", response_model=RoundOut, summary="A round / 会商轮次")
def api_round(
    round_id: IdPath, user: Annotated[User, permit("GET /api/rounds/{round_id}")], store: StoreDep
) -> Any:
    """Departments, deadlines, answers and amendments."""
    return round_out(core.get_round(round_id, store=store))


@router.post(
    "/rounds/{round_id}/departments",
    response_model=RoundOut,
    summary="Add a department / 增加会商部门",
)
def api_add(
    round_id: IdPath,
    body: DepartmentIn,
    user: Annotated[User, permit("POST /api/rounds/{round_id}/departments")],
    store: StoreDep,
) -> Any:
    """Its deadline counts from today."""
    return round_out(
        core.add_department(round_id, body.department, user=user, reason=body.reason, store=store)
    )


@router.post(
    "/rounds/{round_id}/departments/{department}/remove",
    response_model=RoundOut,
    summary="Remove a department / 移除会商部门",
)
def api_remove(
    round_id: IdPath,
    department: CodePath,
    body: ReasonIn,
    user: Annotated[User, permit("POST /api/rounds/{round_id}/departments/{department}/remove")],
    store: StoreDep,
) -> Any:
    """Kept on record with the reason; one the rules always consult cannot go."""
    return round_out(
        core.remove_department(round_id, department, user=user, reason=body.reason, store=store)
    )


@router.post(
    "/rounds/{round_id}/answers",
    response_model=OpinionOut,
    status_code=201,
    summary="Answer / 答复会商",
)
def api_answer(
    round_id: IdPath,
    body: AnswerIn,
    user: Annotated[User, permit("POST /api/rounds/{round_id}/answers")],
    store: StoreDep,
    settings: SettingsDep,
) -> Any:
    """同意 / 有条件同意 (optionally with a condition area) / 不同意; a second answer
    amends the first."""
    condition = (
        None
        if body.condition is None
        else site_from_geojson(body.condition, name="附加条件范围", limits=site_limits(settings),
                               field="body.condition")
    )
    return opinion_out(
        core.answer(
            round_id,
            user=user,
            answer=body.answer,
            text=body.text,
            condition=condition,
            store=store,
        )
    )


@router.post(
    "/rounds/{round_id}/close",
    response_model=RoundOut,
    summary="Close a round with a 不同意 / 结束会商",
)
def api_close(
    round_id: IdPath,
    body: CloseIn,
    user: Annotated[User, permit("POST /api/rounds/{round_id}/close")],
    store: StoreDep,
) -> Any:
    """``revise``: back to 策划生成; ``meeting``: on the joint meeting's problem list."""
    return round_out(
        core.close_round(round_id, user=user, outcome=body.outcome, reason=body.reason, store=store)
    )


@router.get(
    "/consultation/inbox",
    response_model=list[InboxOut],
    summary="My department's inbox / 本部门待办会商",
)
def api_inbox(user: Annotated[User, permit("GET /api/consultation/inbox")], store: StoreDep) -> Any:
    """Rounds waiting for the caller's department: overdue and due soonest first; of the
    caller's county only, for a department user tied to one."""
    assert user.department is not None  # the policy lets only department users in
    return inbox_json(core.inbox(user.department, store=store, county=user.county))


@router.get(
    "/consultation/overdue",
    response_model=dict[str, list[OverdueOut]],
    summary="Overdue answers per department / 逾期未答复",
)
def api_overdue(
    user: Annotated[User, permit("GET /api/consultation/overdue")],
    store: StoreDep,
    department: CodeQuery = None,
) -> Any:
    """Unanswered past their deadline, per department code."""
    return overdue_json(core.overdue(store=store, department=department))


@router.get(
    "/meeting/items",
    response_model=list[ProblemOut],
    summary="The joint meeting's problem list / 联席会议问题清单",
)
def api_problems(
    user: Annotated[User, permit("GET /api/meeting/items")], store: StoreDep, all: bool = False
) -> Any:
    """Open items (``all``: decisions and withdrawn items too)."""
    return core.problem_list(store=store, status=None if all else "open")


@router.post(
    "/meeting/items/{item_id}/decide",
    response_model=DecisionOut,
    summary="Record the decision / 记录联席会议决定",
)
def api_decide(
    item_id: IdPath,
    body: DecideIn,
    user: Annotated[User, permit("POST /api/meeting/items/{item_id}/decide")],
    store: StoreDep,
) -> Any:
    """``proceed``: into the reserve; ``exit``: out, quotas reclaimed."""
    return core.decide(
        item_id,
        user=user,
        decision=body.decision,
        meeting_date=body.meeting_date,
        attendees=body.attendees,
        text=body.text,
        store=store,
    )
