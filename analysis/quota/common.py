"""Checks and helpers shared by the quota operations: input, scope, drawing from reserves."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.quota.balances import county_namer
from blueprint.analysis.quota.kinds import QuotaKind, format_amount
from blueprint.analysis.quota.ledger import (
    COUNTY,
    HOLD,
    POOL,
    PROJECT,
    Account,
    balance,
    county_names,
    get_account,
    title_of,
)
from blueprint.analysis.quota.tables import accounts
from blueprint.layers.errors import BadInput, Conflict, NotFound, QuotaExceeded
from blueprint.layers.schema import projects
from blueprint.layers.store import Store
from blueprint.layers.users import User

CITY = "city_quota_manager"
COUNTY_MANAGER = "county_quota_manager"
_CODE = re.compile(r"^[0-9A-Za-z_-]{1,12}$")
_PROJECT = re.compile(r"^[^\s:][^:]{0,119}$")


def check_year(year: int) -> int:
    """A plausible quota year."""
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise BadInput(f"year {year!r} is not between 2000 and 2100", message_zh="年度无效",
                       where="year")
    return year


def check_county(county: str | None, what: str = "county") -> str:
    """A county code such as ``371502``."""
    value = (county or "").strip()
    if not _CODE.match(value):
        raise BadInput(f"{what} {county!r} is not a county code (letters, digits, up to 12)",
                       message_zh=f"县区代码“{county or ''}”无效", where=what)
    return value


def check_project(project: str | None) -> str:
    """A project code: 1–120 characters, no colon."""
    value = (project or "").strip()
    if not _PROJECT.match(value):
        raise BadInput(f"project {project!r} is not a valid project code",
                       message_zh=f"项目编号“{project or ''}”无效", where="project")
    return value


def require_city(user: User) -> None:
    """City-level quota managers (or admins) only."""
    user.require(CITY)


def require_county(user: User, county: str, *, store: Store) -> None:
    """Quota managers of ``county``, or city level (a refusal names the manager's county
    as they know it, read from ``store`` then)."""
    user.require(CITY, COUNTY_MANAGER, county=county, named=county_namer(store))


def project_county(conn: Connection, project: str) -> str | None:
    """The county a project's accounts belong to, if it has any."""
    row = conn.execute(sa.select(accounts.c.county).where(
        accounts.c.type.in_((HOLD, PROJECT)), accounts.c.owner == project).limit(1)).first()
    return row[0] if row else None


#: The stage of a project taken out of the library (``analysis.projects.model.EXITED``;
#: not imported: the project package imports this module).
_EXITED = "exited"


def _project_row(conn: Connection, project: str, *, share: bool = False) -> sa.Row | None:
    query = sa.select(projects.c.county, projects.c.stage).where(projects.c.code == project)
    return conn.execute(query.with_for_update(read=True) if share else query).first()


def share_project(project: str) -> Callable[[Connection], None]:
    """A row lock (``FOR SHARE`` on PostgreSQL; SQLite writers are serialised) on the
    project ``project``, taken before the scope locks as a project's exit takes them: a
    hold or allocation and the exit of its project then run one after the other."""
    def first(conn: Connection) -> None:
        _project_row(conn, project, share=True)
    return first


def guard_project(conn: Connection, project: str, county: str) -> None:
    """Quota goes only to a real project (``projects`` table) of ``county`` that has not
    left the library (调出), and a project's accounts stay in one county for ever."""
    row = _project_row(conn, project)
    if row is None:
        raise NotFound(f"project {project!r} is not in the project library; register it "
                       "first (blueprint projects create)",
                       message_zh=f"项目“{project}”不在项目库中，请先登记项目",
                       where="project")
    if row.county != county:
        _other_county(conn, project, row.county, county)
    if row.stage == _EXITED:
        raise Conflict(f"project {project!r} has left the project library (exited); it "
                       "cannot hold or be allocated quota",
                       message_zh=f"项目“{project}”已调出项目库，不能再预留或配置指标",
                       where="project")
    guard_project_county(conn, project, county)


def has_exited(conn: Connection, project: str) -> bool:
    """Whether ``project`` is a project of the library that has left it (调出)."""
    row = _project_row(conn, project)
    return row is not None and row.stage == _EXITED


def guard_project_county(conn: Connection, project: str, county: str) -> None:
    """A project belongs to one county for ever."""
    known = project_county(conn, project)
    if known is not None and known != county:
        _other_county(conn, project, known, county)


def _other_county(conn: Connection, project: str, known: str, county: str) -> NoReturn:
    """Refuse quota of ``county`` for a project of county ``known``, naming both counties
    as a manager knows them (东昌府区（371502）), the ledger's names."""
    names = county_names(conn)

    def named(code: str) -> str:
        name = names.get(code, code)
        return f"{name}（{code}）" if name != code else f"县区 {code}"

    raise Conflict(f"project {project!r} belongs to county {known}, not {county}",
                   message_zh=f"项目“{project}”属于{named(known)}，不属于{named(county)}",
                   where="project")


def reserves(conn: Connection, year: int, kind: str, county: str, at: datetime
             ) -> tuple[Account, Account]:
    """``(county reserve, city pool)`` accounts of a year and kind."""
    return (get_account(conn, year=year, kind=kind, type=COUNTY, owner=county, county=county,
                        at=at),
            get_account(conn, year=year, kind=kind, type=POOL, at=at))


def draw(conn: Connection, kind: QuotaKind, units: int, county: Account, pool: Account,
         *, from_pool: bool) -> list[tuple[Account, int]]:
    """Take ``units`` from the county reserve, the shortfall from the pool if allowed."""
    own = balance(conn, county.id)
    take = min(own, units)
    parts = [(county, take)] if take else []
    short = units - take
    title = title_of(conn, county)
    if short and from_pool:
        pooled = balance(conn, pool.id)
        if pooled >= short:
            return parts + [(pool, short)]
        raise QuotaExceeded(
            f"county {county.owner} has {format_amount(own)} and the pool "
            f"{format_amount(pooled)} {kind.unit} of {kind.code}; {format_amount(units)} needed",
            where=f"{county.year}/{kind.code}",
            message_zh=f"{title}可用 {kind.text(own)}，市级统筹池可用 "
                       f"{kind.text(pooled)}，合计不足 {kind.text(units)}")
    if short:
        hint = "；缺口可由市级要素保障管理员从市级统筹池调剂" if balance(conn, pool.id) >= short \
            else ""
        raise QuotaExceeded(
            f"county {county.owner} has {format_amount(own)} {kind.unit} of {kind.code}; "
            f"{format_amount(units)} needed",
            where=f"{county.year}/{kind.code}",
            message_zh=f"{title}{kind.title}可用 {kind.text(own)}，不足 "
                       f"{kind.text(units)}{hint}")
    return parts
