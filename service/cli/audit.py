"""``blueprint audit``: the audit log (who, when, what, before/after), city level only;
``blueprint audit verify`` checks its hash chain."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from blueprint.service.cli.actor import UserName, acting_user
from blueprint.service.cli.console import open_store, print_json, table

ACTION_ZH = {
    "project.create": "新建项目", "project.vet": "选址审查", "project.stage": "阶段变更",
    "project.revise": "修改项目", "project.tags": "设置项目库", "project.reclaim": "调出收回指标",
    "round.start": "发起会商", "round.answer": "答复会商", "round.amend": "修改答复",
    "round.add_department": "增加会商部门", "round.remove_department": "移除会商部门",
    "round.agreed": "会商通过", "round.rejected": "退回修改", "round.referred": "提交联席会议",
    "meeting.decide": "联席会议决定", "user.create": "创建用户", "user.disable": "停用用户",
    "user.rotate_token": "更换令牌", "user.set_password": "设置密码",
}


def action_zh(action: str) -> str:
    """An audit action in Chinese (quota operations by the ledger's names)."""
    from blueprint.analysis.quota.history import OP_ZH

    kind, _, op = action.partition(".")
    return ACTION_ZH.get(action) or (OP_ZH.get(op, action) if kind == "quota" else action)


audit_app = typer.Typer(help="The audit log (city-level users); `audit verify` checks it.",
                        invoke_without_command=True)


@audit_app.callback()
def audit(ctx: typer.Context,
          project: Annotated[str | None, typer.Option(help="Only this project code")] = None,
          action: Annotated[str | None, typer.Option(help="Only this action, e.g. "
                                                     "project.stage")] = None,
          limit: Annotated[int, typer.Option(help="The latest N rows")] = 100,
          user: UserName = None,
          format: Annotated[str, typer.Option(help="table or json")] = "table") -> None:
    """The latest audit rows, oldest first (city-level users only)."""
    if ctx.invoked_subcommand is not None:
        return
    from blueprint.analysis.quota.clock import CST
    from blueprint.layers.audit import read_audit

    store = open_store(create=False)
    acting_user(store, user).require_city_wide("city_quota_manager", "nr_staff")
    rows = read_audit(store=store, project=project, action=action, limit=limit)
    if format == "json":
        print_json([r.__dict__ for r in rows])
        return
    table("审计日志", ["编号", "时间", "操作人", "操作", "对象", "项目", "内容"],
          [[r.id, r.at.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S"), r.actor,
            action_zh(r.action), r.object, r.project or "—",
            json.dumps(r.detail, ensure_ascii=False, default=str)[:200]]
           for r in rows])


@audit_app.command("verify")
def audit_verify(last_hash: Annotated[str | None, typer.Option(
                     "--last-hash", help="A hash printed by an earlier verify: it must "
                     "still be in the chain (nothing cut off the end)")] = None,
                 user: UserName = None) -> None:
    """Check the audit log's hash chain: exit 0 if whole, 1 with the first broken row."""
    from blueprint.layers.audit import verify_audit

    store = open_store(create=False)
    acting_user(store, user).require_city_wide("city_quota_manager", "nr_staff")
    check = verify_audit(store=store, expect_last=last_hash)
    print_json({"ok": check.ok, "rows": check.rows, "last_hash": check.last_hash,
                "broken_id": check.broken_id, "problem": check.problem,
                "message_zh": check.message_zh})
    if not check.ok:
        raise typer.Exit(1)
