"""Request and response models of the projects, consultation and audit APIs (OpenAPI),
and the conversions from the core's dataclasses. Storage stays in the core's tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from blueprint.analysis.consultation.model import ConsultationRound, Opinion
from blueprint.analysis.projects import Project, ProjectInput
from blueprint.analysis.projects.json_view import opinion_json, project_json, round_json
from blueprint.service.api.bounds import TEXT, TEXT_LEN, Amount, Code, Days, Name, Quantity, Text
from blueprint.service.api.responses import Moment

GeoJSON = dict[str, Any]
OpinionText = Annotated[str, StringConstraints(max_length=TEXT_LEN, pattern=TEXT)]


class ReasonIn(BaseModel):
    """Every change says why."""

    reason: Text = Field(description="Why (kept on record)")


class ProjectAttrs(BaseModel):
    """A project's attributes (a new project, or a revision)."""

    name: Name
    county: Code = Field(description="County code, e.g. 371502")
    industry: Code = Field(description="A vetting industry of analysis/rules.toml")
    investment: Amount = Field(description="Total investment, 亿元")
    responsible_unit: Name
    level: Literal["city", "county"] = "county"
    investor_type: Literal["state", "private", "foreign"] = "private"
    origin: Literal["government", "social", "attracted"] = "social"
    newly_planned: bool = False
    cross_county: bool = False
    foreign_annual_usd: Amount | None = Field(None, description="万美元 a year")
    foreign_cash_usd: Amount | None = Field(None, description="万美元 a year, in cash")
    demands: dict[Code, Amount] = Field(default_factory=dict, max_length=50,
                                        description="Quota kind → amount")
    emissions: dict[Code, Quantity] = Field(default_factory=dict, max_length=50,
                                            description="t/yr")
    service_officer: Name | None = None
    tags: list[Code] = Field(default_factory=list, max_length=50,
                             description="Libraries (art. 6)")

    def to_input(self) -> ProjectInput:
        """The core's input."""
        values = self.model_dump(include=set(ProjectAttrs.model_fields))
        values["tags"] = tuple(values["tags"])
        return ProjectInput(**values)


class ProjectIn(ProjectAttrs):
    """A new project (策划生成): attributes and, optionally, its site; without ``county``,
    a county user's own county, else the county holding most of the site."""

    county: Code | None = Field(  # type: ignore[assignment]
        None, description="County code, e.g. 371502; default: a county user's own county, "
        "else the county holding most of the site (required without a site)")
    site: GeoJSON | None = Field(None, description="GeoJSON in lon/lat (CGCS2000)")
    vet: bool = Field(True, description="Vet the site at once and store the report")


class ReviseIn(ReasonIn):
    """A revision: new attributes and/or a new site (only in 策划生成)."""

    project: ProjectAttrs | None = None
    site: GeoJSON | None = None


class TagsIn(ReasonIn):
    """Exactly these libraries."""

    tags: list[Code] = Field(max_length=50)


class AdvanceIn(ReasonIn):
    """The next stage after the reserve."""

    to: Literal["signed", "started", "producing", "effective"]


class StartRoundIn(BaseModel):
    """A new consultation round; ``period_days`` working days (default: configuration)."""

    period_days: Days | None = None


class DepartmentIn(ReasonIn):
    """A department added by hand."""

    department: Code


class AnswerIn(BaseModel):
    """A department's answer."""

    answer: Literal["agree", "conditional", "disagree"]
    # no minimum length: a blank text is refused by the core, saying what it must state
    text: OpinionText = Field(description="The opinion: what an agree's review says, a "
                                          "conditional's conditions, a disagree's reasons")
    condition: GeoJSON | None = Field(None, description="Condition area (conditional only)")


class CloseIn(ReasonIn):
    """Closing a round with a 不同意."""

    outcome: Literal["revise", "meeting"]


class DecideIn(BaseModel):
    """The joint meeting's decision."""

    decision: Literal["proceed", "exit"]
    meeting_date: date
    attendees: list[Name] = Field(min_length=1, max_length=200)
    text: Text


class KeyOut(BaseModel):
    """Key-project status (art. 2)."""

    is_key: bool
    reasons: list[str]
    reasons_zh: list[str]


class ProjectOut(BaseModel):
    """A stored project."""

    code: str
    name: str
    county: str
    level: str
    investor_type: str
    origin: str
    industry: str
    investment: Decimal
    newly_planned: bool
    cross_county: bool
    foreign_annual_usd: Decimal | None
    foreign_cash_usd: Decimal | None
    demands: dict[str, Decimal]
    emissions: dict[str, float]
    site: GeoJSON | None
    # required: every project served has its parcels read (Project.to_dict() leaves them
    # out when not), so null says none were kept, never that they were not read
    site_parcels: GeoJSON | None = Field(
        description="The site's parcels as given (a FeatureCollection, each feature with "
                    "parcel_no and, when given, parcel_name and land_use). Null exactly when "
                    "the project has no site (``site`` null) or its site was stored before "
                    "the parcels were kept (migration 0017_project_parcels): then the "
                    "polygons of ``site`` are its parcels")
    site_version: int
    responsible_unit: str
    service_officer: str | None
    stage: str
    stage_zh: str
    tags: list[str]
    opinion_round_id: int | None
    created_at: Moment
    created_by: str
    key: KeyOut


