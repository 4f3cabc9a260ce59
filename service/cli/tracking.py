"""``blueprint tracking …`` and ``blueprint bulletin``: following projects after approval.

Plans (倒排工期 and monthly investment), monthly reports, problems, late and missing
reports, the three colours, the month's figures and ranking, and the monthly bulletin (PDF
and xlsx). Commands act as the local operator (admin) unless ``--user NAME``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from blueprint.service.cli.actor import UserName, acting_user
from blueprint.service.cli.console import (
    Format,
    checked_text,
    choice,
    known_county,
    make_output_folder,
    open_store,
    out,
    output_folder,
    param_name,
    print_json,
    progress_bar,
    table,
)

tracking_app = typer.Typer(help="Tracking after approval (跟踪调度): plans, monthly reports, "
                           "problems, late reports, colours, figures.", no_args_is_help=True)
plan_app = typer.Typer(help="A project's plan (倒排工期, monthly investment).",
                       no_args_is_help=True)
tracking_app.add_typer(plan_app, name="plan")
dispatch_app = typer.Typer(help="Weekly dispatch meetings (一周一调度).", no_args_is_help=True)
tracking_app.add_typer(dispatch_app, name="dispatch")
adjust_app = typer.Typer(help="Quarterly adjustments (一季一调整).", no_args_is_help=True)
tracking_app.add_typer(adjust_app, name="adjust")



def _month(param: typer.CallbackParam, value: str | None) -> str | None:
    """``--month`` as the API takes the same field: exactly ``YYYY-MM`` (``2025-6`` is
    refused, as ``GET /api/tracking/figures?month=2025-6`` is)."""
    from blueprint.analysis.tracking.model import check_month

    return None if value is None else check_month(value, param_name(param), exact=True)


Month = Annotated[str, typer.Option(help="Month, YYYY-MM", callback=_month)]


def _day(param: typer.CallbackParam, value: str | None) -> str | None:
    """A date option (``--date``) read by the one parser of dates users type, as soon as
    it is given: a bad one (``2026-11-31``: 不是有效日期; ``2026/11/30``: the form) is
    refused naming the option, before the store is opened or anything written."""
    from blueprint.analysis.clock import parse_day_or_time

    return None if value is None else parse_day_or_time(value, param_name(param),
                                                        "date").isoformat()


def _county_names(store: Any) -> dict[str, str]:
    """County code → name by the one rule (the boundary layer's, else a grant's), for the
    tables' 县区 column, as the tracking pages name them."""
    from blueprint.analysis.counties import offered_counties

    return offered_counties(store=store)


def _pairs(values: list[str] | None, where: str) -> dict[str, str]:
    from blueprint.layers.errors import BadInput

    found = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"{where} {value!r} is not KEY=VALUE", where=where,
                           message_zh=f"{where} 格式应为 键=值")
        found[key.strip()] = rest.strip()
    return found


@plan_app.command("set")
def plan_set(code: str,
             milestone: Annotated[list[str] | None, typer.Option(
                 help="KIND=YYYY-MM-DD@UNIT[@OFFICER] (repeat); kinds: land, planning, "
                      "environment, energy, start, completion, production, effective")] = None,
             investment: Annotated[list[str] | None, typer.Option(
                 help="YYYY-MM=万元 (repeat)")] = None,
             reason: Annotated[str, typer.Option(help="Why (kept on record)")] = "制定计划",
             user: UserName = None, format: Format = "table") -> None:
    """Set (a new version of) a project's plan."""
    from blueprint.analysis.tracking import Milestone, set_plan

    store = open_store()
    milestones = []
    for kind, rest in _pairs(milestone, "--milestone").items():
        when, _, who = rest.partition("@")
        unit, _, officer = who.partition("@")
        milestones.append(Milestone(kind, when, unit, officer or None))  # type: ignore[arg-type]
    plan = set_plan(code, milestones=milestones, investment=_pairs(investment, "--investment"),
                    user=acting_user(store, user), store=store, reason=reason)
    _show_plan(plan, format)


