"""The audit log as a person reads it (``blueprint audit``, the ``/audit`` page): each
action's Chinese name, what a row's detail says one line each, and its object cell."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from blueprint.layers.errors import BadInput, NotAllowed
from blueprint.layers.inputs import CODE_LEN
from blueprint.layers.layer_info import MOMENT_KEYS
from blueprint.layers.users import User

ACTION_ZH = {
    "project.create": "新建项目", "project.vet": "选址审查", "project.stage": "阶段变更",
    "project.revise": "修改项目", "project.tags": "设置项目库", "project.reclaim": "调出收回指标",
    "round.start": "发起会商", "round.answer": "答复会商", "round.amend": "修改答复",
    "round.add_department": "增加会商部门", "round.remove_department": "移除会商部门",
    "round.agreed": "会商通过", "round.rejected": "退回修改", "round.referred": "提交联席会议",
    "round.cancelled": "撤销会商", "meeting.withdrawn": "撤回联席会议事项",
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

#: The fields of audit rows in Chinese (a field not named here is shown as it is stored).
KEY_ZH = {
    # projects
    "name": "名称", "county": "县区", "level": "管理层级", "investor_type": "投资主体",
    "origin": "项目来源", "industry": "行业", "investment": "投资额",
    "newly_planned": "新谋划项目", "cross_county": "跨县区项目",
    "foreign_annual_usd": "年度实际使用外资（万美元）",
    "foreign_cash_usd": "年度外资现汇进资（万美元）", "demands": "要素需求",
    "emissions": "年排放量", "responsible_unit": "责任单位", "service_officer": "服务专员",
    "tags": "项目库", "site_area_m2": "地块面积（平方米）", "stage": "阶段",
    "site_version": "地块版本", "report_id": "审查报告号", "verdict": "审查结论",
    "layers": "参与审查的图层",
    # consultation
    "round": "会商轮次号", "number": "第几轮", "period_days": "会商期限（工作日）",
    "deadline": "答复期限", "departments": "会商部门", "department": "部门",
    "answer": "意见", "text": "意见内容", "condition": "附条件范围", "status": "状态",
    "decision": "决定", "attendees": "参会人员或单位", "held_on": "会议日期",
    # tracking
    "version": "版本", "milestones": "节点数", "months": "月数", "month": "月份",
    "corrects": "更正月报", "problems": "问题数", "note": "说明", "owner_unit": "责任单位",
    "projects": "调度项目", "adjustment": "调整号", "quarter": "季度", "action": "调整",
    "library": "项目库", "photos": "照片",
    # quota
    "key": "幂等键", "params": "参数", "entries": "记账分录数", "year": "年度",
    "kind": "类型", "amount": "数量", "operation": "操作号",
    # layers
    "title": "图层名称", "feature_count": "要素数", "repaired": "修复的几何数", "bbox": "范围",
    "source_file": "源文件", "source_crs": "源坐标系", "encoding": "编码", "bands": "波段",
    "warnings": "提示",
    # users
    "role": "角色", "password": "已设置密码", "token_expires_at": "令牌有效期至",
    "expires_at": "会话有效期至", "reason": "事由", "failures": "连续失败次数",
    "locked_until": "锁定至", "active": "启用", "password_must_change": "须本人修改密码",
    "sessions_ended": "结束的会话数",
    # more of projects, meetings, quota
    "project": "项目", "unit": "单位", "operation_id": "操作号", "hold_id": "预留号",
    "loan_id": "拆借编号", "lender": "借出县区", "borrower": "借入县区", "due": "归还期限",
    "due_on": "办结时限", "counterparty": "对方", "price": "价格", "from": "调出", "to": "调入",
    "removed_reason": "移除理由", "decided_on": "决定日期", "meeting_date": "会议日期",
    "items": "调整事项", "expires": "预留至", "from_pool": "不足部分从市级统筹池调入",
    "account": "账户", "source": "问题来源", "source_ref": "关联记录",
}


def _key(key: str) -> str:
    return KEY_ZH.get(key, key)


#: The Chinese names of coded values, per field (``{"stage": {"planned": "策划生成"}, …}``);
#: ``field@kind`` names a field of one kind of object alone (``status@round``: a round's
#: statuses, not a meeting item's).
Names = dict[str, dict[str, str]]


def value_names(departments: Mapping[str, str] | None = None,
                counties: Mapping[str, str] | None = None) -> Names:
    """The Chinese names of coded values, per field (stages, roles, answers …), read once
    for a page or a command; ``departments`` (code → name, from the store's departments
    table) names the ``department`` / ``departments`` fields, ``counties`` (code → name,
    the ledger's and the boundary layer's) a county, a loan's lender and borrower: the
    caller has the store."""
    from blueprint.analysis.consultation.model import ANSWER_ZH
    from blueprint.analysis.messages import VERDICT_ZH
    from blueprint.analysis.projects.config import load_settings
    from blueprint.analysis.projects.model import INVESTOR_TYPES, LEVELS, ORIGINS, STAGE_ZH
    from blueprint.analysis.rules import load_rules
    from blueprint.layers.users import ROLES

    libraries, named, county = load_settings().libraries, dict(departments or {}), \
        dict(counties or {})
    from blueprint.analysis.consultation.meeting import DECISIONS, ITEM_STATUS_ZH
    from blueprint.analysis.consultation.model import ROUND_STATUS_ZH
    from blueprint.analysis.quota.kinds import KINDS
    from blueprint.analysis.tracking.dispatch import ACTION_ZH
    from blueprint.analysis.tracking.problems import SOURCES

    return {"stage": STAGE_ZH, "role": ROLES, "answer": ANSWER_ZH, "verdict": VERDICT_ZH,
            "kind": {code: kind.title for code, kind in KINDS.items()}, "source": SOURCES,
            "demands": {code: kind.title for code, kind in KINDS.items()},
            "decision": DECISIONS, "action": ACTION_ZH,
            "status@round": ROUND_STATUS_ZH, "status@meeting": ITEM_STATUS_ZH,
            "level": LEVELS, "investor_type": INVESTOR_TYPES, "origin": ORIGINS,
            "library": libraries, "tags": libraries,
            "department": named, "departments": named,
            "county": county, "lender": county, "borrower": county,
            "industry": {c: i.title for c, i in load_rules().industries.items()}}


def _empty(value: Any) -> bool:
    return value is None or value in ("", "{}", "[]") or value == [] or value == {}


def _text(value: Any, key: str | None = None,
          names: Names | None = None) -> str:
    """A value as one short line: — for none, lists joined by 、, dicts as ``k=v, …``, the
    value of a key that holds a moment (:data:`layers.layer_info.MOMENT_KEYS`) in China time
    to the minute (as the 时间 column); a coded value by its Chinese name (``names``, per
    key; a record of coded keys, a round's departments, by its keys' names), yes or no as
    是 / 否; any other text as it is, even one that reads as a moment (a project's name is
    the user's).

    >>> _text("2027-03-01T20:50:15.306357+00:00", "token_expires_at"), _text(["a", "b"])
    ('2027-03-02 04:50', 'a、b')
    >>> _text("2027-03-01T20:50:15+00:00", "name"), _text(None), _text(False)
    ('2027-03-01T20:50:15+00:00', '—', '否')
    >>> _text(["city_key"], "tags", {"tags": {"city_key": "市重点项目库"}})
    '市重点项目库'
    >>> _text({"ee": ["占用生态保护红线"]}, "departments", {"departments": {"ee": "生态环境局"}})
    '生态环境局=占用生态保护红线'
    """
    if isinstance(value, bool):
        return "是" if value else "否"
    coded = (names or {}).get(key or "")
    if coded is not None and isinstance(value, dict):
        value = {coded.get(k, k): v for k, v in value.items()}
    elif coded is not None and isinstance(value, str | list):
        value = coded.get(value, value) if isinstance(value, str) else \
            [coded.get(v, v) if isinstance(v, str) else v for v in value]
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
        text = "，".join(f"{_key(k)}={_text(v, k, names)}" for k, v in value.items())
    else:
        text = str(value)
    return text if len(text) <= LINE else text[:LINE - 1] + "…"


def _changes(before: Any, after: Any, names: Names) -> list[str]:
    """``字段：before → after`` for each field that changed; a new record's fields as
    ``字段：value``; a value that is not a record (a project's libraries) as one line."""
    if not isinstance(before, dict | None) or not isinstance(after, dict | None):
        return [f"{_text(before, 'tags', names)} → {_text(after, 'tags', names)}"]
    was, now = before or {}, after or {}
    lines = []
    for key in dict.fromkeys([*was, *now]):
        old, new = was.get(key), now.get(key)
        if before is None:
            lines += [] if _empty(new) else [f"{_key(key)}：{_text(new, key, names)}"]
        elif old != new:
            lines.append(f"{_key(key)}：{_text(old, key, names)} → {_text(new, key, names)}")
    return lines


def _for_object(names: Names, obj: str | None) -> Names:
    """``names`` with the fields that ``obj``'s kind names its own way (``status@round``
    for ``round:3``) in place of the others.

    >>> _for_object({"status": {}, "status@round": {"open": "会商中"}}, "round:3")["status"]
    {'open': '会商中'}
    """
    kind = (obj or "").partition(":")[0]
    own = {field: coded for key, coded in names.items()
           for field, at, of in [key.partition("@")] if at and of == kind}
    return names | own if own else names


def detail_lines(detail: dict[str, Any], names: Names, obj: str | None = None) -> list[str]:
    """What an audit row's detail says, one line each, in Chinese: what changed
    (``before`` / ``after``), then the rest (reason, round, parameters …) as
    ``字段：value``, then where the write came from; coded values by their names
    (:func:`value_names`, read once for all the rows shown), those of the row's object
    ``obj`` (``round:3``, ``meeting:1``) by its kind's (a round's status, a meeting item's).

    >>> names = value_names({"ee": "生态环境局"}, {"371502": "东昌府区"})
    >>> detail_lines({"reason": "签约", "before": {"stage": "reserve"},
    ...               "after": {"stage": "signed"}}, names)
    ['阶段：储备 → 签约', '事由：签约']
    >>> detail_lines({"role": "admin", "origin": {"via": "cli", "os_user": "root"}}, names)
    ['角色：系统管理员', '来源：命令行（操作系统用户 root）']
    >>> detail_lines({"department": "ee", "after": {"answer": "agree"}}, names)
    ['意见：同意', '部门：生态环境局']
    >>> detail_lines({"after": {"role": "nr_staff", "county": "371502"}}, names)
    ['角色：自然资源局工作人员', '县区：东昌府区']
    >>> detail_lines({"before": {"status": "open"}, "after": {"status": "decided"}}, names,
    ...              "meeting:1")
    ['状态：待决定 → 已决定']
    """
    names = _for_object(names, obj)
    lines = _changes(detail.get("before"), detail.get("after"), names) \
        if "before" in detail or "after" in detail else []
    if "params" in detail:
        detail = detail | {"params": quota_params(detail["params"])}
    if isinstance(detail.get("source_ref"), str):  # what a problem was raised from
        detail = detail | {"source_ref": object_zh(detail["source_ref"])}
    lines += [f"{_key(key)}：{_text(value, key, names)}" for key, value in detail.items()
              if key not in ("before", "after", "origin")]
    origin = detail.get("origin")  # where the write came from (the CLI's OS user)
    if isinstance(origin, dict):
        lines.append(_origin_line(origin))
    return lines


def quota_params(params: Any) -> Any:
    """A quota operation's parameters with its amount as the ledger shows it: stored as an
    integer of ``1/SCALE`` of the unit (30000 for 3 公顷), it is written in the unit, with the
    unit when the parameters name the kind.

    >>> quota_params({"kind": "new_construction_land", "amount": 30000})
    {'kind': 'new_construction_land', 'amount': '3 公顷'}
    >>> quota_params({"loan_id": 82, "amount": 25000}), quota_params({"loan_id": 82})
    ({'loan_id': 82, 'amount': '2.5'}, {'loan_id': 82})
    """
    from blueprint.analysis.quota.kinds import KINDS, format_amount

    amount = params.get("amount") if isinstance(params, dict) else None
    if not isinstance(amount, int) or isinstance(amount, bool):
        return params
    kind = KINDS.get(str(params.get("kind")))
    shown = format_amount(amount)
    return params | {"amount": f"{shown} {kind.unit_zh}" if kind else shown}


def _origin_line(origin: dict[str, Any]) -> str:
    """``来源：命令行（操作系统用户 root，声明的操作人 张三）``: what is known only."""
    via = {"cli": "命令行"}.get(str(origin.get("via")), str(origin.get("via") or "—"))
    known = [f"{label} {origin[k]}" for k, label in (("os_user", "操作系统用户"),
                                                     ("declared_actor", "声明的操作人"))
             if not _empty(origin.get(k))]
    return f"来源：{via}" + (f"（{'，'.join(known)}）" if known else "")


#: What each kind of audited object is called on the page and in the CLI's table (the
#: stored ``round:3`` reads 会商轮次 3); an object of another kind is shown as stored.
OBJECT_ZH = {
    "project": "项目", "round": "会商轮次", "meeting": "联席会议事项", "report": "审查报告",
    "quota_operation": "指标操作号", "user": "用户", "department": "部门", "layer": "图层",
    "problem": "问题", "dispatch": "调度会", "meeting_item": "联席会议事项",
    "opinion": "会商意见",
}


def object_zh(obj: str) -> str:
    """An audited object as a user reads it: its kind in Chinese, then its number or name.

    >>> object_zh("round:3"), object_zh("user:王科长"), object_zh("other:1")
    ('会商轮次 3', '用户 王科长', 'other:1')
    """
    kind, sep, name = obj.partition(":")
    return f"{OBJECT_ZH[kind]} {name}" if sep and kind in OBJECT_ZH else obj


def object_cell(obj: str, project: str | None) -> str:
    """The 对象 cell: the object, and under it its project when that is another record (a
    project's own rows say its code once).

    >>> object_cell("project:LC-2026-0001", "LC-2026-0001"), object_cell("round:3", "LC-2026-0001")
    ('LC-2026-0001', '会商轮次 3\\nLC-2026-0001')
    """
    if project and obj == f"project:{project}":
        return project
    return f"{object_zh(obj)}\n{project}" if project else object_zh(obj)


def action_choices() -> dict[str, str]:
    """Every action the audit log may hold, with its Chinese name, for a filter: the named
    ones and each quota operation (``quota.<op>``)."""
    from blueprint.analysis.quota.history import OP_ZH

    return {**ACTION_ZH, **{f"quota.{op}": zh for op, zh in OP_ZH.items()}}


def check_action(action: str, where: str = "action") -> str:
    """``action`` if the audit log may hold it (:func:`action_choices`), else
    :class:`BadInput` at ``where`` saying which exist: those of its kind when the kind is
    known (``round.anwser``: the ``round.`` ones), else how many and the kinds (a filter by
    an action no code writes would find nothing, silently).

    >>> check_action("round.start")
    'round.start'
    >>> try:
    ...     check_action("round.anwser", "query.action")
    ... except BadInput as exc:
    ...     print(exc.where, exc.message_zh)
    query.action 没有操作类型“round.anwser”；round 类操作有：round.start、round.answer、...
    """
    choices = action_choices()
    if action in choices:
        return action
    kind = action.partition(".")[0]
    same = [a for a in choices if a.partition(".")[0] == kind]
    shown = action[:CODE_LEN]
    if same:
        said, said_zh = f"{kind} actions: {', '.join(same)}", \
            f"{kind} 类操作有：{'、'.join(same)}"
    else:
        kinds = list(dict.fromkeys(a.partition(".")[0] for a in choices))
        said = f"{len(choices)} actions exist, of the kinds {', '.join(kinds)} (e.g. " \
               f"{next(iter(choices))})"
        said_zh = f"操作类型共 {len(choices)} 种，以 {'、'.join(k + '.' for k in kinds)} " \
                  f"开头（如 {next(iter(choices))}）"
    raise BadInput(f"no audit action {shown!r}; {said}", where=where,
                   message_zh=f"没有操作类型“{shown}”；{said_zh}")


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
