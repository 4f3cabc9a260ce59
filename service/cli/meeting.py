"""``blueprint meeting …``: the joint meeting's problem list and its decisions (联席会议)."""

from __future__ import annotations

from typing import Annotated

import typer

from blueprint.service.cli.actor import UserName, acting_user
from blueprint.service.cli.console import (
    Format,
    checked_text,
    id_bound,
    open_store,
    out,
    print_json,
    table,
)

meeting_app = typer.Typer(help="Joint meeting (联席会议): problem list and decisions.",
                          no_args_is_help=True)


@meeting_app.command("list")
def list_cmd(all: Annotated[bool, typer.Option("--all", help="Decided and withdrawn items "
                                               "too")] = False,
             format: Format = "table") -> None:
    """The problem list (open items unless --all)."""
    from blueprint.analysis.consultation import problem_list
    from blueprint.analysis.consultation.meeting import ITEM_STATUS_ZH

    items = problem_list(store=open_store(create=False), status=None if all else "open")
    if format == "json":
        print_json(items)
        return
    table("联席会议问题清单", ["事项", "项目编号", "项目名称", "问题", "状态", "会议日期", "决定"],
          [[i["id"], i["project"], i["name"], i["problem"], ITEM_STATUS_ZH.get(i["status"], "—"),
            i["meeting_date"] or "—", i["decision_text"] or "—"] for i in items],
          empty="没有待会议决定的事项。" if not all else "没有提交联席会议的事项。")


@meeting_app.command("decide")
def decide_cmd(item_id: Annotated[int, typer.Argument(callback=id_bound)],
               decision: Annotated[str, typer.Option(help="proceed (into the reserve) or "
                                                     "exit (out, quotas reclaimed)")],
               date: Annotated[str, typer.Option(help="Meeting date YYYY-MM-DD")],
               attendee: Annotated[list[str], typer.Option(help="Attendee (repeat)")],
               text: Annotated[str, typer.Option(help="The decision", callback=checked_text)],
               user: UserName = None, format: Format = "table") -> None:
    """Record the joint meeting's decision on an item and carry it out."""
    from blueprint.analysis.clock import parse_day_or_time
    from blueprint.analysis.consultation import decide
    from blueprint.analysis.projects import STAGE_ZH

    store = open_store()
    result = decide(item_id, user=acting_user(store, user), decision=decision,
                    meeting_date=parse_day_or_time(date, "--date", "date"),
                    attendees=attendee, text=text, store=store)
    if format == "json":
        print_json(result)
        return
    out.print(f"已记录联席会议决定，项目 {result['project']} 现为“{STAGE_ZH[result['stage']]}”。")
