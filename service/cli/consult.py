"""``blueprint consult …``: consultation rounds between departments (业务协同).

Staff start rounds and add, remove or close; a department user answers (``--user NAME``:
the local operator is no department). Deadlines are working days (``chinesecalendar``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from blueprint.service.cli.actor import UserName, acting_user
from blueprint.service.cli.console import (
    Format,
    checked_text,
    count_bound,
    id_bound,
    open_store,
    out,
    print_json,
    read_site_file,
    table,
)

consult_app = typer.Typer(help="Consultation between departments (业务协同): rounds, "
                          "answers, inbox, overdue.", no_args_is_help=True)

Reason = Annotated[str, typer.Option(help="Why (kept on record)",
                                           callback=checked_text)]
RoundId = Annotated[int, typer.Argument(callback=id_bound)]


def _opinion_text(param: typer.CallbackParam, value: str | None) -> str | None:
    """``--text`` checked as any text kept on record; an empty one is left to
    :func:`answer_cmd`, which says what that kind of answer must state (``says_empty``:
    the root's generic "不能为空" does not wrap it)."""
    return checked_text(param, value)


_opinion_text.says_empty = True  # type: ignore[attr-defined]


def show_round(rnd: Any, fmt: str) -> None:
    """A round as JSON (the API's answer: departments with their names, why and answers)
    or as a Chinese table of its departments."""
    if fmt == "json":  # as the API answers a round (GET /api/rounds/{round_id}, start, add …)
        from blueprint.analysis.projects.json_view import round_json

        print_json(round_json(rnd))
        return
    out.print(f"会商轮次 {rnd.id}：项目 {rnd.project} 第 {rnd.number} 轮，{rnd.status_zh}。")
    table("会商部门", ["部门", "答复期限", "纳入依据", "意见"],
          [[a.name_zh, a.deadline, "；".join(a.why),
            "已移除：" + (a.removed_reason or "") if a.removed else
            (f"{a.current.answer_zh}：{a.current.text}" if a.current else "未答复")]
           for a in rnd.assignments])


@consult_app.command("start")
def start_cmd(code: str, period: Annotated[int | None, typer.Option(
        help="Working days to answer, 1–366 (default: configuration)",
        callback=count_bound(1, 366))] = None,
        user: UserName = None, format: Format = "table") -> None:
    """Start a round on a planned, vetted project; departments picked by the rules."""
    from blueprint.analysis.consultation import start_round

    store = open_store()
    show_round(start_round(code, user=acting_user(store, user), store=store,
                           period_days=period), format)


@consult_app.command("add-dept")
def add_cmd(round_id: RoundId, department: str, reason: Reason, user: UserName = None,
            format: Format = "table") -> None:
    """Add a department to an open round (its deadline counts from today)."""
    from blueprint.analysis.consultation import add_department

    store = open_store()
    show_round(add_department(round_id, department, user=acting_user(store, user),
                              reason=reason, store=store), format)


@consult_app.command("remove-dept")
def remove_cmd(round_id: RoundId, department: str, reason: Reason, user: UserName = None,
               format: Format = "table") -> None:
    """Take a department out of an open round, with a reason."""
    from blueprint.analysis.consultation import remove_department

    store = open_store()
    show_round(remove_department(round_id, department, user=acting_user(store, user),
                                 reason=reason, store=store), format)


@consult_app.command("answer")
def answer_cmd(round_id: RoundId,
               answer: Annotated[str, typer.Option(help="agree, conditional or disagree")],
               text: Annotated[str, typer.Option(
                   help="The opinion: an agree's review, a conditional's conditions, a "
                        "disagree's reasons", callback=_opinion_text)],
               user: Annotated[str, typer.Option("--user", help="The department user")],
               condition: Annotated[Path | None, typer.Option(
                   help="Condition area file (conditional answers)")] = None,
               format: Format = "table") -> None:
    """Answer for your department; a second answer amends the first."""
    from blueprint.analysis.consultation import answer as give_answer
    from blueprint.analysis.consultation.model import ANSWER_ZH, answer_text

    if answer in ANSWER_ZH:  # else the core says which answers there are
        text = answer_text(answer, text, where="--text")
    store = open_store()
    opinion = give_answer(round_id, user=acting_user(store, user), answer=answer, text=text,
                          store=store, condition=None if condition is None
                          else read_site_file(condition))
    if format == "json":  # as POST /api/rounds/{round_id}/answers: the condition area as GeoJSON
        from blueprint.analysis.projects.json_view import opinion_json

        print_json(opinion_json(opinion))
        return
    amended = "（修改此前答复）" if opinion.amends_id else ""
    out.print(f"已答复会商轮次 {round_id}：{opinion.answer_zh}{amended}。")


@consult_app.command("close")
def close_cmd(round_id: RoundId, outcome: Annotated[str, typer.Option(
        help="revise (back to planning) or meeting (to the joint meeting)")],
        reason: Reason, user: UserName = None, format: Format = "table") -> None:
    """Close an open round that has a 不同意."""
    from blueprint.analysis.consultation import close_round

    store = open_store()
    show_round(close_round(round_id, user=acting_user(store, user), outcome=outcome,
                           reason=reason, store=store), format)


@consult_app.command("inbox")
def inbox_cmd(department: Annotated[str | None, typer.Option(
        help="Department code (default: that of --user)")] = None,
        user: UserName = None, format: Format = "table") -> None:
    """What a department has to answer: overdue and due soonest first (a user tied to a
    county: its county's rounds only)."""
    from blueprint.analysis.clock import today_cn
    from blueprint.analysis.consultation import inbox
    from blueprint.analysis.consultation.records import days_left_zh
    from blueprint.layers.errors import BadInput

    store = open_store(create=False)
    actor = acting_user(store, user) if user or not department else None
    code = department or (actor.department if actor else None)
    if not code:
        raise BadInput("name the department (--department) or a department user (--user)",
                       message_zh="请用 --department 指定部门，或用 --user 指定会商部门用户",
                       where="--department")
    from blueprint.layers.departments import department_names

    named = department_names(store=store)  # deactivated ones too: rounds may still ask them
    if code not in named:  # a mistyped code is an error, not an empty inbox
        raise BadInput(f"unknown department {code[:40]!r}; departments: {', '.join(named)}",
                       message_zh=f"未知的部门“{code[:40]}”", where="--department")
    today = today_cn()
    county = actor.county if actor else None
    rows = inbox(code, store=store, today=today, county=county)
    if format == "json":  # as GET /api/consultation/inbox: deadline_provisional too
        from blueprint.analysis.projects.json_view import inbox_json

        print_json(inbox_json(rows))
        return
    table(f"待办会商（{named.get(code, code)}{_of_county(county, store)}）",
          ["轮次", "项目编号", "项目名称", "答复期限", "剩余工作日", "本部门意见"],
          [[r["round_id"], r["project"], r["name"], _deadline_zh(r["deadline"]),
            days_left_zh(r, today), _answer_zh(r["answer"])] for r in rows],
          empty="没有待答复的会商。")


def _of_county(county: str | None, store: Any) -> str:
    """``，阳谷县`` after the department's name in an inbox of one county's rounds."""
    from blueprint.analysis.counties import offered_counties

    return f"，{offered_counties(store=store).get(county, county)}" if county else ""


def _deadline_zh(day: Any) -> str:
    """A deadline as the pages show it: 暂定 when counted before that year's holiday notice."""
    from blueprint.analysis.consultation.workdays import is_provisional

    return f"{day.isoformat()}（暂定）" if is_provisional(day) else day.isoformat()


def _answer_zh(answer: str | None) -> str:
    from blueprint.analysis.consultation.model import ANSWER_ZH

    return ANSWER_ZH.get(answer or "", "未答复")


@consult_app.command("overdue")
def overdue_cmd(format: Format = "table") -> None:
    """Answers past their deadline, per department."""
    from blueprint.analysis.consultation import overdue
    from blueprint.layers.departments import department_names

    store = open_store(create=False)
    found = overdue(store=store)
    if format == "json":  # as GET /api/consultation/overdue: deadline_provisional too
        from blueprint.analysis.projects.json_view import overdue_json

        print_json(overdue_json(found))
        return
    named = department_names(store=store)  # a department deactivated mid-round too
    table("逾期未答复", ["部门", "轮次", "项目编号", "项目名称", "答复期限", "逾期工作日"],
          [[named.get(dept, dept), r["round_id"], r["project"], r["name"],
            _deadline_zh(r["deadline"]), r["working_days_overdue"]]
           for dept, rows in found.items() for r in rows], empty="没有逾期未答复的会商。")
