"""``blueprint projects …``: the project library from the command line.

Commands act as the local operator (admin) unless ``--user NAME`` names a user, whose role
and county then apply (``service/cli/actor.py``, as the quota commands do). Output is a
Chinese table, or JSON with ``--format json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from blueprint.service.cli.actor import UserName, acting_user
from blueprint.service.cli.console import (
    Format,
    checked_text,
    china_time,
    known_county,
    open_store,
    out,
    print_json,
    read_site_file,
    table,
)

if TYPE_CHECKING:  # the store's module loads SQLAlchemy: not at `blueprint --help`
    from blueprint.layers.store import Store

projects_app = typer.Typer(help="Project library (项目库): create, list, show, vet, revise, "
                           "libraries, stages, exit, stale reports.", no_args_is_help=True)

Reason = Annotated[str, typer.Option(help="Why (kept on record)",
                                           callback=checked_text)]
SiteFile = Annotated[Path | None, typer.Option(help="Site file (any format vet reads)")]


def _site(path: Path | None) -> Any:
    return None if path is None else read_site_file(path)


def _rules() -> Any:
    from blueprint.service.context import rules_from_settings
    from blueprint.service.settings import get_settings

    return rules_from_settings(get_settings())


def project_rows(found: list[Any], *, store: Store) -> list[list[Any]]:
    """Table rows of projects: code, name, county, investment, stage, key status."""
    from blueprint.analysis.counties import offered_counties
    from blueprint.analysis.projects import key_status

    names = offered_counties(store=store)  # the boundary layer's name first, as the pages
    return [[p.code, p.name, names.get(p.county, p.county), p.investment, p.stage_zh,
             "是" if key_status(p).is_key else "否"] for p in found]


PROJECT_COLUMNS = ["项目编号", "项目名称", "县区", "总投资（亿元）", "阶段", "重点项目"]


def _show_one(project: Any, fmt: str, note: str = "", *, store: Store) -> None:
    if fmt == "json":  # as the API answers a project
        from blueprint.analysis.projects.json_view import project_json

        print_json(project_json(project))
        return
    table("项目", PROJECT_COLUMNS, project_rows([project], store=store))
    if note:
        out.print(note)


@projects_app.command("create")
def create_cmd(
        name: Annotated[str, typer.Option(help="Project name")],
        county: Annotated[str, typer.Option(help="County code")],
        industry: Annotated[str, typer.Option(help="Vetting industry (industrial …)")],
        investment: Annotated[str, typer.Option(help="Total investment, 亿元")],
        unit: Annotated[str, typer.Option(help="Responsible unit")],
        site: SiteFile = None,
        level: Annotated[str, typer.Option(help="city or county")] = "county",
        investor_type: Annotated[str, typer.Option(help="state, private or foreign")]
        = "private",
        origin: Annotated[str, typer.Option(help="government, social or attracted")]
        = "social",
        demand: Annotated[list[str] | None, typer.Option(
            help="Quota demands, land=12.6,energy=3000; may be repeated, each kind once")]
        = None,
        emissions: Annotated[list[str] | None, typer.Option(
            help="SO2=1.5,NOx=3 (t/yr); may be repeated, each pollutant once")] = None,
        officer: Annotated[str | None, typer.Option(help="Service officer")] = None,
        tag: Annotated[list[str] | None, typer.Option(help="Library (repeat)")] = None,
        newly_planned: bool = False, cross_county: bool = False,
        user: UserName = None, format: Format = "table") -> None:
    """Plan a project (策划生成); with --site, vet it at once and store the report."""
    from blueprint.analysis.amounts import parse_demands
    from blueprint.analysis.capacity import parse_emissions
    from blueprint.analysis.projects import ProjectInput, create_project, vet_project

    store = open_store()
    actor = acting_user(store, user)
    data = ProjectInput(name=name, county=county, industry=industry,
                        investment=investment, responsible_unit=unit, level=level,
                        investor_type=investor_type, origin=origin,
                        demands=parse_demands(demand), emissions=parse_emissions(emissions),
                        service_officer=officer, tags=tuple(tag or ()),
                        newly_planned=newly_planned, cross_county=cross_county)
    rules = _rules()
    project = create_project(data, site=_site(site), user=actor, store=store, rules=rules)
    note = f"已创建项目 {project.code}（策划生成）。"
    if project.site is not None:
        report = vet_project(project.code, user=actor, store=store, rules=rules)
        note += f"选址审查结论：{report.report['verdict_zh']}。"
    _show_one(project, format, note, store=store)


@projects_app.command("list")
def list_cmd(county: Annotated[str | None, typer.Option(help="Only this county")] = None,
             stage: Annotated[str | None, typer.Option(help="Only this stage")] = None,
             tag: Annotated[str | None, typer.Option(help="Only this library")] = None,
             industry: Annotated[str | None, typer.Option(help="Only this industry")] = None,
             format: Format = "table") -> None:
    """Projects by code, with counts per stage."""
    from blueprint.analysis.projects import STAGE_ZH, check_filters, list_projects, stage_counts

    store = open_store(create=False)
    check_filters(store=store, stage=stage, tag=tag, industry=industry)
    county = known_county(county, store=store)
    # JSON: each project as `projects show` has it, its parcels too (as the API's list);
    # unread, to_dict() would leave site_parcels out (the table shows none)
    found = list_projects(store=store, county=county, stage=stage, tag=tag, industry=industry,
                          parcels=format == "json")
    if format == "json":
        from blueprint.analysis.projects.json_view import project_json

        print_json([project_json(p) for p in found])
        return
    table("项目清单", PROJECT_COLUMNS, project_rows(found, store=store),
          empty="没有符合条件的项目。")
    counts = stage_counts(store=store, county=county)
    out.print("各阶段项目数：" + "，".join(f"{STAGE_ZH[s]} {n}" for s, n in counts.items()))


@projects_app.command("show")
def show_cmd(code: str, format: Format = "table") -> None:
    """A project: attributes, stored report, stage history, consultation rounds."""
    from blueprint.analysis.consultation import rounds_of
    from blueprint.analysis.projects import (
        STAGE_ZH,
        get_project,
        latest_report,
        stage_history,
        staleness_of,
    )
    from blueprint.layers.users import actor_zh

    store = open_store(create=False)
    if format == "json":  # as GET /api/projects/{code} answers
        from blueprint.analysis.projects.json_view import project_detail_json

        print_json(project_detail_json(code, store=store))
        return
    project = get_project(code, store=store)
    report = latest_report(code, store=store)
    stale = staleness_of(project, report, store=store) is not None
    history = stage_history(code, store=store)
    found = rounds_of(code, store=store)
    _show_one(project, format, store=store)
    if report is None:
        out.print("尚无选址审查报告。")
    else:
        out.print(f"选址审查结论：{report.report['verdict_zh']}（第 {report.site_version} 版用地"
                  f"范围）{'，图层已更新，结论已过期，请重新审查' if stale else ''}。")
    table("阶段变更", ["时间", "由", "至", "办理人", "事由"],
          [[china_time(h["at"]), STAGE_ZH.get(h["from"], "—"), STAGE_ZH[h["to"]],
            actor_zh(h["actor"]), h["reason"] or ""] for h in history])
    table("会商轮次", ["编号", "轮次", "状态", "部门意见"],
          [[r.id, r.number, r.status_zh,
            "；".join(f"{a.name_zh}：{a.current.answer_zh if a.current else '未答复'}"
                     for a in r.active)] for r in found])


@projects_app.command("vet")
def vet_cmd(code: str, user: UserName = None, format: Format = "table") -> None:
    """Vet the project's current site and store the report."""
    from blueprint.analysis.projects import vet_project

    store = open_store()
    report = vet_project(code, user=acting_user(store, user), store=store, rules=_rules())
    if format == "json":  # as POST /api/projects/{code}/vet: the stored report, just made
        from blueprint.analysis.projects.json_view import report_json

        print_json(report_json(report, stale=False))
    else:
        out.print(f"项目 {code} 选址审查结论：{report.report['verdict_zh']}。")


