"""``blueprint quota balances | movements | loans | export``: reading the quota ledger."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from blueprint.service.cli.console import (
    MAX_COUNT,
    Format,
    count_bound,
    known_county,
    open_store,
    out,
    output_file,
    print_json,
    table,
)
from blueprint.service.cli.quota import YearOnly, quota, quota_app

YearOpt = YearOnly
KindOpt = Annotated[str | None, typer.Option(help="Only this kind")]
CountyOpt = Annotated[str | None, typer.Option(help="Only this county code")]


def _text(value: Any) -> str:
    return "—" if value is None else str(value)


def _available(row: dict[str, Any]) -> str:
    if row["available"] is None:
        return "—"
    mu = f"（{row['available_mu']} 亩）" if "available_mu" in row else ""
    return f"{row['available']}{mu}"


@quota_app.command("balances")
def balances_cmd(year: YearOpt = None, kind: KindOpt = None, county: CountyOpt = None,
                 as_of: Annotated[str | None, typer.Option(
                     "--as-of", help="Statement at the end of this day in China "
                     "(YYYY-MM-DD) or at an exact ISO 8601 time")] = None,
                 format: Format = "table") -> None:
    """Balances per account: granted, held, allocated, lent, borrowed, available."""
    from blueprint.analysis.clock import as_of_time, shown_as_of

    moment = as_of_time(as_of, "--as-of") if as_of else None
    store = open_store()
    rows = quota.balances(store=store, year=year, kind=kind,
                          county=known_county(county, store=store), as_of=moment)
    if format == "json":
        print_json(rows)
        return
    title = "要素指标余额"
    if moment is not None:
        title += f"（截至北京时间 {shown_as_of(moment)}）"
    table(title, ["年度", "指标类型（单位）", "账户", "下达", "预留", "已配置", "借出",
                      "借入", "调剂", "核销", "可用"],
          [[r["year"], f"{r['kind_title']}({r['unit_zh']})", r["title"], r["granted"],
            r["held"], r["allocated"], r["lent"], r["borrowed"], r["adjusted"], r["retired"],
            _available(r)] for r in rows])
    if not rows:
        out.print("没有符合条件的指标账户。")


def _when(text: str | None, option: str) -> datetime | None:
    """``--since``, ``--until``, ``--on``: a date (its midnight) or an ISO 8601 time."""
    if text is None:
        return None
    from blueprint.analysis.clock import parse_day_or_time

    return parse_day_or_time(text, option, "time")


@quota_app.command("movements")
def movements_cmd(year: YearOpt = None, kind: KindOpt = None, county: CountyOpt = None,
                  project: Annotated[str | None, typer.Option(help="Only this project")] = None,
                  op: Annotated[str | None, typer.Option(help="Only this operation, e.g. "
                                                         "allocate")] = None,
                  since: Annotated[str | None, typer.Option(
                      help="From this date (China time) or ISO 8601 time")] = None,
                  until: Annotated[str | None, typer.Option(
                      help="Until this date, the day included (China time), or ISO 8601 "
                           "time (before it)")] = None,
                  limit: Annotated[int, typer.Option(callback=count_bound(1, MAX_COUNT))] = 200,
                  offset: Annotated[int, typer.Option(callback=count_bound(0, MAX_COUNT))] = 0,
                  format: Format = "table") -> None:
    """Movement history: every entry with who, when, why, from and to."""
    from blueprint.analysis.clock import window_utc
    from blueprint.layers.users import actor_zh

    start, end = window_utc(since, until, ("--since", "--until"))
    store = open_store()
    filters: dict[str, Any] = {"year": year, "kind": kind,
                               "county": known_county(county, store=store),
                               "project": project, "op": op, "since": start, "until": end}
    rows = quota.movements(store=store, limit=limit, offset=offset, **filters)
    if format == "json":
        print_json(rows)
        return
    table("要素指标流水", ["分录", "时间（北京时间）", "操作", "指标类型", "调出", "调入", "数量",
                     "操作人", "事由"],
          [[r["id"], r["at_cn"], f"{r['op_zh']}#{r['operation_id']}", r["kind_title"],
            r["from_title"], r["to_title"], f"{r['amount']} {r['unit']}", actor_zh(r["actor"]),
            r["reason"]] for r in rows])
    total = quota.count_movements(store=store, **filters)
    more = total - offset - len(rows)
    if more > 0:
        out.print(f"共 {total} 条，本页显示第 {offset + 1}–{offset + len(rows)} 条；"
                  f"另有 {more} 条未显示（用 --offset {offset + len(rows)} 查看下一页）。")
    else:
        out.print(f"共 {total} 条。")


@quota_app.command("loans")
def loans_cmd(overdue: Annotated[bool, typer.Option(help="Only overdue loans")] = False,
              on: Annotated[str | None, typer.Option(help="As of this day, YYYY-MM-DD "
                                                     "(default: today in China)")] = None,
              year: YearOpt = None, kind: KindOpt = None, county: CountyOpt = None,
              format: Format = "table") -> None:
    """Loans between counties with what is still owed (``--overdue``: past due)."""
    day = _when(on, "--on")
    from blueprint.analysis.quota.kinds import KINDS

    store = open_store()
    rows = quota.loans(store=store, overdue=overdue, year=year, kind=kind,
                       county=known_county(county, store=store),
                       today=day.date() if day else None)
    if format == "json":
        print_json(rows)
        return
    from blueprint.analysis.counties import offered_counties

    names = offered_counties(store=store)  # the counties by name (the one rule)
    table("逾期未还的临时拆借" if overdue else "临时拆借", ["编号", "年度", "指标类型", "借出县区",
                                                   "借入县区", "借出", "未还", "归还期限",
                                                   "逾期天数"],
          [[r["loan_id"], r["year"], KINDS[r["kind"]].title, names.get(r["lender"], r["lender"]),
            names.get(r["borrower"], r["borrower"]),
            r["amount"], r["outstanding"], r["due"], r["days_overdue"] or _text(None)]
           for r in rows], empty="没有逾期未还的拆借。" if overdue else "没有符合条件的拆借。")


@quota_app.command("export")
def export_cmd(output: Annotated[Path, typer.Option(help="File to write")],
               what: Annotated[str, typer.Option(help="balances or movements")] = "balances",
               format: Annotated[str, typer.Option(help="xlsx or csv")] = "xlsx",
               year: YearOpt = None, kind: KindOpt = None, county: CountyOpt = None,
               force: Annotated[bool, typer.Option(help="Replace an existing file")] = False
               ) -> None:
    """Export balances or movements to .xlsx or CSV (Chinese headers); an existing file
    is replaced only with --force."""
    from blueprint.analysis.quota.exports import write_export

    target = output_file(output, where="--output", force=force)  # before any work
    store = open_store()
    path = write_export(target, what=what, fmt=format, store=store, year=year, kind=kind,
                        county=known_county(county, store=store))  # a typo: refused, no file
    out.print(f"已导出到 {path}", markup=False)