def _show_plan(plan: Any, fmt: str) -> None:
    if fmt == "json":
        print_json(plan.to_dict())
        return
    table(f"{plan.project} 倒排工期（第 {plan.version} 版）", ["节点", "计划日期", "责任单位",
                                                      "服务专员"],
          [[m.kind_zh, m.planned_on, m.responsible_unit, m.service_officer or ""]
           for m in plan.milestones])
    table("月度投资计划（万元）", ["月份", "计划投资"],
          [[k, v] for k, v in plan.investment.items()])


@plan_app.command("show")
def plan_show(code: str, format: Format = "table") -> None:
    """A project's plan (newest version)."""
    from blueprint.analysis.tracking import get_plan

    _show_plan(get_plan(code, store=open_store(create=False)), format)


@tracking_app.command("report")
def report_cmd(code: str, month: Month,
               investment: Annotated[str, typer.Option(help="Investment completed, 万元")],
               funds: Annotated[str, typer.Option(help="Funds arrived, 万元")] = "0",
               reached: Annotated[list[str] | None, typer.Option(
                   help="KIND=YYYY-MM-DD milestone reached (repeat)")] = None,
               problem: Annotated[list[str] | None, typer.Option(
                   help="A problem met (repeat); TEXT or TEXT@OWNER UNIT")] = None,
               photo: Annotated[list[Path] | None, typer.Option(
                   help="A JPEG or PNG photo (repeat)", exists=True, dir_okay=False)] = None,
               note: str = "", user: UserName = None, format: Format = "table") -> None:
    """Send (or correct) a project's monthly report."""
    from contextlib import ExitStack

    from blueprint.analysis.tracking import ProblemInput, submit_report

    store = open_store()
    problems = [ProblemInput(p.partition("@")[0], p.partition("@")[2] or None)
                for p in problem or []]
    with ExitStack() as files:
        photos = [(str(p.name), files.enter_context(p.open("rb"))) for p in photo or []]
        report = submit_report(code, month, investment=investment, funds_arrived=funds,
                               milestones=dict(_pairs(reached, "--reached")),
                               problems=problems, note=note, photos=photos,
                               user=acting_user(store, user), store=store)
    if format == "json":
        print_json(report.to_dict())
        return
    fixed = "（更正此前填报）" if report.corrects_id else ""
    pictures = f"，照片 {len(report.photos)} 张" if report.photos else ""
    out.print(f"已填报 {code} {month} 月报{fixed}：完成投资 {report.investment} 万元{pictures}。",
              markup=False)


@dispatch_app.command("record")
def dispatch_record(
        held_on: Annotated[str, typer.Option("--date", help="Meeting date, YYYY-MM-DD",
                                             callback=_day)],
        attendee: Annotated[list[str], typer.Option(help="Attendee or unit (repeat)")],
        project: Annotated[list[str], typer.Option(help="Project code discussed (repeat)")],
        decisions: Annotated[str, typer.Option(help="What the meeting decided",
                                               callback=checked_text)],
        problem: Annotated[list[str] | None, typer.Option(
            help="CODE@TEXT@OWNER UNIT[@YYYY-MM-DD] (repeat): a problem raised")] = None,
        user: UserName = None, format: Format = "table") -> None:
    """Record a weekly dispatch meeting; its problems go on the problem list."""
    from blueprint.analysis.tracking import DispatchProblem, record_dispatch
    from blueprint.layers.errors import BadInput

    raised = []
    for value in problem or []:
        parts = value.split("@")
        if len(parts) not in (3, 4):
            raise BadInput(f"--problem {value!r} is not CODE@TEXT@UNIT[@DUE]", where="problem",
                           message_zh="--problem 格式应为 项目编号@问题@责任单位[@办结时限]")
        raised.append(DispatchProblem(parts[0], parts[1], parts[2],
                                      parts[3] if len(parts) == 4 else None))  # type: ignore[arg-type]
    store = open_store()
    held = record_dispatch(held_on=held_on, attendees=attendee, projects_discussed=project,
                           decisions=decisions, problems=raised,
                           user=acting_user(store, user), store=store)
    if format == "json":
        print_json(held.to_dict())
        return
    out.print(f"已记录 {held.week} 周调度（{held.held_on}）：调度项目 {len(held.projects)} 个，"
              f"交办问题 {len(held.problems)} 个。", markup=False)


