"""A project (with its report, rounds and opinions) as JSON: the one serialisation the
API's responses and the CLI's ``--format json`` share, so that they say the same of the same
project (the CLI's lacked the key-project status and the preliminary opinions; its
``projects show`` gave the report's text alone and the rounds' ids)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blueprint.analysis.consultation.model import Assignment, ConsultationRound, Opinion
from blueprint.analysis.consultation.workdays import is_provisional
from blueprint.analysis.projects.key import key_status
from blueprint.analysis.projects.model import Project
from blueprint.analysis.projects.reports import StoredReport

if TYPE_CHECKING:
    from blueprint.layers.store import Store


def project_json(project: Project) -> dict[str, Any]:
    """A project's fields (not its row id) and its key-project status (``key``: is_key,
    reasons)."""
    key = key_status(project)
    fields = {k: v for k, v in project.to_dict().items() if k != "id"}
    return fields | {"key": {"is_key": key.is_key, "reasons": list(key.reasons),
                             "reasons_zh": list(key.reasons_zh)}}


def opinion_json(opinion: Opinion, *, counted: bool = True) -> dict[str, Any]:
    """An opinion's fields (the condition area as GeoJSON); ``counted``: False for one given
    before its department was removed and added again (:meth:`Assignment.counted`)."""
    import shapely

    condition = None if opinion.condition is None else \
        dict(shapely.geometry.mapping(opinion.condition))
    return {**opinion.__dict__, "answer_zh": opinion.answer_zh, "condition": condition,
            "counted": counted}


def report_json(report: StoredReport, *, stale: bool) -> dict[str, Any]:
    """A stored vetting report: its id, site version, verdict, ``stale`` (out of date),
    when and by whom, and the report itself."""
    return {"id": report.id, "site_version": report.site_version, "verdict": report.verdict,
            "stale": stale, "vetted_at": report.vetted_at, "vetted_by": report.vetted_by,
            "report": report.report}


def round_json(rnd: ConsultationRound) -> dict[str, Any]:
    """A consultation round's fields and its departments, each with its answers."""
    fields = {k: v for k, v in rnd.__dict__.items() if k != "assignments"}
    return fields | {"status_zh": rnd.status_zh,
                     "departments": [_assignment_json(a) for a in rnd.assignments]}


def _assignment_json(assignment: Assignment) -> dict[str, Any]:
    fields = {k: v for k, v in assignment.__dict__.items() if k != "opinions"}
    return fields | {"deadline_provisional": is_provisional(assignment.deadline),
                     "opinions": [opinion_json(o, counted=assignment.counted(o))
                                  for o in assignment.opinions]}


def inbox_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A department's inbox (:func:`analysis.consultation.inbox`) as ``GET
    /api/consultation/inbox`` and ``consult inbox`` give it: each row with
    ``deadline_provisional``."""
    return [_with_provisional(r) for r in rows]


def overdue_json(found: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Overdue answers per department (:func:`analysis.consultation.overdue`) as ``GET
    /api/consultation/overdue`` and ``consult overdue`` give them: each row with
    ``deadline_provisional``."""
    return {dept: [_with_provisional(r) for r in rows] for dept, rows in found.items()}


def _with_provisional(row: dict[str, Any]) -> dict[str, Any]:
    """A row with a working-day ``deadline`` and whether that deadline is provisional (暂定:
    counted before that year's holiday notice, :func:`is_provisional`)."""
    return row | {"deadline_provisional": is_provisional(row["deadline"])}


def project_detail_json(code: str, *, store: Store) -> dict[str, Any]:
    """The project ``code`` as ``GET /api/projects/{code}`` and ``projects show`` give it:
    :func:`project_json`, its latest report (:func:`report_json`, None before a vetting),
    stage history, consultation rounds and preliminary-review opinions."""
    from blueprint.analysis.consultation.records import preliminary_opinions, rounds_of
    from blueprint.analysis.projects.records import get_project, stage_history
    from blueprint.analysis.projects.reports import latest_report, staleness_of

    project = get_project(code, store=store)
    report = latest_report(code, store=store)
    stale = staleness_of(project, report, store=store) is not None
    return project_json(project) | {
        "report": None if report is None else report_json(report, stale=stale),
        "history": stage_history(code, store=store),
        "rounds": [round_json(r) for r in rounds_of(code, store=store)],
        "preliminary_opinions": [opinion_json(o) for o in
                                 preliminary_opinions(code, store=store)]}
