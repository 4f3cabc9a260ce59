"""``/api/tracking``: following projects after approval over HTTP (the same core as
``blueprint tracking``): plans, monthly reports, problems, late reports, the three
colours, the month's figures and the bulletin (PDF or xlsx).

Every endpoint takes its :data:`~blueprint.service.api.policy.POLICY` entry: county staff
write only for their county's projects (403 otherwise); city level acts for every county;
a project's service officer (服务专员) files its monthly reports and photos; the weekly
dispatch and the quarterly adjustment are city level.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from blueprint.analysis import tracking as core
from blueprint.analysis.downloads import content_disposition
from blueprint.analysis.tracking.model import check_month
from blueprint.layers.users import User
from blueprint.service.api.bounds import (
    CODE_LEN,
    Amount,
    Code,
    CodePath,
    CodeQuery,
    IdPath,
    Name,
    Text,
)
from blueprint.service.api.deps import StoreDep
from blueprint.service.api.policy import permit

router = APIRouter(prefix="/tracking", tags=["tracking"])


def _month_query(month: Annotated[str, Query(
        max_length=CODE_LEN, description="YYYY-MM, written so (2025-6 is refused)")]) -> str:
    """The ``month`` query parameter as the CLI's ``--month`` and the tracking pages read it
    (one parser: ``check_month``, exact), refused at ``query.month`` in their words."""
    return check_month(month, "query.month", exact=True)


MonthQuery = Annotated[str, Depends(_month_query)]
Month = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")]


class MilestoneIn(BaseModel):
    """One milestone of a reversed schedule (倒排工期)."""

    kind: Code = Field(description="land, planning, environment, energy, start, "
                                   "completion, production or effective")
    planned_on: date
    responsible_unit: Name
    service_officer: Name | None = None


class PlanIn(BaseModel):
    """A new version of a project's plan."""

    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=8)
    investment: dict[Month, Amount] = Field(default_factory=dict, max_length=120,
                                            description="万元 a month")
    reason: Text = "制定计划"


class ProblemIn(BaseModel):
    """A problem met (raised with a report)."""

    text: Text
    owner_unit: Name | None = None
    due_on: date | None = None


class ReportIn(BaseModel):
    """A monthly report; sending one again for a month corrects it."""

    month: Month
    investment: Amount = Field(description="万元 completed this month")
    funds_arrived: Amount = Field(Decimal(0), description="万元 arrived this month")
    milestones: dict[Code, date] = Field(default_factory=dict, max_length=8,
                                         description="milestones reached, with dates")
    problems: list[ProblemIn] = Field(default_factory=list, max_length=20)
    note: Text | None = None


class DispatchProblemIn(BaseModel):
    """A problem raised at a dispatch meeting."""

    project: Code
    text: Text
    owner_unit: Name
    due_on: date | None = None


class DispatchIn(BaseModel):
    """A weekly dispatch meeting (一周一调度)."""

    held_on: date
    attendees: list[Name] = Field(min_length=1, max_length=200,
                                  description="attendees or units")
    projects: list[Code] = Field(min_length=1, max_length=200,
                                 description="codes of the projects discussed")
    decisions: Text
    problems: list[DispatchProblemIn] = Field(default_factory=list, max_length=50)


class AdjustmentItemIn(BaseModel):
    """One project of a quarterly adjustment."""

    project: Code
    action: Code = Field(description="in, out (of ``library``) or replan")
    library: Code = "city_key"
    reason: Text


class AdjustmentIn(BaseModel):
    """A quarterly adjustment (一季一调整)."""

    quarter: Annotated[str, Field(pattern=r"^[0-9]{4}-[Qq][1-4]$", description="YYYY-Qn")]
    decided_on: date
    items: list[AdjustmentItemIn] = Field(min_length=1, max_length=200)
    note: Text | None = None


class NoteIn(BaseModel):
    """A note kept on record (escalation, closing)."""

    note: Text


@router.get("/projects", summary="Tracked projects and their colours / 项目三色状态")
def api_statuses(user: Annotated[User, permit("GET /api/tracking/projects")], store: StoreDep,
                 county: CodeQuery = None, stage: CodeQuery = None, library: CodeQuery = None,
                 colour: CodeQuery = None) -> Any:
    """Every tracked project with its computed colour and why."""
    return [s.to_dict() for s in core.project_statuses(
        store=store, county=county, stage=stage, library=library, colour=colour,
        sites=False)]  # the list has no map


