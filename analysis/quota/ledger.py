"""The double-entry ledger underneath every quota operation: accounts, balances, posting.

Every function here runs inside the caller's transaction (``conn``). Posting an entry
re-checks, in the same transaction and under the (year, kind) lock, that the debited
account and every position it touches stay at or above zero, so a bad plan can only
roll back, never leave a negative balance behind.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.counties import admin_kinds, boundary_counties
from blueprint.analysis.quota.kept_names import kept_names
from blueprint.analysis.quota.kinds import KINDS, format_amount
from blueprint.analysis.quota.tables import accounts, entries, operations
from blueprint.layers.engine.registry import backend_of
from blueprint.layers.errors import Conflict, NotFound, QuotaExceeded
from blueprint.layers.layer_info import utc
from blueprint.layers.schema import layers
from blueprint.layers.schema import projects as project_table

SOURCE, POOL, COUNTY, HOLD, PROJECT, RETIRED = (
    "source", "pool", "county", "hold", "project", "retired")
THIS_OPERATION = -1  # placeholder for the id of the operation being posted
TYPE_ZH = {SOURCE: "上级下达", POOL: "市级统筹池", COUNTY: "县级储备", HOLD: "项目预留",
           PROJECT: "项目配置", RETIRED: "核销"}


@dataclass(frozen=True)
class Account:
    """One ledger account of a year and kind."""

    id: int
    year: int
    kind: str
    type: str
    owner: str
    county: str | None
    title: str

    @property
    def code(self) -> str:
        """``pool``, ``county:371502``, ``project:P-1``, ``hold:P-1`` …"""
        return f"{self.type}:{self.owner}" if self.owner else self.type


@dataclass
class Move:
    """One planned entry: ``amount`` leaves ``debit`` and arrives in ``credit``."""

    purpose: str
    debit: Account
    credit: Account
    amount: int
    origin: Account | None = None
    hold_id: int | None = None
    loan_id: int | None = None
    reverses_id: int | None = None


def lock(conn: Connection, scopes: Iterable[tuple[int, str]]) -> None:
    """Serialise writers of the same (year, kind), in sorted order (no deadlocks), as the
    storage engine does it (advisory locks on PostGIS; BEGIN IMMEDIATE already on SQLite)."""
    backend_of(conn).lock_ledger(conn, scopes)


def _title(type_: str, owner: str, title: str | None) -> str:
    if type_ in (SOURCE, POOL, RETIRED):
        return TYPE_ZH[type_]
    return f"{title or owner} {TYPE_ZH[type_]}"


PLACEHOLDER_ACCOUNTS = "blueprint_placeholder_accounts"  # conn.info: a rehearsal's ids


@contextmanager
def placeholder_accounts(conn: Connection, ids: Iterator[int]) -> Iterator[None]:
    """Inside the block, an account :func:`get_account` opens on ``conn`` takes its id from
    ``ids`` (a rehearsal's placeholders, :func:`analysis.quota.runner.execute`), not from
    the sequence: on PostGIS a number a rolled-back transaction drew is not given back."""
    conn.info[PLACEHOLDER_ACCOUNTS] = ids
    try:
        yield
    finally:
        conn.info.pop(PLACEHOLDER_ACCOUNTS, None)  # the DBAPI connection goes back to the pool


def find_account(conn: Connection, *, year: int, kind: str, type: str, owner: str = ""
                 ) -> Account | None:
    """The account of that code, or None."""
    row = conn.execute(sa.select(accounts).where(
        accounts.c.year == year, accounts.c.kind == kind, accounts.c.type == type,
        accounts.c.owner == owner)).first()
    return _account(row) if row else None


def get_account(conn: Connection, *, year: int, kind: str, type: str, owner: str = "",
                county: str | None = None, title: str | None = None, at: datetime) -> Account:
    """The account of that code, created on first use (under the caller's lock)."""
    found = find_account(conn, year=year, kind=kind, type=type, owner=owner)
    if found:
        return found
    if title is None and type == COUNTY:
        title = _county_name(conn, owner)
    placeholders: Iterator[int] | None = conn.info.get(PLACEHOLDER_ACCOUNTS)
    conn.execute(accounts.insert().values(
        year=year, kind=kind, type=type, owner=owner, county=county,
        title=_title(type, owner, title), created_at=at,
        **({"id": next(placeholders)} if placeholders is not None else {})))
    created = find_account(conn, year=year, kind=kind, type=type, owner=owner)
    assert created is not None
    return created


def county_names(conn: Connection) -> dict[str, str]:
    """County code → name for every county a grant has named: the one list of the ledger's
    counties (quota forms, bulletins, reports, balances).

    One rule for the name, whatever the grants called it (茌平县 has been 茌平区 since
    2019): the current administrative boundary layer's name for the code
    (:func:`analysis.counties.boundary_counties`), else the name the newest grant
    recorded (:func:`granted_names`), else the code. Codes in order.

    On a connection opened for reading, the answer is kept per engine until a county
    reserve, a grant or a reversal is added or the boundary layer changes
    (:mod:`~blueprint.analysis.quota.kept_names`: one small statement a call then)."""
    admin = tuple(admin_kinds())
    return kept_names(conn, _names_marker(admin), _county_names, key=admin)


def _county_names(conn: Connection) -> dict[str, str]:
    granted = granted_names(conn)
    boundary = boundary_counties(conn) if granted else {}
    return {code: _preferred(boundary.get(code), granted[code], code)
            for code in sorted(granted)}


@functools.lru_cache(maxsize=8)
def _names_marker(admin: tuple[str, ...]) -> sa.Select[Any]:
    """One row that changes whenever :func:`county_names`' answer may: the count, newest id
    and newest time of the county reserves and of the grants and reversals (append-only
    tables), and of the administrative boundary layers (``admin``: their kinds) with the
    sum of the current ones' ids and the newest supersession (a re-import adds a row, a
    removal supersedes one). A restored backup brings back older times."""
    def grown(table: sa.Table, where: sa.ColumnElement[bool], name: str) -> sa.Subquery:
        return sa.select(sa.func.count().label(f"{name}_n"),
                         sa.func.max(table.c.id).label(f"{name}_id"),
                         sa.func.max(table.c.created_at).label(f"{name}_at")
                         ).where(where).subquery(name)

    reserves = grown(accounts, accounts.c.type == COUNTY, "reserves")
    grants = grown(operations, operations.c.op.in_(("grant", "reverse")), "grants")
    boundary = sa.select(
        sa.func.count().label("admin_n"), sa.func.max(layers.c.id).label("admin_id"),
        sa.func.sum(sa.case((layers.c.current, layers.c.id))).label("admin_current"),
        sa.func.max(layers.c.imported_at).label("admin_at"),
        sa.func.max(layers.c.superseded_at).label("admin_gone")).where(
        layers.c.kind.in_(admin), layers.c.raster_path.is_(None)).subquery("boundary")
    return (sa.select(reserves, grants, boundary)
            .select_from(reserves.join(grants, sa.true()).join(boundary, sa.true())))


def granted_names(conn: Connection) -> dict[str, str]:
    """County code → the name the newest grant recorded (the code when none named it), for
    every county that has a reserve: the name stored in a reserve account when a grant
    opened it, or the name a grant recorded in its result (``county_name``: a top-up into a
    reserve already open, or a rename; not a reversed grant's), the newer by time (an
    account before an operation of the same moment)."""
    suffix = f" {TYPE_ZH[COUNTY]}"
    named: list[tuple[datetime, int, int, str, str]] = [
        (at, 0, i, str(owner), str(title).removesuffix(suffix)) for i, owner, title, at in
        conn.execute(sa.select(accounts.c.id, accounts.c.owner, accounts.c.title,
                               accounts.c.created_at).where(accounts.c.type == COUNTY))]
    reversed_ids = sa.select(operations.c.target_id).where(
        operations.c.op == "reverse", operations.c.target_id.is_not(None))
    for i, county, result, at in conn.execute(
            sa.select(operations.c.id, operations.c.county, operations.c.result,
                      operations.c.created_at).where(
                operations.c.op == "grant", operations.c.result.like('%"county_name"%'),
                operations.c.id.not_in(reversed_ids))):
        name = json.loads(result).get("county_name")  # not a reason that quotes the key
        if name:
            named.append((at, 1, i, str(county), str(name)))
    granted: dict[str, str] = {}
    for *_, owner, name in sorted(named, key=lambda n: (utc(n[0]), n[1], n[2])):
        if name != owner:  # the newest name wins; a bare code never does
            granted[owner] = name
        else:
            granted.setdefault(owner, owner)
    return granted


def account_title(type_: str, owner: str, counties: dict[str, str],
                  project_names: dict[str, str]) -> str:
    """An account as every page, table, export and refusal names it: ``市级统筹池``,
    ``东昌府区县级储备`` (the county by :func:`county_names`' rule, ``counties``),
    ``新材料产业园项目（LC-2025-0002）项目配置`` (the project by 名称（代码）, ``project_names``:
    code → name). The title stored in the account (``东昌府区 县级储备``, ``LC-2025-0002
    项目配置``) is what its first use recorded, and is not shown."""
    if type_ not in (COUNTY, HOLD, PROJECT):
        return TYPE_ZH[type_]
    if type_ == COUNTY:
        name = counties.get(owner, owner)
        return f"{name}{TYPE_ZH[COUNTY]}" if name != owner else f"县区 {owner} {TYPE_ZH[COUNTY]}"
    project = project_names.get(owner)
    return (f"{project}（{owner}）{TYPE_ZH[type_]}" if project
            else f"项目 {owner} {TYPE_ZH[type_]}")


def reserve_title(county: str, names: dict[str, str]) -> str:
    """A county reserve's title by :func:`county_names`' rule (``names``), not the name its
    first grant stored in the account: ``茌平区县级储备``."""
    return account_title(COUNTY, county, names, {})


def project_names(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    """Project code → name, for the codes of the project library among ``codes``."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    return {str(c): str(n) for c, n in conn.execute(
        sa.select(project_table.c.code, project_table.c.name)
        .where(project_table.c.code.in_(wanted)))}


def title_of(conn: Connection, account: Account) -> str:
    """:func:`account_title` of one account, its county or project named from ``conn``."""
    if account.type == COUNTY:
        return reserve_title(account.owner, county_names(conn))
    return account_title(account.type, account.owner, {},
                         project_names(conn, [account.owner] if account.owner else []))


def _preferred(boundary: str | None, granted: str, code: str) -> str:
    return boundary if boundary and boundary != code else granted


def check_known_county(conn: Connection, county: str, where: str) -> str:
    """``county`` if a grant has named it, else :class:`NotFound` naming ``where``: a
    mistyped code must not make a new reserve (the ledger keeps every account for good)
    nor an empty operation."""
    if county not in county_names(conn):
        raise NotFound(f"county {county} has never been granted quota",
                       message_zh=f"县区“{county}”不在指标台账中（尚未下达过指标），请核对县区代码",
                       where=where)
    return county


def _county_name(conn: Connection, county: str) -> str | None:
    """The county's name by :func:`county_names`' rule, if a grant has named it."""
    name = county_names(conn).get(county)
    return None if name == county else name


def account_by_id(conn: Connection, account_id: int) -> Account:
    """The account with that id."""
    return _account(conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).one())


def _account(row: sa.Row) -> Account:
    return Account(id=row.id, year=row.year, kind=row.kind, type=row.type, owner=row.owner,
                   county=row.county, title=row.title)


def balance(conn: Connection, account_id: int) -> int:
    """Credits minus debits of one account, in integer units."""
    delta = sa.case((entries.c.credit_id == account_id, entries.c.amount),
                    else_=-entries.c.amount)
    value = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(delta), 0)).where(
        sa.or_(entries.c.credit_id == account_id, entries.c.debit_id == account_id))).scalar()
    return int(value or 0)


def origin_positions(conn: Connection, account_id: int) -> dict[int, int]:
    """For a hold or project account: what it holds, per account it came from."""
    delta = sa.case((entries.c.credit_id == account_id, entries.c.amount),
                    else_=-entries.c.amount)
    rows = conn.execute(sa.select(entries.c.origin_id, sa.func.sum(delta)).where(
        sa.or_(entries.c.credit_id == account_id, entries.c.debit_id == account_id))
        .group_by(entries.c.origin_id)).all()
    return {int(o): int(v) for o, v in rows if o is not None}


def hold_positions(conn: Connection, hold_ids: Iterable[int], *,
                   until: datetime | None = None, account_ids: Collection[int] | None = None
                   ) -> list[tuple[int, int, int, int]]:
    """``(hold_id, hold account id, origin id, outstanding)`` of the given holds (from the
    entries posted up to ``until`` when given; only the positions whose hold account or
    origin is one of ``account_ids`` when given)."""
    ids = list(hold_ids)
    if not ids:
        return []
    credit = accounts.alias("credit")
    delta = sa.case((credit.c.type == HOLD, entries.c.amount), else_=-entries.c.amount)
    hold_account = sa.case((credit.c.type == HOLD, entries.c.credit_id),
                           else_=entries.c.debit_id)
    rows = conn.execute(
        sa.select(entries.c.hold_id, sa.func.max(hold_account), entries.c.origin_id,
                  sa.func.sum(delta))
        .join(credit, credit.c.id == entries.c.credit_id)
        .where(entries.c.hold_id.in_(ids),
               entries.c.created_at <= until if until is not None else sa.true(),
               sa.or_(hold_account.in_(sorted(account_ids)), entries.c.origin_id.in_(
                   sorted(account_ids))) if account_ids is not None else sa.true())
        .group_by(entries.c.hold_id, entries.c.origin_id)
        .order_by(entries.c.hold_id, entries.c.origin_id)).all()
    return [(int(h), int(a), int(o), int(v)) for h, a, o, v in rows]


def loan_outstanding(conn: Connection, loan_id: int, lender_id: int) -> int:
    """Lent minus repaid of one loan."""
    delta = sa.case((entries.c.debit_id == lender_id, entries.c.amount),
                    else_=-entries.c.amount)
    value = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(delta), 0))
                         .where(entries.c.loan_id == loan_id)).scalar()
    return int(value or 0)


def post(conn: Connection, moves: list[Move], *, operation_id: int, at: datetime,
         entry_ids: Iterator[int] | None = None) -> list[int]:
    """Insert the entries of one operation and check that nothing went below zero: the
    debited account after each entry, then the positions of the holds, loans and origins
    they touch (:class:`QuotaExceeded` or :class:`Conflict`).

    ``entry_ids``: the ids the entries take instead of the sequence's (a rehearsal's
    placeholders, :func:`analysis.quota.runner.execute`, so that a rolled-back rehearsal
    uses up no 分录号 on PostGIS)."""
    ids = []
    for i, move in enumerate(moves):
        hold_id = operation_id if move.hold_id == THIS_OPERATION else move.hold_id
        loan_id = operation_id if move.loan_id == THIS_OPERATION else move.loan_id
        given = {"id": next(entry_ids)} if entry_ids is not None else {}
        ids.append(conn.execute(entries.insert().values(
            operation_id=operation_id, year=move.debit.year, kind=move.debit.kind,
            purpose=move.purpose, debit_id=move.debit.id, credit_id=move.credit.id,
            amount=move.amount, origin_id=move.origin.id if move.origin else None,
            hold_id=hold_id, loan_id=loan_id, reverses_id=move.reverses_id, created_at=at,
            **given).returning(entries.c.id)).scalar_one())
        if i == 0:
            _test_pause()
        _check_account(conn, move.debit)
    _check_positions(conn, moves, operation_id)
    return ids


def _check_account(conn: Connection, account: Account) -> None:
    if account.type == SOURCE:
        return
    left = balance(conn, account.id)
    if left < 0:
        kind = KINDS[account.kind]
        raise QuotaExceeded(
            f"{account.code} ({account.year} {account.kind}) would go below zero "
            f"by {format_amount(-left)} {kind.unit}",
            where=f"{account.year}/{account.kind}/{account.code}",
            message_zh=f"{account.year} 年度{title_of(conn, account)}的{kind.title}余额不足，"
                       f"缺口 {kind.text(-left)}")


def _check_positions(conn: Connection, moves: list[Move], operation_id: int) -> None:
    holds = {operation_id if m.hold_id == THIS_OPERATION else m.hold_id
             for m in moves if m.hold_id is not None}
    if any(v < 0 for *_, v in hold_positions(conn, [h for h in holds if h is not None])):
        raise Conflict("a hold would be released or used more than once",
                       message_zh="预留指标已被释放或使用，不能重复操作")
    for m in moves:
        if m.loan_id not in (None, THIS_OPERATION) and loan_outstanding(
                conn, int(m.loan_id), _lender_of(conn, int(m.loan_id))) < 0:
            raise Conflict(f"loan {m.loan_id} would be repaid more than was lent",
                           message_zh="归还数量超过借出未还数量")
        for acct in (m.debit, m.credit):
            if acct.type in (HOLD, PROJECT) and any(
                    v < 0 for v in origin_positions(conn, acct.id).values()):
                raise Conflict(f"{acct.code} would give back more than it received",
                               message_zh=f"{title_of(conn, acct)}退回的指标超过其获得的指标")


def _lender_of(conn: Connection, loan_id: int) -> int:
    row = conn.execute(sa.select(entries.c.debit_id).where(
        entries.c.operation_id == loan_id, entries.c.loan_id == loan_id)
        .order_by(entries.c.id).limit(1)).first()
    if row is None:
        raise Conflict(f"operation {loan_id} is not a loan", message_zh="借出记录不存在")
    return int(row[0])


def _test_pause() -> None:
    """Test hook: ``BLUEPRINT_TEST_PAUSE_IN_TX=seconds`` sleeps after the first entry, so a
    test can kill the process inside the transaction."""
    pause = os.environ.get("BLUEPRINT_TEST_PAUSE_IN_TX")
    if pause:
        sys.stderr.write("BLUEPRINT_TEST_PAUSED\n")
        sys.stderr.flush()
        time.sleep(float(pause))