@projects_app.command("revise")
def revise_cmd(code: str, reason: Reason, site: SiteFile = None, user: UserName = None,
               format: Format = "table") -> None:
    """Revise a planned project's site (a new site version); vet it again afterwards."""
    from blueprint.analysis.projects import revise_project

    store = open_store()
    project = revise_project(code, user=acting_user(store, user), store=store, reason=reason,
                             site=_site(site), rules=_rules())
    _show_one(project, format, f"已修改，当前为第 {project.site_version} 版用地范围。", store=store)


@projects_app.command("tags")
def tags_cmd(code: str, tags: Annotated[list[str], typer.Argument(help="Libraries")],
             reason: Reason, user: UserName = None, format: Format = "table") -> None:
    """Put the project in exactly these libraries."""
    from blueprint.analysis.projects import set_tags

    store = open_store()
    project = set_tags(code, tags, user=acting_user(store, user), store=store, reason=reason)
    _show_one(project, format, store=store)


@projects_app.command("advance")
def advance_cmd(code: str, to: Annotated[str, typer.Option(help="signed, started, producing "
                                                           "or effective")],
                reason: Reason, user: UserName = None, format: Format = "table") -> None:
    """Move a project on after the reserve, one stage at a time."""
    from blueprint.analysis.projects import advance

    store = open_store()
    project = advance(code, to, user=acting_user(store, user), reason=reason, store=store)
    _show_one(project, format, store=store)


