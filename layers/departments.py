"""Departments that consult on projects (会商部门): data, not code.

The migration seeds the usual bureaus of a city like Liaocheng (``nr`` 自然资源和规划局,
``ee`` 生态环境局, ``drc`` 发展和改革委员会 …); a city adds its own with
:func:`add_department`. A ``department`` user belongs to exactly one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.layers.errors import BadInput, Conflict, NotFound
from blueprint.layers.schema import departments
from blueprint.layers.store import Store, write_audit

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")


@dataclass(frozen=True)
class Department:
    """A department: its code (``ee``) and Chinese name (生态环境局)."""

    code: str
    name_zh: str
    active: bool = True


def list_departments(*, store: Store, include_inactive: bool = False) -> list[Department]:
    """Every department, in the order they were seeded."""
    query = sa.select(departments).order_by(departments.c.sort, departments.c.code)
    if not include_inactive:
        query = query.where(departments.c.active.is_(True))
    with store.read() as conn:
        return [Department(r.code, r.name_zh, bool(r.active)) for r in conn.execute(query)]


def department_names(*, store: Store) -> dict[str, str]:
    """Every department's Chinese name by its code, inactive ones too (records name them)."""
    return {d.code: d.name_zh for d in list_departments(store=store, include_inactive=True)}


def get_department(conn: Connection, code: str | None) -> Department:
    """The active department ``code`` or :class:`NotFound` naming the known ones."""
    row = conn.execute(sa.select(departments).where(departments.c.code == (code or ""),
                                                    departments.c.active.is_(True))).first()
    if row is None:
        known = ", ".join(conn.execute(sa.select(departments.c.code).where(
            departments.c.active.is_(True)).order_by(departments.c.sort)).scalars())
        raise NotFound(f"unknown department {code!r}; known: {known}", where="department",
                       message_zh=f"未知的会商部门“{code or ''}”")
    return Department(row.code, row.name_zh, bool(row.active))


def add_department(code: str, name_zh: str, *, store: Store, actor: str) -> Department:
    """Add a department (code: lower-case letters, digits, ``_``; up to 20)."""
    if not _CODE.match(code or ""):
        raise BadInput(f"department code {code!r} must be 1–20 lower-case letters, digits or _",
                       message_zh="部门代码格式无效", where="code")
    if not (name_zh or "").strip():
        raise BadInput("a department needs its Chinese name", message_zh="必须填写部门名称",
                       where="name_zh")
    with store.engine.begin() as conn:
        if conn.execute(sa.select(departments.c.code).where(departments.c.code == code)).first():
            raise Conflict(f"department {code!r} exists", message_zh=f"部门“{code}”已存在")
        sort = conn.execute(sa.select(sa.func.coalesce(sa.func.max(departments.c.sort), 0))
                            ).scalar_one() + 1
        conn.execute(departments.insert().values(code=code, name_zh=name_zh.strip(), sort=sort))
        write_audit(conn, actor=actor, action="department.add", obj=f"department:{code}",
                    detail={"after": {"code": code, "name_zh": name_zh.strip()}})
    return Department(code, name_zh.strip())
