"""Tracking projects after approval (跟踪调度): plans, monthly reports, three colours,
problems, figures and rankings, the monthly bulletin's content.

Modules: :mod:`model` (milestones, months, the report window), :mod:`config` (settings
from ``tracking.toml``), :mod:`plans` (reversed schedules and monthly investment plans),
:mod:`reports` (monthly reports, late and missing ones), :mod:`problems` (owner, due date,
escalation, 销号), :mod:`status` (the three colours), :mod:`figures` (rates, scores,
rankings), :mod:`photos` (photos with reports), :mod:`dispatch` (the weekly dispatch and the
quarterly adjustment), :mod:`linked` (problems from consultation and the joint meeting) and
:mod:`sample` (a year of plans and reports for the sample city). See
``docs/tracking.md``.
"""

from blueprint.analysis.tracking.dispatch import (
    Adjustment,
    AdjustmentItem,
    Dispatch,
    DispatchProblem,
    list_adjustments,
    list_dispatches,
    record_adjustment,
    record_dispatch,
)
from blueprint.analysis.tracking.figures import Figures, month_figures
from blueprint.analysis.tracking.linked import sync_consultation_problems
from blueprint.analysis.tracking.model import MILESTONE_ZH, Milestone, Plan, Report
from blueprint.analysis.tracking.photos import Photo, add_photos, photo_file
from blueprint.analysis.tracking.plans import get_plan, set_plan
from blueprint.analysis.tracking.problems import (
    Problem,
    close,
    escalate,
    list_problems,
    raise_problem,
    reassign,
)
from blueprint.analysis.tracking.reports import (
    ProblemInput,
    late_counts,
    late_reports,
    project_reports,
    submit_report,
)
from blueprint.analysis.tracking.status import Status, project_status, project_statuses

__all__ = ["MILESTONE_ZH", "Adjustment", "AdjustmentItem", "Dispatch", "DispatchProblem",
           "Figures", "Milestone", "Photo", "Plan", "Problem", "ProblemInput", "Report",
           "Status", "add_photos", "close", "escalate", "get_plan", "late_counts",
           "late_reports", "list_adjustments", "list_dispatches", "list_problems",
           "month_figures", "photo_file", "project_reports", "project_status",
           "project_statuses",
           "raise_problem", "reassign", "record_adjustment", "record_dispatch", "set_plan",
           "submit_report", "sync_consultation_problems"]