@dispatch_app.command("list")
def dispatch_list(project: Annotated[str | None, typer.Option(
                      help="Only meetings that discussed this project")] = None,
                  format: Format = "table") -> None:
    """Weekly dispatch meetings, newest first."""
    from blueprint.analysis.tracking import list_dispatches

    found = list_dispatches(store=open_store(create=False), project=project)
    if format == "json":
        print_json([d.to_dict() for d in found])
        return
    table("周调度记录", ["编号", "日期", "周次", "参会", "调度项目", "决定", "交办问题"],
          [[d.id, d.held_on, d.week, "、".join(d.attendees), "、".join(d.projects),
            d.decisions, len(d.problems)] for d in found], empty="没有周调度记录。")


@adjust_app.command("record")
def adjust_record(
        quarter: Annotated[str, typer.Option(help="Quarter, YYYY-Qn")],
        decided_on: Annotated[str, typer.Option("--date", help="Decided on, YYYY-MM-DD",
                                                callback=_day)],
        item: Annotated[list[str], typer.Option(
            help="CODE@in|out|replan@REASON[@LIBRARY] (repeat; library: city_key)")],
        note: str = "", user: UserName = None, format: Format = "table") -> None:
    """Record a quarterly adjustment: projects in or out of a library, or re-planned."""
    from blueprint.analysis.tracking import AdjustmentItem, record_adjustment
    from blueprint.layers.errors import BadInput

    items = []
    for value in item:
        parts = value.split("@")
        if len(parts) not in (3, 4):
            raise BadInput(f"--item {value!r} is not CODE@ACTION@REASON[@LIBRARY]",
                           where="item",
                           message_zh="--item 格式应为 项目编号@调整方式@理由[@项目库]")
        items.append(AdjustmentItem(parts[0], parts[1], parts[2],
                                    *(parts[3:] or ["city_key"])))
    store = open_store()
    done = record_adjustment(quarter=quarter, decided_on=decided_on, items=items, note=note,
                             user=acting_user(store, user), store=store)
    if format == "json":
        print_json(done.to_dict())
        return
    out.print(f"已记录 {done.quarter} 季度调整：{len(done.items)} 个项目。", markup=False)


@adjust_app.command("list")
def adjust_list(format: Format = "table") -> None:
    """Quarterly adjustments, newest first."""
    from blueprint.analysis.tracking import list_adjustments

    found = list_adjustments(store=open_store(create=False))
    if format == "json":
        print_json([a.to_dict() for a in found])
        return
    table("季度调整记录", ["编号", "季度", "日期", "项目编号", "调整", "理由"],
          [[a.id, a.quarter, a.decided_on, i.project, i.action_zh, i.reason]
           for a in found for i in a.items], empty="没有季度调整记录。")


@tracking_app.command("sync-problems")
def sync_problems(user: UserName = None) -> None:
    """Raise the tracking problems of consultation objections and joint-meeting items that
    have none yet (rounds closed earlier), close those a later round's agreement resolved;
    an exited project gets none, and those it still has open (exited before an exit closed
    them) are closed as of its exit. Running it again does nothing."""
    from blueprint.analysis.tracking import sync_consultation_problems

    store = open_store()
    done = sync_consultation_problems(user=acting_user(store, user), store=store)
    out.print(f"已从会商和联席会议生成问题 {len(done.raised)} 个。", markup=False)
    if done.closed:
        out.print(f"后续轮次会商已同意，销号问题 {len(done.closed)} 个。", markup=False)
    if done.skipped:
        out.print(f"已调出项目（{'、'.join(done.skipped)}）的 {sum(done.skipped.values())} "
                  "条不同意意见或联席会议事项未生成问题：项目已退出管理。", markup=False)
    if done.exit_closed:
        out.print(f"已调出项目的未销号问题 {len(done.exit_closed)} 个已按调出时间销号"
                  "（项目退出管理）。", markup=False)


