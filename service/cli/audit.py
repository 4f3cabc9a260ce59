"""``blueprint audit``: the audit log (who, when, what, before/after), city level only;
``blueprint audit verify`` checks its hash chain."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from blueprint.layers.layer_info import MOMENT_KEYS
from blueprint.service.cli.actor import UserName, acting_user
from blueprint.service.cli.console import (
    Format,
    count_bound,
    open_store,
    print_json,
    table,
)

MAX_LIMIT = 10_000  # as GET /api/audit (SQLite reads LIMIT -1 as all rows)

ACTION_ZH = {
    "project.create": "新建项目", "project.vet": "选址审查", "project.stage": "阶段变更",
    "project.revise": "修改项目", "project.tags": "设置项目库", "project.reclaim": "调出收回指标",
    "round.start": "发起会商", "round.answer": "答复会商", "round.amend": "修改答复",
    "round.add_department": "增加会商部门", "round.remove_department": "移除会商部门",
    "round.agreed": "会商通过", "round.rejected": "退回修改", "round.referred": "提交联席会议",
    "meeting.decide": "联席会议决定", "user.create": "创建用户", "user.disable": "停用用户",
    "user.enable": "重新启用用户", "user.rotate_token": "更换令牌", "user.set_password": "设置密码",
    "user.sign_in": "登录", "user.sign_in_locked": "登录失败锁定", "user.unlock": "解除登录锁定",
    "department.add": "增加部门", "layer.import": "导入图层", "layer.remove": "删除图层",
    "tracking.plan": "制定跟踪计划", "tracking.report": "填报月报",
    "tracking.photos": "上传现场照片", "tracking.dispatch": "周调度",
    "tracking.adjust": "季度调整", "tracking.problem": "登记问题",
    "tracking.problem.escalate": "问题提级", "tracking.problem.reassign": "问题改派",
    "tracking.problem.close": "问题销号",
}


def action_zh(action: str) -> str:
    """An audit action in Chinese (quota operations by the ledger's names)."""
    from blueprint.analysis.quota.history import OP_ZH

    kind, _, op = action.partition(".")
    return ACTION_ZH.get(action) or (OP_ZH.get(op, action) if kind == "quota" else action)


# one line of the 内容 column at most this long (a layer import's report is long)
LINE = 80


def _empty(value: Any) -> bool:
    return value is None or value in ("", "{}", "[]") or value == [] or value == {}


def _text(value: Any, key: str | None = None) -> str:
    """A value as one short line: — for none, lists joined by 、, dicts as ``k=v, …``, the
    value of a key that holds a moment (:data:`layers.layer_info.MOMENT_KEYS`) in China time
    to the minute (as the 时间 column); any other text as it is, even one that reads as a
    moment (a project's name is the user's).

    >>> _text("2027-03-01T20:50:15.306357+00:00", "token_expires_at"), _text(["a", "b"])
    ('2027-03-02 04:50', 'a、b')
    >>> _text("2027-03-01T20:50:15+00:00", "name"), _text(None)
    ('2027-03-01T20:50:15+00:00', '—')
    """
    if isinstance(value, str) and value[:1] in "{[" and value:
        try:  # a JSON column kept as text (a project's emissions)
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, str) and key in MOMENT_KEYS:
        from datetime import datetime

        from blueprint.analysis.clock import shown_cn

        try:
            return shown_cn(datetime.fromisoformat(value))
        except ValueError:
            pass
    if _empty(value):
        return "—"
    if isinstance(value, list):
        text = "、".join(_text(v) for v in value)
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={_text(v, k)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= LINE else text[:LINE - 1] + "…"


def _changes(before: Any, after: Any) -> list[str]:
    """``field: before → after`` for each field that changed; a new record's fields as
    ``field: value``; a value that is not a record (a project's libraries) as one line."""
    if not isinstance(before, dict | None) or not isinstance(after, dict | None):
        return [f"{_text(before)} → {_text(after)}"]
    was, now = before or {}, after or {}
    lines = []
    for key in dict.fromkeys([*was, *now]):
        old, new = was.get(key), now.get(key)
        if before is None:
            lines += [] if _empty(new) else [f"{key}: {_text(new, key)}"]
        elif old != new:
            lines.append(f"{key}: {_text(old, key)} → {_text(new, key)}")
    return lines


def detail_lines(detail: dict[str, Any]) -> list[str]:
    """What an audit row's detail says, one line each: what changed (``before`` /
    ``after``), then the rest (reason, round, parameters …) as ``key: value``.

    >>> detail_lines({"reason": "签约", "before": {"stage": "reserve"},
    ...               "after": {"stage": "signed"}})
    ['stage: reserve → signed', 'reason: 签约']
    """
    lines = _changes(detail.get("before"), detail.get("after")) \
        if "before" in detail or "after" in detail else []
    lines += [f"{key}: {_text(value, key)}" for key, value in detail.items()
              if key not in ("before", "after", "origin")]
    origin = detail.get("origin")  # where the write came from (the CLI's OS user)
    if isinstance(origin, dict):  # what is known only: ``via: cli, os_user=root``
        lines.append("via: " + _text({k: v for k, v in origin.items() if not _empty(v)})
                     .removeprefix("via="))
    return lines


def _object(obj: str, project: str | None) -> str:
    """The 对象 cell: the object, and under it its project when that is another record (a
    project's own rows say its code once).

    >>> _object("project:LC-2026-0001", "LC-2026-0001"), _object("round:3", "LC-2026-0001")
    ('LC-2026-0001', 'round:3\\nLC-2026-0001')
    """
    if project and obj == f"project:{project}":
        return project
    return f"{obj}\n{project}" if project else obj


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
    from blueprint.analysis.clock import shown_cn
    from blueprint.layers.audit import read_audit

    store = open_store(create=False)
    acting_user(store, user).require_city_wide("city_quota_manager", "nr_staff")
    rows = read_audit(store=store, project=project, action=action, limit=limit)
    if format == "json":  # moments in UTC with Z, as GET /api/audit writes them
        from blueprint.layers.layer_info import stored_moments

        print_json([r.__dict__ | {"detail": stored_moments(r.detail)} for r in rows])
        return
    # the 内容 column gets the room; the others keep to one line each where they can
    table("审计日志", ["编号", "时间", "操作人", "操作", "对象（项目）", "内容"],
          [[r.id, shown_cn(r.at), r.actor,
            action_zh(r.action), _object(r.object, r.project),
            "\n".join(detail_lines(r.detail)) or "—"]
           for r in rows], wide="内容")


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
