"""What the project page shows besides the record: the actions its viewer may take (the
page policy, and the project's state), the departments a round can gain or lose, why the
stored report is stale, and what a re-vet changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from blueprint.analysis.capacity import POLLUTANT_NAMES_ZH
from blueprint.analysis.clock import today_cn
from blueprint.analysis.consultation.model import DISAGREE, OPEN, ConsultationRound
from blueprint.analysis.consultation.records import late_in_round
from blueprint.analysis.consultation.routing import load_routing
from blueprint.analysis.counties import offered_counties
from blueprint.analysis.messages import VERDICT_ZH
from blueprint.analysis.projects import Project, staleness_of
from blueprint.analysis.projects.config import load_settings
from blueprint.analysis.projects.model import (
    EXITED,
    INVESTOR_TYPES,
    LEVELS,
    ORIGINS,
    PLANNED,
    TRANSITIONS,
)
from blueprint.analysis.projects.reports import Staleness, StoredReport
from blueprint.analysis.quota.kinds import KINDS
from blueprint.analysis.rules import Rules
from blueprint.layers.departments import department_names, list_departments
from blueprint.layers.errors import BadInput, Conflict
from blueprint.layers.inputs import whole
from blueprint.layers.kinds import kinds
from blueprint.layers.repository import LayerInfo, list_layers
from blueprint.layers.store import Store
from blueprint.layers.users import User
from blueprint.web.project_forms import FLAGS

ACTIONS = "POST /projects/{code}/actions"
Allows = Callable[[User, str, "str | None", "list[str] | None"], bool]


def form_choices(store: Store, rules: Rules) -> dict[str, Any]:
    """The choices of the project form (new and revise)."""
    return {"counties": offered_counties(store=store), "levels": LEVELS,
            "investor_types": INVESTOR_TYPES,
            "origins": ORIGINS, "kinds": KINDS, "libraries": load_settings().libraries,
            "pollutants": POLLUTANT_NAMES_ZH, "flags": FLAGS,
            "industries": {c: i.title for c, i in rules.industries.items()}}


def period(value: Any) -> int | None:
    """A round's period in working days from a form field (blank: the configured one)."""
    text = str(value or "").strip()
    if not text:
        return None
    number = whole(text)
    if number is None or not 1 <= number <= 366:
        raise BadInput(f"period_days must be 1 to 366 working days, not {text!r}",
                       where="period_days", message_zh="会商期限须为 1 至 366 个工作日")
    return number


def open_round(rounds: list[ConsultationRound]) -> ConsultationRound | None:
    """The project's open round, if any."""
    return rounds[-1] if rounds and rounds[-1].status == OPEN else None


def open_round_id(code: str, store: Store) -> int:
    """The id of the project's open round, or :class:`Conflict` in Chinese."""
    from blueprint.analysis.consultation import rounds_of

    current = open_round(rounds_of(code, store=store))
    if current is None:
        raise Conflict(f"project {code} has no open consultation round", where="round",
                       message_zh=f"项目“{code}”没有正在进行的会商")
    return current.id


def _actions(user: User, project: Project, current: ConsultationRound | None,
             report: StoredReport | None, stale: bool, allows: Allows) -> list[str]:
    """The actions this user may take on the project now."""
    if project.stage == EXITED:
        return []
    county, code = project.county, "POST /projects/{code}"
    wanted = {
        "start_round": (f"{ACTIONS} start_round",
                        project.stage == PLANNED and report is not None and not stale),
        "close_round": (f"{ACTIONS} close_round", current is not None and any(
            a.current and a.current.answer == DISAGREE for a in current.active)),
        "advance": (f"{ACTIONS} advance",
                    any(v == "manual" for v in TRANSITIONS[project.stage].values())),
        "exit": (f"{ACTIONS} exit", True),
        "add_department": (f"{code}/departments", current is not None),
        "remove_department": (f"{code}/departments/remove", current is not None),
        "revise": (f"{code}/revise", project.stage == PLANNED),
        "tags": (f"{code}/tags", True),
        "vet": (f"{code}/vet", project.site is not None and (report is None or stale)),
    }
    return [name for name, (key, now) in wanted.items()
            if now and allows(user, key, county, None)]


def _revet(query: Any, report: StoredReport | None) -> dict[str, str] | None:
    """What the last re-vet changed, from the redirect's ``revet`` (the verdict before)."""
    before = query.get("revet")
    if report is None or before not in VERDICT_ZH:
        return None
    return {"before": VERDICT_ZH[before], "after": VERDICT_ZH.get(report.verdict, report.verdict),
            "changed": "1" if before != report.verdict else ""}


def _answer_here(user: User, project: Project, current: ConsultationRound | None,
                 allows: Allows) -> dict[str, Any] | None:
    """Where the user's department answers the open round (its inbox form: the round's id,
    and whether it answered already), or None when the user has nothing to answer here."""
    mine = next((a for a in current.active if a.department == user.department), None) \
        if current is not None and user.department else None
    if current is None or mine is None or not allows(
            user, "POST /inbox/{round_id}/answer", project.county,
            [a.department for a in current.active]):
        return None
    return {"round": current.id, "answered": mine.current is not None}


def stale_zh(staleness: Staleness | None, report: StoredReport | None,
             layers: list[LayerInfo]) -> dict[str, Any] | None:
    """Why the stored report is stale, the layers by their Chinese titles (a removed layer
    by its kind's), not by the names the catalogue (``layers``) keys them with."""
    if staleness is None or report is None:
        return None
    known = kinds().kinds
    titles = {e["name"]: known[e["kind"]].title for e in report.layers
              if e.get("kind") in known}
    titles |= {layer.name: layer.title for layer in layers}

    def named(names: tuple[str, ...]) -> list[str]:
        return [titles.get(n) or n for n in names]

    return {"reimported": named(staleness.reimported), "removed": named(staleness.removed),
            "added": named(staleness.added), "site_revised": staleness.site_revised}


def project_view(user: User, project: Project, rounds: list[ConsultationRound],
                 report: StoredReport | None, *, store: Store, allows: Allows,
                 query: Any) -> dict[str, Any]:
    """The page's parts that depend on the viewer and the project's state."""
    # the catalogue read once, for both why the report is stale and the layers' titles
    # (not at all where staleness_of reads none: no report, or the project exited)
    layers = list_layers(store=store) if report is not None and project.stage != EXITED \
        else []
    staleness = staleness_of(project, report, store=store, layers=layers)
    current = open_round(rounds)
    actions = _actions(user, project, current, report, staleness is not None, allows)
    in_round = {a.department for a in current.active} if current else set()
    routing = load_routing()
    active = {d.code: d.name_zh for d in list_departments(store=store)}  # may be added
    names = department_names(store=store)  # deactivated ones too: still in a round
    always = {r.code for r in routing.departments if r.always}
    return {"actions": actions, "stale": stale_zh(staleness, report, layers),
            "revet": _revet(query, report),
            "current_round": current, "late": late_in_round(current, today_cn()) if current else {},
            "answer_here": _answer_here(user, project, current, allows),
            "default_period": routing.default_period,
            "add_departments": {c: n for c, n in active.items() if c not in in_round},
            "remove_departments": {c: names.get(c, c) for c in sorted(in_round - always)}}
