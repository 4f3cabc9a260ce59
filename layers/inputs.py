"""Bounds on text and numbers that come from users (API, pages, CLI).

The API states them in its schema (``service/api/bounds.py``); the pages and the CLI check
form fields with :func:`check_fields`. A NUL byte or another control character where it
makes no sense is refused with a clear error, never handed to the database (PostgreSQL
refuses NUL in text with an exception; SQLite would store it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from blueprint.layers.errors import BadInput

MAX_ID = 2**31 - 1
MIN_YEAR, MAX_YEAR = 2000, 2100
CODE_LEN = 64       # county codes, project codes, kinds, departments
NAME_LEN = 200      # names, units, layer names, CRS strings, idempotency keys
TEXT_LEN = 5000     # reasons, opinions, decisions

#: One line: no control character at all (C0, DEL).
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
#: A text: line breaks and tabs allowed, no other control character.
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

#: More digits than any count, id, page or length a user can mean: ``int()`` refuses over
#: 4300 digits with a ValueError (a 500), so a longer number is read as none of them.
WHOLE_DIGITS = 18


def whole(text: str) -> int | None:
    """``text`` as a whole number, or None when it is none: not decimal digits, or more of
    them than :data:`WHOLE_DIGITS`.

    >>> whole("5"), whole("05"), whole("x"), whole("-1"), whole("9" * 5000)
    (5, 5, None, None, None)
    """
    return int(text) if text.isdecimal() and len(text) <= WHOLE_DIGITS else None


_BAD_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text(value: str, where: str, *, max_len: int = TEXT_LEN,
               label: str | None = None) -> str:
    """``value`` unchanged, or :class:`BadInput` naming ``where`` for a control character
    (line breaks and tabs are fine) or a text longer than ``max_len``; ``label``: the
    field as a person knows it, for the Chinese half (a page's form), else ``where``.

    >>> check_text("ab", "reason")
    'ab'
    >>> try:
    ...     check_text("长" * 6, "reason", max_len=5, label="事由")
    ... except BadInput as exc:
    ...     print(exc.message_zh)
    “事由”过长（6 个字符），最多 5 个
    """
    named = f"“{label}”" if label else f"{where} "
    bad = _BAD_IN_TEXT.search(value)
    if bad:
        code = f"U+{ord(bad.group()):04X}"
        raise BadInput(f"{where} contains the control character {code} at position "
                       f"{bad.start() + 1}; remove it",
                       message_zh=f"{named}含有控制字符 {code}（第 {bad.start() + 1} 个字符），"
                                  "请删除后重试", where=where)
    if len(value) > max_len:
        raise BadInput(f"{where} is {len(value)} characters long; at most {max_len}",
                       message_zh=f"{named}过长（{len(value)} 个字符），最多 {max_len} 个",
                       where=where)
    return value


def check_range(value: int, where: str, low: int, high: int, *,
                message_zh: str | None = None) -> int:
    """``value`` unchanged, or :class:`BadInput` naming ``where`` when it is not between
    ``low`` and ``high``: ids (1 to :data:`MAX_ID`), years and counts, bounded where a user
    types them as the API's schema bounds them (SQLite cannot even bind an integer beyond
    2^63; PostgreSQL would only find no such row).

    >>> check_range(2026, "--year", MIN_YEAR, MAX_YEAR)
    2026
    """
    if not low <= value <= high:
        raise BadInput(f"{value} is not between {low} and {high}", where=where,
                       message_zh=message_zh or f"{where} 须为 {low} 至 {high} 之间的整数")
    return value


def check_fields(items: Iterable[tuple[str, object]], *, long: Iterable[str] = (),
                 labels: Mapping[str, str] | None = None) -> None:
    """Check every text field of a form; the ``long`` ones (GeoJSON) only for control
    characters. ``labels``: the fields' names as a person knows them (a page's form), said
    in the Chinese half of the error (:func:`check_text`)."""
    unbounded = set(long)
    for key, value in items:
        if isinstance(value, str):
            check_text(value, key, max_len=10**8 if key in unbounded else TEXT_LEN,
                       label=(labels or {}).get(key))


# How a person knows the fields the core checks (their codes are the API's names): the
# Chinese half of an error says the label, the English half the code.
FIELD_ZH = {
    "name": "项目名称", "investment": "总投资", "responsible_unit": "责任单位",
    "service_officer": "服务专员", "owner_unit": "责任单位", "reason": "事由", "note": "备注",
    "problem": "问题描述", "decisions": "调度决定", "due_on": "办结期限",
    "funds_arrived": "到位资金", "held_on": "会议日期", "decided_on": "决定日期",
    "attendees": "参会人员",
    "demands": "要素需求", "milestones": "节点", "problems": "问题", "items": "调整事项",
}


def field_zh(where: str) -> str:
    """A field's Chinese label (:data:`FIELD_ZH`), a nested one with its key; else the code.

    >>> field_zh("investment"), field_zh("demands.land"), field_zh("items.reason"), field_zh("x")
    ('总投资', '要素需求（land）', '调整事项（reason）', 'x')
    """
    if where in FIELD_ZH:
        return FIELD_ZH[where]
    head, _, key = where.partition(".")
    return f"{FIELD_ZH[head]}（{key}）" if key and head in FIELD_ZH else where
