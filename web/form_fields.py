"""The text fields of a page's form, checked as every form's are (:func:`check_fields`: no
control character, no text over its length), refused as a page.

A field refused here is a :class:`FormFieldRefused`, which the pages' handler
(:func:`~blueprint.web.session.install_form_refused`) answers with the error page in
Chinese, the field named as the form labels it, with the way back and the status of the
service's one table (422), never the API's JSON; the API's routes, which check their bodies
by their schema, keep their JSON answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from blueprint.layers.errors import BadInput
from blueprint.layers.inputs import FIELD_ZH, check_fields

#: The pages' form fields as their labels name them (a page whose label differs passes its
#: own, e.g. 用户名 for ``name`` on the sign-in form); a field not here is named by its code.
FORM_FIELD_ZH: dict[str, str] = {
    **FIELD_ZH,
    "action": "操作类型", "actor": "操作人", "again": "再次输入新密码", "amount": "数量",
    "answer": "意见", "attendees": "参会人员", "borrower": "借入县区", "code": "项目编号",
    "colour": "状态", "condition": "条件范围", "county": "县区", "crs": "坐标系",
    "current": "当前密码", "decision": "决定", "department": "会商部门", "due": "归还期限",
    "expires": "预留至", "foreign_annual_usd": "年度实际使用外资",
    "foreign_cash_usd": "年度外资现汇进资", "funds_arrived": "本月到位资金",
    "industry": "行业", "investment": "总投资", "investor_type": "投资主体", "kind": "指标类型",
    "lender": "借出县区", "level": "管理层级", "library": "项目库", "loan_id": "拆借编号",
    "meeting_date": "会议日期", "month": "月份", "name": "项目名称", "new": "新密码",
    "note": "备注", "op": "操作", "operation_id": "操作号", "origin": "项目来源",
    "outcome": "会商结果", "password": "密码", "period_days": "会商期限", "problems": "问题",
    "project": "项目编号", "reason": "事由", "responsible_unit": "责任单位",
    "service_officer": "服务专员", "since": "起始日期", "site": "项目地块", "stage": "阶段",
    "tag": "项目库", "tags": "项目库", "text": "意见内容", "until": "截止日期", "year": "年度",
}


class FormFieldRefused(BadInput):
    """A field of a page's form that :func:`check_fields` refused: answered as a page."""


def check_form(form: Any, *, long: Iterable[str] = (),
               labels: Mapping[str, str] | None = None) -> None:
    """Check the text fields of a posted page ``form`` (``long``: GeoJSON fields, checked
    for control characters only); a refusal names the field as the form's label does
    (:data:`FORM_FIELD_ZH`, then ``labels``)."""
    try:
        check_fields(form.multi_items(), long=long, labels={**FORM_FIELD_ZH, **(labels or {})})
    except BadInput as exc:
        raise FormFieldRefused(exc.message, message_zh=exc.message_zh,
                               where=exc.where) from None