@projects_app.command("exit")
def exit_cmd(code: str, reason: Reason, user: UserName = None,
             format: Format = "table") -> None:
    """Take a project out of the library; its quotas are reclaimed at once."""
    from blueprint.analysis.projects import exit_project

    store = open_store()
    result = exit_project(code, user=acting_user(store, user), reason=reason, store=store)
    if format == "json":
        from blueprint.analysis.projects.json_view import project_json

        print_json({"project": project_json(result["project"]), "reclaim": result["reclaim"]})
        return
    reclaimed = "，已收回其全部指标" if result["reclaim"] else "，无需收回指标"
    _show_one(result["project"], format, f"项目 {code} 已调出项目库{reclaimed}。", store=store)


def _why(stale: dict[str, Any]) -> str:
    parts = [f"{label}：{'、'.join(stale[key])}" for key, label in (
        ("reimported", "图层已重新导入"), ("removed", "图层已删除"), ("added", "新增图层"))
        if stale[key]]
    return "；".join(parts + (["用地范围已修改"] if stale["site_revised"] else []))


_SKIPPED_ZH = {"exited": "未审查（项目已调出）", "revised": "未审查（审查期间项目反复修改）"}


def _revet_why(row: dict[str, Any]) -> str:
    """Why the project was stale, and whether it was revised while it was vetted."""
    again = (f"审查期间项目已修改，共审查 {row['attempts']} 次"
             if row.get("attempts", 1) > 1 else "")
    return "；".join(p for p in (_why(row), again) if p)


@projects_app.command("stale")
def stale_cmd(format: Format = "table") -> None:
    """Projects whose stored verdict is out of date, and why."""
    from blueprint.analysis.messages import VERDICT_ZH
    from blueprint.analysis.projects import stale_projects

    found = [s.__dict__ for s in stale_projects(store=open_store(create=False))]
    if format == "json":
        print_json(found)
        return
    table("审查结论已过期的项目", ["项目编号", "原结论", "原因"],
          [[s["project"], VERDICT_ZH.get(s["verdict"], s["verdict"]), _why(s)] for s in found])


@projects_app.command("revet")
def revet_cmd(user: UserName = None, format: Format = "table") -> None:
    """Vet every stale project again and say whose verdict changed."""
    from blueprint.analysis.messages import VERDICT_ZH
    from blueprint.analysis.projects import revet_stale

    store = open_store()
    results = revet_stale(user=acting_user(store, user), store=store, rules=_rules())
    if format == "json":
        print_json(results)
        return
    table("重新审查结果", ["项目编号", "原结论", "新结论", "是否变化", "原因"],
          [[r["project"], VERDICT_ZH.get(r["before"], r["before"]),
            _SKIPPED_ZH[r["skipped"]] if r["skipped"]
            else VERDICT_ZH.get(r["after"], r["after"]),
            "—" if r["skipped"] else "是" if r["changed"] else "否", _revet_why(r)]
           for r in results])
