"""Checks shared by the tracking modules: amounts, texts, dates, who may write."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from blueprint.analysis.projects.model import Project
from blueprint.analysis.quota.balances import county_name
from blueprint.analysis.tracking.model import check_record_year
from blueprint.layers.errors import BadInput, NotAllowed, NotFound
from blueprint.layers.inputs import field_zh
from blueprint.layers.schema import projects, tracking_reports
from blueprint.layers.store import Store
from blueprint.layers.users import User

WRITERS = ("nr_staff", "city_quota_manager", "county_quota_manager")


def require_reporter(user: User, project: Project, *, store: Store) -> None:
    """Project staff of the project's county (city level: any county), or the project's
    service officer; nobody else writes a project's plan, reports or problems (a refusal
    names the user's county as they know it, read from ``store`` then)."""
    if user.role == "admin" or (project.service_officer and user.name == project.service_officer
                                and user.role != "viewer"):
        return
    user.require(*WRITERS)
    if user.county and user.county != project.county:
        raise NotAllowed(f"user {user.name!r} reports only for county {user.county}, "
                         f"not {project.county}",
                         message_zh=f"用户“{user.name}”只能填报本县"
                                    f"（{county_name(user.county, store=store)}）的项目")


def require_city(user: User) -> None:
    """City-level staff only (escalated problems are the city's)."""
    user.require(*WRITERS)
    if user.county and user.role != "admin":
        raise NotAllowed(f"user {user.name!r} acts for county {user.county} only",
                         message_zh=f"用户“{user.name}”为县级用户，此操作仅限市级")


def amount(value: Any, where: str, label: str = "") -> Decimal:
    """A non-negative exact amount (万元); a refusal names the field by ``label`` (its
    Chinese name where the code alone is ambiguous) or :func:`field_zh`."""
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        number = Decimal("NaN")
    if not number.is_finite() or number < 0 or number > Decimal("1e9"):
        raise BadInput(f"{where} must be a non-negative amount in 万元, not {value!r}",
                       message_zh=f"{label or field_zh(where)}须为非负金额（万元），"
                       f"而非“{str(value)[:40]}”", where=where)
    return Decimal(format(number.normalize(), "f"))


def text(value: str | None, where: str, *, required: bool = True, limit: int = 200) -> str:
    """Stripped text, required unless told, at most ``limit`` characters."""
    out = (value or "").strip()
    if required and not out:
        raise BadInput(f"{where} is required", message_zh=f"请填写{field_zh(where)}",
                       where=where)
    if len(out) > limit or "\x00" in out:
        raise BadInput(f"{where} is longer than {limit} characters", where=where,
                       message_zh=f"{field_zh(where)}超过 {limit} 字")
    return out


def day(value: Any, where: str) -> date:
    """A date from ``YYYY-MM-DD`` (or a date), in the years records can be of."""
    if isinstance(value, date):
        found = value
    else:
        try:
            found = date.fromisoformat(str(value))
        except ValueError:
            from blueprint.analysis.clock import unreal_date

            unreal_date(str(value), where)
            raise BadInput(f"{where} must be YYYY-MM-DD, not {str(value)[:40]!r}",
                           where=where,
                           message_zh=f"{field_zh(where)}须为日期（年-月-日）") from None
    check_record_year(found.year, where)
    return found


def report_project_code(conn: sa.Connection, report_id: int) -> str:
    """The code of the project report ``report_id`` is of, or :class:`NotFound`, inside a
    transaction the caller holds."""
    code = conn.execute(sa.select(projects.c.code).join(
        tracking_reports, projects.c.id == tracking_reports.c.project_id).where(
        tracking_reports.c.id == report_id)).scalar()
    if code is None:
        raise NotFound(f"no report {report_id}", where="report",
                       message_zh=f"月报 {report_id} 不存在")
    return str(code)