@tracking_app.command("status")
def status_cmd(county: Annotated[str | None, typer.Option(help="Only this county")] = None,
               colour: Annotated[str | None, typer.Option(help="green, yellow or red")] = None,
               format: Format = "table") -> None:
    """The three colours of the tracked projects, now."""
    from blueprint.analysis.tracking import project_statuses
    from blueprint.analysis.tracking.status import COLOURS

    choice(colour, COLOURS, where="--colour", what_zh="项目状态颜色")
    store = open_store(create=False)
    found = project_statuses(store=store, county=known_county(county, store=store),
                             colour=colour, sites=False)  # no map: no site read
    if format == "json":
        print_json([s.to_dict() for s in found])
        return
    names = _county_names(store)
    table("项目三色状态", ["项目编号", "项目名称", "县区", "状态", "原因"],
          [[s.project.code, s.project.name, names.get(s.project.county, s.project.county),
            s.to_dict()["colour_zh"],
            "；".join(s.reasons)] for s in found], empty="没有符合条件的项目。")


@tracking_app.command("problems")
def problems_cmd(status: Annotated[str | None, typer.Option(
                     help="open, escalated or closed (default: every one)")] = None,
                 county: Annotated[str | None, typer.Option(help="Only this county")] = None,
                 format: Format = "table") -> None:
    """The problem list."""
    from blueprint.analysis.tracking import list_problems
    from blueprint.analysis.tracking.problems import STATUS_ZH

    choice(status, tuple(STATUS_ZH), where="--status", what_zh="问题状态")
    store = open_store(create=False)
    found = list_problems(store=store, status=status,
                          county=known_county(county, store=store))
    if format == "json":
        print_json([p.to_dict() for p in found])
        return
    names = _county_names(store)
    table("问题清单", ["编号", "项目编号", "县区", "问题", "责任单位", "办结时限", "状态"],
          [[p.id, p.project, names.get(p.county, p.county), p.text, p.owner_unit, p.due_on,
            p.to_dict()["status_zh"]] for p in found], empty="没有符合条件的问题。")


@tracking_app.command("problem")
def problem_cmd(action: Annotated[str, typer.Argument(help="raise, escalate or close")],
                target: Annotated[str, typer.Argument(help="Project code (raise) or problem id")],
                text: Annotated[str, typer.Option(help="The problem (raise) or the note",
                                                  callback=checked_text)],
                unit: Annotated[str | None, typer.Option(help="Owner unit")] = None,
                due: Annotated[str | None, typer.Option(help="Due date YYYY-MM-DD")] = None,
                source: Annotated[str, typer.Option(
                    help="report, consultation or manual (raise)")] = "manual",
                user: UserName = None) -> None:
    """Raise a problem, escalate it to city level, or close it (销号)."""
    from blueprint.analysis.tracking import close, escalate, raise_problem
    from blueprint.layers.errors import BadInput
    from blueprint.layers.inputs import MAX_ID, check_range

    store = open_store()
    actor = acting_user(store, user)
    if action == "raise":
        p = raise_problem(target, text, owner_unit=unit, due_on=due, source=source,
                          user=actor, store=store)
    elif action in ("escalate", "close") and target.isascii() and target.isdigit():
        fn = escalate if action == "escalate" else close
        p = fn(check_range(int(target), "target", 1, MAX_ID), note=text, user=actor,
               store=store)
    else:
        raise BadInput("usage: problem raise CODE | problem escalate ID | problem close ID",
                       message_zh="用法：problem raise 项目编号 | escalate 编号 | close 编号",
                       where="action")
    out.print(f"问题 {p.id}（{p.project}）：{p.to_dict()['status_zh']}。", markup=False)


