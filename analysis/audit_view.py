"""The audit log as a person reads it (``blueprint audit``, the ``/audit`` page): each
action's Chinese name, what a row's detail says one line each, and its object cell."""

from __future__ import annotations

import json
from typing import Any

from blueprint.layers.errors import NotAllowed
from blueprint.layers.layer_info import MOMENT_KEYS
from blueprint.layers.users import User

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


def object_cell(obj: str, project: str | None) -> str:
    """The 对象 cell: the object, and under it its project when that is another record (a
    project's own rows say its code once).

    >>> _object("project:LC-2026-0001", "LC-2026-0001"), _object("round:3", "LC-2026-0001")
    ('LC-2026-0001', 'round:3\\nLC-2026-0001')
    """
    if project and obj == f"project:{project}":
        return project
    return f"{obj}\n{project}" if project else obj


def action_choices() -> dict[str, str]:
    """Every action the audit log may hold, with its Chinese name, for a filter: the named
    ones and each quota operation (``quota.<op>``)."""
    from blueprint.analysis.quota.history import OP_ZH

    return {**ACTION_ZH, **{f"quota.{op}": zh for op, zh in OP_ZH.items()}}


#: Who reads the audit log: city-level users of these roles (as ``GET /api/audit``).
READERS = ("admin", "city_quota_manager", "nr_staff")


def check_reader(user: User) -> None:
    """Refuse (:class:`NotAllowed`) a user who may not read the audit log, saying who may."""
    if user.role not in READERS or (user.county and user.role != "admin"):
        raise NotAllowed(f"user {user.name!r} ({user.role}) may not read the audit log: "
                         "city-level admin, nr_staff and city_quota_manager only",
                         message_zh=f"用户“{user.name}”{'为县级用户，' if user.county else ''}"
                                    "无权查看审计日志：审计日志仅供系统管理员、"
                                    "市级自然资源局工作人员和市级指标管理员查看")
