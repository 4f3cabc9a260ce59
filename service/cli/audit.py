"""``blueprint audit``: the audit log (who, when, what, before/after), city level only;
``blueprint audit verify`` checks its hash chain."""

from __future__ import annotations

from typing import Annotated

import typer

from blueprint.service.cli.actor import UserName, acting_user
from blueprint.service.cli.console import (
    Format,
    count_bound,
    open_store,
    print_json,
    table,
)

MAX_LIMIT = 10_000  # as GET /api/audit (SQLite reads LIMIT -1 as all rows)


audit_app = typer.Typer(help="The audit log (city-level users); `audit verify` checks it.",
                        invoke_without_command=True)


@audit_app.callback()
def audit(ctx: typer.Context,
          project: Annotated[str | None, typer.Option(help="Only this project code")] = None,
          action: Annotated[str | None, typer.Option(help="Only this action, e.g. "
                                                     "project.stage")] = None,
          limit: Annotated[int, typer.Option(help="The latest N rows",
                                             callback=count_bound(1, MAX_LIMIT))] = 100,
          user: UserName = None,
          format: Format = "table") -> None:
    """The latest audit rows, oldest first (city-level users only)."""
    if ctx.invoked_subcommand is not None:
        return
    from blueprint.analysis.audit_view import (
        action_zh,
        check_action,
        check_reader,
        detail_lines,
        object_cell,
        value_names,
    )
    from blueprint.analysis.clock import shown_cn
    from blueprint.analysis.quota.balances import known_counties
    from blueprint.layers.audit import read_audit
    from blueprint.layers.departments import department_names
    from blueprint.layers.users import actor_zh

    store = open_store(create=False)
    check_reader(acting_user(store, user))
    if action is not None:  # as GET /api/audit: a misspelt action found nothing, silently
        check_action(action, "--action")
    rows = read_audit(store=store, project=project, action=action, limit=limit)
    if format == "json":  # moments in UTC with Z, as GET /api/audit writes them
        from blueprint.layers.layer_info import stored_moments

        print_json([r.__dict__ | {"detail": stored_moments(r.detail)} for r in rows])
        return
    names = value_names(department_names(store=store), known_counties(store=store))
    # the 内容 column gets the room; the others keep to one line each where they can
    table("审计日志", ["编号", "时间", "操作人", "操作", "对象（项目）", "内容"],
          [[r.id, shown_cn(r.at), actor_zh(r.actor),
            action_zh(r.action), object_cell(r.object, r.project),
            "\n".join(detail_lines(r.detail, names, r.object)) or "—"]
           for r in rows], wide="内容", empty="没有符合条件的审计记录。")


@audit_app.command("verify")
def audit_verify(last_hash: Annotated[str | None, typer.Option(
                     "--last-hash", help="A hash printed by an earlier verify: it must "
                     "still be in the chain (nothing cut off the end)")] = None,
                 user: UserName = None) -> None:
    """Check the audit log's hash chain: exit 0 if whole, 1 with the first broken row."""
    from blueprint.analysis.audit_view import check_reader
    from blueprint.layers.audit import verify_audit

    store = open_store(create=False)
    check_reader(acting_user(store, user))
    check = verify_audit(store=store, expect_last=last_hash)
    print_json({"ok": check.ok, "rows": check.rows, "last_hash": check.last_hash,
                "broken_id": check.broken_id, "problem": check.problem,
                "message_zh": check.message_zh})
    if not check.ok:
        raise typer.Exit(1)
