"""Key-project status (重点项目) from a project's attributes, Liaocheng art. 2.

Never typed by hand: computed from the investment, origin, foreign figures and libraries
against the thresholds of ``projects.toml`` (``[key_project]``).
"""

from __future__ import annotations

from dataclasses import dataclass

from blueprint.analysis.projects.config import ProjectSettings, load_settings
from blueprint.analysis.projects.model import Project


@dataclass(frozen=True)
class KeyStatus:
    """Whether a project is a key project, and why (``reasons``: codes; ``reasons_zh``)."""

    is_key: bool
    reasons: tuple[str, ...]
    reasons_zh: tuple[str, ...]


def key_status(project: Project, settings: ProjectSettings | None = None) -> KeyStatus:
    """The article-2 clauses a project meets.

    Examples
    --------
    >>> key_status(project).reasons_zh  # doctest: +SKIP
    ('新招引的投资 5 亿元以上或跨县域招商引资项目（第二条第三项）',)
    """
    settings = settings or load_settings()
    k = settings.key
    found: list[tuple[str, str]] = []
    for lib in k.libraries:
        if lib in project.tags:
            clause = "第一项" if lib == "policy_fund" else "第二项"
            found.append((f"library:{lib}", f"{settings.libraries[lib]}项目（第二条{clause}）"))
    if project.origin == "attracted" and (
            project.investment >= k.attracted_min
            or (k.attracted_cross_county and project.cross_county)):
        found.append(("attracted", f"新招引的投资 {k.attracted_min} 亿元以上或跨县域招商引资项目"
                                   "（第二条第三项）"))
    if (project.investor_type == "foreign"
            and (project.foreign_annual_usd or 0) >= k.foreign_annual_min
            and (project.foreign_cash_usd or 0) >= k.foreign_cash_min):
        found.append(("foreign", f"年度新增投资 {k.foreign_annual_min} 万美元以上、年度以现金缴付"
                                 f"注册资本 {k.foreign_cash_min} 万美元以上的重点外资项目"
                                 "（第二条第四项）"))
    if project.newly_planned and project.investment >= k.planned_min:
        found.append(("planned", f"新谋划投资 {k.planned_min} 亿元以上的重大项目（第二条第五项）"))
    return KeyStatus(bool(found), tuple(c for c, _ in found), tuple(z for _, z in found))