class ReportOut(BaseModel):
    """The latest stored vetting report of a project."""

    id: int
    site_version: int
    verdict: str
    stale: bool
    vetted_at: Moment
    vetted_by: str
    report: dict[str, Any]


class StageChangeOut(BaseModel):
    """One stage change."""

    from_: str | None = Field(alias="from")
    to: str
    at: Moment
    actor: str
    reason: str | None


class OpinionOut(BaseModel):
    """One answer of a department (``amends_id``: the answer it amends)."""

    id: int
    department: str
    answer: str
    answer_zh: str
    text: str
    condition: GeoJSON | None
    author: str
    at: Moment
    amends_id: int | None
    counted: bool = Field(True, description="False: given before the department was removed "
                                            "and added again (kept on record, not counted)")


class _HasDeadline(BaseModel):
    """A working-day deadline, and whether it is provisional (暂定: counted before that
    year's holiday notice reached the calendar package, without make-up working days)."""

    deadline: date
    # given by analysis/projects/json_view (round_json, inbox_json, overdue_json), as the
    # CLI's --format json has it
    deadline_provisional: bool = Field(description="True when the deadline may move once "
                                                   "the year's notice is published")


class AssignmentOut(_HasDeadline):
    """A department in a round."""

    department: str
    name_zh: str
    deadline: date
    how: str
    why: list[str]
    removed: bool
    removed_reason: str | None
    removed_at: Moment | None = Field(None, description="When it was last removed (kept once "
                                                        "added again: its answers before "
                                                        "then no longer count)")
    opinions: list[OpinionOut]


class RoundOut(BaseModel):
    """A consultation round."""

    id: int
    project: str
    number: int
    status: str
    status_zh: str
    site_version: int
    report_id: int | None
    period_days: int
    started_on: date
    started_at: Moment
    started_by: str
    closed_at: Moment | None
    close_reason: str | None
    departments: list[AssignmentOut]


class ProjectDetailOut(ProjectOut):
    """A project with its report, stage history, rounds and preliminary opinions."""

    report: ReportOut | None
    history: list[StageChangeOut]
    rounds: list[RoundOut]
    preliminary_opinions: list[OpinionOut]


class ExitOut(BaseModel):
    """The exited project and the ledger's reclaim (None when it held nothing)."""

    project: ProjectOut
    reclaim: dict[str, Any] | None


class StaleOut(BaseModel):
    """A project whose stored verdict is out of date, and why."""

    project: str
    report_id: int
    verdict: str
    reimported: list[str]
    removed: list[str]
    added: list[str]
    site_revised: bool


class RevetOut(BaseModel):
    """A stale project vetted again."""

    project: str
    before: str
    after: str
    changed: bool
    report_id: int
    reimported: list[str]
    removed: list[str]
    added: list[str]
    site_revised: bool
    # vettings made: more than one when the project was revised while it was vetted
    attempts: int = 1
    # not vetted (after = before): "exited", the project exited (调出) before its turn;
    # "revised", it was revised while it was vetted, every attempt
    skipped: str | None = None


class InboxOut(_HasDeadline):
    """A round waiting for the caller's department."""

    round_id: int
    project: str
    name: str
    county: str
    deadline: date
    working_days_left: int
    overdue: bool
    answer: str | None


class OverdueOut(_HasDeadline):
    """An answer past its deadline."""

    round_id: int
    project: str
    name: str
    deadline: date
    working_days_overdue: int


class ProblemOut(BaseModel):
    """An item of the joint meeting's problem list."""

    id: int
    project: str
    name: str
    round_id: int
    problem: str
    status: str
    listed_at: Moment
    listed_by: str
    meeting_date: date | None
    attendees: list[str]
    decision: str | None
    decision_text: str | None
    decided_by: str | None


class DecisionOut(BaseModel):
    """What the decision did."""

    item: int
    project: str
    stage: str
    decision: str
    reclaim: dict[str, Any] | None


class AuditOut(BaseModel):
    """An audit row."""

    id: int
    at: Moment
    actor: str
    action: str
    object: str
    project: str | None
    detail: dict[str, Any]


def project_out(project: Project) -> dict[str, Any]:
    """A project as :class:`ProjectOut`'s fields (as the CLI's JSON has it)."""
    return project_json(project)


def opinion_out(opinion: Opinion) -> dict[str, Any]:
    """An opinion as :class:`OpinionOut`'s fields (as the CLI's JSON has it)."""
    return opinion_json(opinion)


def round_out(rnd: ConsultationRound) -> dict[str, Any]:
    """A round as :class:`RoundOut`'s fields (as the CLI's ``projects show`` has it)."""
    return round_json(rnd)
