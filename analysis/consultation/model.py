"""A consultation round (会商轮次) and its state machine; departments' opinions.

Round states: ``open`` (会商中) → ``agreed`` (every department agreed, with or without
conditions: the project enters the reserve) | ``rejected`` (a 不同意: the project goes back
to 策划生成 to be revised, then a new round) | ``referred`` (on the joint meeting's
problem list) → ``decided``; ``open``/``referred`` → ``cancelled`` when the project exits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from blueprint.analysis.clock import today_cn
from blueprint.layers.errors import BadInput, IllegalTransition, NotAllowed
from blueprint.layers.users import User

OPEN, AGREED, REJECTED, REFERRED, DECIDED, CANCELLED = (
    "open", "agreed", "rejected", "referred", "decided", "cancelled")
ROUND_STATUS_ZH = {OPEN: "会商中", AGREED: "会商通过", REJECTED: "未通过，修改后重新会商",
                   REFERRED: "已提交联席会议", DECIDED: "联席会议已决定", CANCELLED: "已撤销"}
ROUND_TRANSITIONS = {OPEN: {AGREED, REJECTED, REFERRED, CANCELLED},
                     REFERRED: {DECIDED, CANCELLED}}

AGREE, CONDITIONAL, DISAGREE = "agree", "conditional", "disagree"
ANSWER_ZH = {AGREE: "同意", CONDITIONAL: "有条件同意", DISAGREE: "不同意"}
# what the text of each kind of answer must say (English, Chinese): every answer has one,
# as it stands as the preliminary-review opinion (预审意见, art. 12) once the round agrees
TEXT_NEEDED = {
    AGREE: ("states the opinion (it becomes the preliminary-review opinion)",
            "审核意见（将作为正式预审意见；没有其他意见时可写“同意。”）"),
    CONDITIONAL: ("states its conditions", "所附的条件"),
    DISAGREE: ("states its reasons", "不同意的理由"),
}
TEXT_LABEL_ZH = "“意见内容”"  # the text's field as the inbox page's form shows it


def answer_text(answer: str, text: str | None, *, where: str = "text") -> str:
    """The text of an answer of kind ``answer`` (one of :data:`ANSWER_ZH`), stripped; a
    blank one is refused saying what that kind of answer must state and where: ``where``
    (``text`` on the API, ``--text`` on the CLI) and, on a page, the form's field.

    >>> answer_text("disagree", " ")
    Traceback (most recent call last):
    ...
    blueprint.layers.errors.BadInput: text: text is required: a disagree answer states its reasons
    """
    if (text or "").strip():
        return str(text).strip()
    need_en, need_zh = TEXT_NEEDED[answer]
    said = f"选择“{ANSWER_ZH[answer]}”时必须写明{need_zh}，请在"
    raise BadInput(f"{where} is required: a{'n' * (answer == AGREE)} {answer} answer "
                   f"{need_en}", where=where, message_zh=f"{said} {where} 中填写",
                   page_zh=f"{said}{TEXT_LABEL_ZH}中填写")


def round_heading_zh(number: int, latest: int, status: str = OPEN) -> str:
    """How round ``number``'s opinions are headed, on the project page and in the 初审意见书
    alike, ``latest`` the project's newest round and ``status`` this round's: an earlier
    round's opinions are not in force and say so; nor are those of the newest round once
    it closed for revision (``rejected``: the project is revised and consulted again, the
    next round not yet started), which is not headed 最新一轮 as if they stood, nor those of
    a round cancelled when the project left the library (``cancelled``).

    >>> [round_heading_zh(n, 2) for n in (2, 1)]
    ['第 2 轮征求意见（最新一轮）', '第 1 轮征求意见（前轮意见，以第 2 轮为准）']
    >>> round_heading_zh(1, 1)
    '第 1 轮征求意见'
    >>> round_heading_zh(2, 2, REJECTED)
    '第 2 轮征求意见（未通过，待修改后重新征求意见）'
    >>> round_heading_zh(2, 2, CANCELLED)
    '第 2 轮征求意见（已撤销）'
    """
    if number < latest:
        return f"第 {number} 轮征求意见（前轮意见，以第 {latest} 轮为准）"
    if status == REJECTED:
        return f"第 {number} 轮征求意见（未通过，待修改后重新征求意见）"
    if status == CANCELLED:  # the project left the library with the round open
        return f"第 {number} 轮征求意见（已撤销）"
    return f"第 {number} 轮征求意见" + ("（最新一轮）" if number > 1 else "")


def round_style(number: int, latest: int, status: str) -> str:
    """The class round ``number``'s heading and opinions are styled with, in the 初审意见书
    and on the project page alike, as :func:`round_heading_zh` heads them (``latest`` the
    project's newest round, ``status`` this round's): ``latest`` for the newest round's
    opinions (in force, or being given), ``earlier`` for a round the newest supersedes,
    ``round-rejected`` for the newest closed for revision (未通过，待修改后重新征求意见) and
    ``round-cancelled`` for the newest cancelled when the project left the library
    (已撤销): neither stands.

    >>> [round_style(2, 2, "open"), round_style(1, 2, "rejected"), round_style(2, 2, "rejected")]
    ['latest', 'earlier', 'round-rejected']
    >>> round_style(2, 2, CANCELLED)
    'round-cancelled'
    """
    if number < latest:
        return "earlier"
    return {REJECTED: "round-rejected", CANCELLED: "round-cancelled"}.get(status, "latest")


def check_round(rnd: ConsultationRound, to: str) -> None:
    """Raise :class:`IllegalTransition` unless the round may become ``to``; said as its users
    know it (the project's code and the round's number, not its row id)."""
    if to in ROUND_TRANSITIONS.get(rnd.status, set()):
        return
    raise IllegalTransition(
        f"consultation round {rnd.id} is {rnd.status}: it cannot become {to}",
        message_zh=f"项目“{rnd.project}”第 {rnd.number} 轮会商状态为"
                   f"“{ROUND_STATUS_ZH[rnd.status]}”，不能变为“{ROUND_STATUS_ZH[to]}”",
        where="round")


def require_open(rnd: ConsultationRound) -> None:
    """Raise unless the round is open (departments may be changed and may answer); said
    as its users know it: the project's code and the round's number, not its row id."""
    if rnd.status != OPEN:
        raise IllegalTransition(
            f"consultation round {rnd.id} is {rnd.status}, not open",
            message_zh=f"项目“{rnd.project}”第 {rnd.number} 轮会商已结束"
                       f"（{ROUND_STATUS_ZH[rnd.status]}），不能再办理此事项",
            where="round")


def own_county(user: User, county: str | None) -> bool:
    """Whether a ``department`` user may act on a round of a project of ``county``: a user
    tied to a county (a county bureau, e.g. 生态环境局阳谷县分局) only on its county's
    projects; a city-level one (no county) on every county's."""
    return not user.county or county == user.county