@router.get("/projects/{code}/plan", summary="A project's plan / 倒排工期")
def api_plan(code: CodePath,
             user: Annotated[User, permit("GET /api/tracking/projects/{code}/plan")],
             store: StoreDep) -> Any:
    """The newest plan version: milestones and monthly investment."""
    return core.get_plan(code, store=store).to_dict()


@router.put("/projects/{code}/plan", summary="Set a project's plan / 制定倒排工期")
def api_set_plan(code: CodePath, body: PlanIn,
                 user: Annotated[User, permit("PUT /api/tracking/projects/{code}/plan")],
                 store: StoreDep) -> Any:
    """Store a new plan version (the old ones stay on record)."""
    milestones = [core.Milestone(m.kind, m.planned_on, m.responsible_unit, m.service_officer)
                  for m in body.milestones]
    return core.set_plan(code, milestones=milestones, investment=dict(body.investment),
                         reason=body.reason, user=user, store=store).to_dict()


@router.post("/projects/{code}/reports", status_code=201,
             summary="Send a monthly report / 填报月报")
def api_report(code: CodePath, body: ReportIn,
               user: Annotated[User, permit("POST /api/tracking/projects/{code}/reports")],
               store: StoreDep) -> Any:
    """A project's report for a month (a correction when one was sent before)."""
    problems = [core.ProblemInput(p.text, p.owner_unit, p.due_on) for p in body.problems]
    return core.submit_report(code, body.month, investment=body.investment,
                              funds_arrived=body.funds_arrived,
                              milestones=dict(body.milestones), problems=problems,
                              note=body.note or "", user=user, store=store).to_dict()


@router.get("/projects/{code}/reports", summary="A project's monthly reports / 月报")
def api_reports(code: CodePath,
                user: Annotated[User, permit("GET /api/tracking/projects/{code}/reports")],
                store: StoreDep) -> Any:
    """The newest report of each month, oldest month first, with its photos."""
    return [r.to_dict() for r in core.project_reports(code, store=store)]


@router.post("/reports/{report_id}/photos", status_code=201,
             summary="Photos of a monthly report / 上传月报照片")
def api_photos(report_id: IdPath,
               user: Annotated[User, permit("POST /api/tracking/reports/{report_id}/photos")],
               store: StoreDep,
               photos: Annotated[list[UploadFile], File(description="JPEG or PNG images")]
               ) -> Any:
    """Add JPEG or PNG photos to a report (all or none; each at most 10 MB)."""
    files = [(f.filename, f.file) for f in photos]
    return [p.to_dict() for p in core.add_photos(report_id, files, user=user, store=store)]


@router.get("/photos/{photo_id}", summary="A report's photo / 月报照片",
            response_class=FileResponse)