@tracking_app.command("late")
def late_cmd(month: Month,
             county: Annotated[str | None, typer.Option(help="Only this county")] = None,
             format: Format = "table") -> None:
    """Late and missing reports of a month, with counts per county and unit."""
    from blueprint.analysis.tracking import late_counts, late_reports
    from blueprint.analysis.tracking.model import REPORT_STATE_ZH as zh

    store = open_store(create=False)
    found = late_reports(month, store=store, county=known_county(county, store=store))
    if format == "json":
        print_json({"reports": found, "by_county": late_counts(found, "county"),
                    "by_unit": late_counts(found, "unit")})
        return
    names = _county_names(store)
    table(f"{month} 月报逾期、未报清单", ["项目编号", "项目名称", "县区", "责任单位", "情况"],
          [[r["project"], r["name"], names.get(r["county"], r["county"]), r["unit"],
            zh[r["status"]]] for r in found])
    for by, title in (("county", "按县区"), ("unit", "按责任单位")):
        table(title, ["名称", "逾期报送", "未报送"],
              [[names.get(k, k) if by == "county" else k, v["late"], v["missing"]]
               for k, v in late_counts(found, by).items()])


@tracking_app.command("figures")
def figures_cmd(month: Month, format: Format = "table") -> None:
    """The month's figures per county (with score and rank) and per unit."""
    from blueprint.analysis.tracking.bulletin import (
        COUNTY_COLUMNS,
        UNIT_COLUMNS,
        build_bulletin,
    )

    b = build_bulletin(month, store=open_store(create=False))
    if format == "json":
        print_json(b.figures.to_dict())
        return
    wide = b.county_rows()  # the whole table is in --format json and the bulletin's xlsx
    keep = [COUNTY_COLUMNS.index(c) for c in ("排名", "县区", "综合得分", "绿", "黄", "红",
                                              "季度开工率", "资金到位率", "投资完成率")]
    table(f"{month} 各县区指标与排名", [COUNTY_COLUMNS[i] for i in keep],
          [[row[i] for i in keep] for row in wide])
    table(f"{month} 责任单位", UNIT_COLUMNS, b.unit_rows())


def bulletin(month: Month,
             out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into")]
             = Path("."),
             pdf: Annotated[bool, typer.Option(help="Write the PDF (needs Chromium)")] = True
             ) -> None:
    """The monthly bulletin (一月一通报): PDF and xlsx of figures, red and yellow projects,
    open problems and the ranking."""
    from blueprint.analysis.tracking.bulletin import (
        build_bulletin,
        bulletin_pdf,
        bulletin_xlsx,
    )

    output_folder(out_dir, where="--out")  # before the work, not after it
    if pdf:  # a Chromium missing (or a BLUEPRINT_CHROMIUM naming none): before the work too
        from blueprint.analysis.review.pdf import chromium_path

        chromium_path()
    written: list[Path] = []
    with progress_bar() as bar:  # a few seconds, the PDF most (on a terminal only)
        step = bar.add_task("统计本月指标", total=3 if pdf else 2)
        b = build_bulletin(month, store=open_store(create=False))
        make_output_folder(out_dir, where="--out")
        bar.update(step, advance=1, description="写出 Excel 表")
        xlsx = out_dir / f"bulletin-{b.month}.xlsx"
        xlsx.write_bytes(bulletin_xlsx(b))
        written.append(xlsx)
        if pdf:
            bar.update(step, advance=1, description="生成 PDF")
            target = out_dir / f"bulletin-{b.month}.pdf"
            target.write_bytes(_pdf_after(bulletin_pdf, b, written))
            written.append(target)
        bar.update(step, advance=1)
    for path in written:
        out.print(f"已生成 {path}", markup=False)


def _pdf_after(make: Any, b: Any, written: list[Path]) -> bytes:
    """The bulletin's PDF; when Chromium fails, the error says what is written already (the
    xlsx stays: it is complete) and how to have it without the PDF."""
    from blueprint.layers.errors import BlueprintError

    try:
        return bytes(make(b))
    except BlueprintError as exc:
        done = "、".join(str(p) for p in written)
        exc.message += f"; written already: {done}; --no-pdf writes the xlsx only"
        exc.message_zh += f"（已生成 {done}；不需要 PDF 时可加 --no-pdf）"
        raise