def require_own_county(user: User, county: str | None,
                       names: Mapping[str, str] | None = None) -> None:
    """Raise :class:`NotAllowed` unless :func:`own_county`; said with the county's name
    (``names``: code → name, e.g. ``analysis.quota.balances.counties_known``), else its
    code."""
    if not own_county(user, county):
        own = (names or {}).get(user.county or "") or user.county
        other = (names or {}).get(county or "") or county
        raise NotAllowed(f"user {user.name!r} answers only for county {user.county}, "
                         f"not {county}",
                         message_zh=f"用户“{user.name}”只能答复本县（{own}）项目的会商，"
                                    f"该项目属于{other}")


@dataclass(frozen=True)
class Opinion:
    """One answer of a department; ``amends_id`` is the answer it amends (kept on record);
    ``condition`` a shapely geometry in EPSG:4490 or None."""

    id: int
    department: str
    answer: str
    text: str
    condition: Any
    author: str
    at: datetime
    amends_id: int | None

    @property
    def answer_zh(self) -> str:
        """同意 / 有条件同意 / 不同意."""
        return ANSWER_ZH[self.answer]


@dataclass(frozen=True)
class Assignment:
    """A department in a round: its working-day deadline, why it is there, its answers."""

    department: str
    name_zh: str
    deadline: date
    how: str  # rule | manual
    why: list[str]
    removed: bool
    removed_reason: str | None
    opinions: list[Opinion] = field(default_factory=list)  # oldest first
    removed_at: datetime | None = None  # when it was last removed, kept once added again

    def counted(self, opinion: Opinion) -> bool:
        """Whether ``opinion`` counts: given since the department was last removed from the
        round (a department removed and added again answers anew; what it said before is
        kept on record but no longer counts)."""
        return self.removed_at is None or opinion.at > self.removed_at

    @property
    def current(self) -> Opinion | None:
        """The department's answer in force (the latest that :meth:`counted`), or None."""
        last = self.opinions[-1] if self.opinions else None
        return last if last is not None and self.counted(last) else None

    def answered_late(self, opinion: Opinion) -> bool:
        """True when ``opinion`` was given after this department's deadline (a China
        calendar day later): an answer that still counts, marked 逾期答复 for the record."""
        return today_cn(opinion.at) > self.deadline


@dataclass(frozen=True)
class ConsultationRound:
    """A round of consultation on a project."""

    id: int
    project: str
    number: int
    status: str
    site_version: int
    report_id: int | None
    period_days: int
    started_on: date
    started_at: datetime
    started_by: str
    closed_at: datetime | None
    close_reason: str | None
    assignments: list[Assignment]

    @property
    def status_zh(self) -> str:
        """The status in Chinese."""
        return ROUND_STATUS_ZH[self.status]

    @property
    def active(self) -> list[Assignment]:
        """Departments still in the round (not removed)."""
        return [a for a in self.assignments if not a.removed]