def api_photo(photo_id: IdPath,
              user: Annotated[User, permit("GET /api/tracking/photos/{photo_id}")],
              store: StoreDep) -> Any:
    """The image, with the content type its bytes were found to be."""
    photo, path = core.photo_file(photo_id, store=store)
    return FileResponse(path, media_type=photo.content_type, headers={
        "Content-Disposition": content_disposition(f"photo-{photo.id}", disposition="inline"),
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"})


@router.get("/dispatches", summary="Weekly dispatch meetings / 周调度记录")
def api_dispatches(user: Annotated[User, permit("GET /api/tracking/dispatches")],
                   store: StoreDep, project: CodeQuery = None) -> Any:
    """Dispatch meetings, newest first (``project``: those that discussed it)."""
    return [d.to_dict() for d in core.list_dispatches(store=store, project=project)]


@router.post("/dispatches", status_code=201, summary="Record a dispatch meeting / 记录周调度")
def api_dispatch(body: DispatchIn,
                 user: Annotated[User, permit("POST /api/tracking/dispatches")],
                 store: StoreDep) -> Any:
    """A weekly dispatch meeting; its problems go on the problem list."""
    problems = [core.DispatchProblem(p.project, p.text, p.owner_unit, p.due_on)
                for p in body.problems]
    return core.record_dispatch(held_on=body.held_on, attendees=list(body.attendees),
                                projects_discussed=list(body.projects),
                                decisions=body.decisions, problems=problems, user=user,
                                store=store).to_dict()


@router.get("/adjustments", summary="Quarterly adjustments / 季度调整记录")
def api_adjustments(user: Annotated[User, permit("GET /api/tracking/adjustments")],
                    store: StoreDep) -> Any:
    """Quarterly adjustments, newest first, with their projects and reasons."""
    return [a.to_dict() for a in core.list_adjustments(store=store)]


@router.post("/adjustments", status_code=201,
             summary="Record a quarterly adjustment / 记录季度调整")
def api_adjust(body: AdjustmentIn,
               user: Annotated[User, permit("POST /api/tracking/adjustments")],
               store: StoreDep) -> Any:
    """Projects moved into or out of a library, or their plan re-set, with reasons."""
    items = [core.AdjustmentItem(i.project, i.action, i.reason, i.library) for i in body.items]
    return core.record_adjustment(quarter=body.quarter, decided_on=body.decided_on,
                                  items=items, note=body.note or "", user=user,
                                  store=store).to_dict()


@router.get("/late", summary="Late and missing reports / 月报逾期、未报清单")
def api_late(month: MonthQuery, user: Annotated[User, permit("GET /api/tracking/late")],
             store: StoreDep, county: CodeQuery = None) -> Any:
    """Late and missing reports of a month, with counts per county and unit."""
    found = core.late_reports(month, store=store, county=county)
    return {"reports": found, "by_county": core.late_counts(found, "county"),
            "by_unit": core.late_counts(found, "unit")}


@router.get("/problems", summary="The problem list / 问题清单")
def api_problems(user: Annotated[User, permit("GET /api/tracking/problems")], store: StoreDep,
                 status: CodeQuery = None, county: CodeQuery = None) -> Any:
    """Problems (open, escalated or closed)."""
    return [p.to_dict() for p in core.list_problems(store=store, status=status, county=county)]


@router.post("/problems/{problem_id}/escalate", summary="Escalate to city level / 提级")
def api_escalate(problem_id: IdPath, body: NoteIn,
                 user: Annotated[User, permit("POST /api/tracking/problems/{problem_id}/"
                                              "escalate")], store: StoreDep) -> Any:
    """The county cannot solve it: the city owns it now (art. 21)."""
    return core.escalate(problem_id, note=body.note, user=user, store=store).to_dict()


@router.post("/problems/{problem_id}/close", summary="Close a problem / 销号")
def api_close(problem_id: IdPath, body: NoteIn,
              user: Annotated[User, permit("POST /api/tracking/problems/{problem_id}/close")],
              store: StoreDep) -> Any:
    """Solved: closed with its record (销号)."""
    return core.close(problem_id, note=body.note, user=user, store=store).to_dict()


@router.get("/figures", summary="The month's figures and ranking / 指标与排名")
def api_figures(month: MonthQuery, user: Annotated[User, permit("GET /api/tracking/figures")],
                store: StoreDep) -> Any:
    """Per county (rates, score, rank) and per responsible unit."""
    return core.month_figures(month, store=store).to_dict()


@router.get("/bulletin", summary="The monthly bulletin, PDF or xlsx / 月度通报",
            response_class=Response)
async def api_bulletin(month: MonthQuery,
                       user: Annotated[User, permit("GET /api/tracking/bulletin")],
                       store: StoreDep,
                       format: Annotated[str, Query(pattern="^(pdf|xlsx)$")] = "pdf") -> Any:
    """The bulletin of a month as a download."""
    from blueprint.analysis.tracking.bulletin import build_bulletin, bulletin_pdf, bulletin_xlsx

    b = await run_in_threadpool(build_bulletin, month, store=store)
    render = bulletin_pdf if format == "pdf" else bulletin_xlsx
    body = await run_in_threadpool(render, b)
    media = ("application/pdf" if format == "pdf" else
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response(body, media_type=media, headers={
        "Content-Disposition": content_disposition(f"bulletin-{b.month}.{format}")})
