"""Quota operations on reserves and projects: grant, hold, release, expire, allocate, retire.

Every operation takes the acting ``user``, an idempotency ``key`` and a ``reason``, runs
as one transaction (see :mod:`analysis.quota.runner`) and returns its result as a dict:
``operation_id``, what was done and the entries posted (amounts as exact decimal text).
Those a page confirms first (hold, allocate; lend, repay, reclaim, reverse elsewhere) take
``rehearse=True``: everything but the writing, so the refusal comes before the
confirmation (see :func:`analysis.quota.runner.execute`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from blueprint.analysis.clock import china_time, end_of_day_utc, iso_utc, now_utc
from blueprint.analysis.quota import holds
from blueprint.analysis.quota.common import (
    COUNTY_MANAGER,
    check_county,
    check_project,
    check_year,
    draw,
    guard_project,
    require_city,
    require_county,
    reserves,
    share_project,
)
from blueprint.analysis.quota.kinds import format_amount, resolve_kind, split_grant, to_units
from blueprint.analysis.quota.ledger import (
    COUNTY,
    HOLD,
    POOL,
    PROJECT,
    RETIRED,
    SOURCE,
    THIS_OPERATION,
    Move,
    account_by_id,
    check_known_county,
    find_account,
    get_account,
    granted_names,
)
from blueprint.analysis.quota.runner import Plan, Planner, Request, execute
from blueprint.layers.errors import BadInput, Conflict, NotFound
from blueprint.layers.store import Store
from blueprint.layers.users import User


def grant(*, year: int, kind: str, county: str, amount: Decimal | str, user: User,
          reason: str, key: str, store: Store, county_name: str | None = None,
          at: datetime | None = None) -> dict[str, Any]:
    """Grant a county's yearly quota: the pool share (30 %) to the city pool, the rest to
    the county reserve. The pool piece is rounded down; the pieces add up to ``amount``."""
    request, plan = grant_job(year=year, kind=kind, county=county, amount=amount, user=user,
                              reason=reason, key=key, county_name=county_name, at=at)
    return execute(request, plan, store=store)


def grant_job(*, year: int, kind: str, county: str, amount: Decimal | str, user: User,
              reason: str, key: str, county_name: str | None = None,
              at: datetime | None = None) -> tuple[Request, Planner]:
    """A checked grant, not yet run: ``(request, planner)`` for the runner (several grants
    can then run in one transaction, see :func:`analysis.quota.runner.run_many`)."""
    require_city(user)
    year, k, county, units = check_year(year), resolve_kind(kind), check_county(county), \
        to_units(amount)
    at, name = now_utc(at), (county_name or "").strip() or None

    def plan(conn: Any) -> Plan:
        known = granted_names(conn).get(county)
        topped_up = find_account(conn, year=year, kind=k.code, type=COUNTY,
                                 owner=county) is not None
        source = get_account(conn, year=year, kind=k.code, type=SOURCE, at=at)
        reserve = get_account(conn, year=year, kind=k.code, type=COUNTY, owner=county,
                              county=county, title=name, at=at)
        pool = get_account(conn, year=year, kind=k.code, type=POOL, at=at)
        to_pool, to_county = split_grant(k, units)
        moves = [Move("grant", source, acct, part)
                 for acct, part in ((pool, to_pool), (reserve, to_county)) if part]
        share = Decimal(k.pool_share.numerator) / Decimal(k.pool_share.denominator)
        named = _named(known, name, county, topped_up=topped_up)
        return Plan(moves, {"year": year, "kind": k.code, "county": county,
                            "amount": format_amount(units), "unit": k.unit,
                            "pool_share": str(share), "to_pool": format_amount(to_pool),
                            "to_county": format_amount(to_county)} | named, audit=named)

    params = {"year": year, "kind": k.code, "county": county, "amount": units}
    request = Request("grant", key, user, reason, params, [(year, k.code)], at,
                      row={"year": year, "kind": k.code, "county": county, "amount": units})
    return request, plan


def _named(known: str | None, name: str | None, county: str, *, topped_up: bool
           ) -> dict[str, str]:
    """The county's name as a grant records it in its result and audit row: ``county_name``
    when it names the county and either tops up a reserve already open (追加下达: the
    account keeps the title its first grant gave it) or renames the county (茌平县 → 茌平区:
    ``renamed_from``, the name the grants before it gave). The newest grant's name is the
    ledger's from then on (:func:`~blueprint.analysis.quota.ledger.granted_names`)."""
    if name is None or name == county:
        return {}
    renamed = {"renamed_from": known} if known not in (None, county, name) else {}
    return {"county_name": name, **renamed} if topped_up or renamed else {}


def _expiry(expires: date | datetime | None) -> datetime | None:
    """When a hold ends, in UTC: a date at the end of that day in China, an exact time as
    given (a time without a zone is China time)."""
    if expires is None:
        return None
    return china_time(expires) if isinstance(expires, datetime) else end_of_day_utc(expires)


def _check_future(expires_at: datetime | None, at: datetime) -> None:
    """A new hold must end in the future (checked after the idempotency lookup, so that a
    replay after the expiry still returns the first result)."""
    if expires_at is not None and expires_at <= at:
        raise BadInput(f"the hold would expire at {iso_utc(expires_at)}, which is not in "
                       "the future", message_zh="预留到期时间必须晚于当前时间", where="expires")


def hold(*, year: int, kind: str, county: str, project: str, amount: Decimal | str,
         user: User, reason: str, key: str, store: Store,
         expires: date | datetime | None = None, from_pool: bool = False,
         at: datetime | None = None, rehearse: bool = False) -> dict[str, Any]:
    """Hold quota for a project under review (from the county reserve; the shortfall from
    the city pool only with ``from_pool`` by city level). ``project`` is the code of a
    project of ``county`` in the project library, not exited (else :class:`NotFound` or
    :class:`Conflict`, and nothing is written). A date ``expires`` ends at
    midnight China time, an exact time as given (without a zone: China time); an expired
    hold stops counting."""
    year, k, county = check_year(year), resolve_kind(kind), check_county(county)
    project, units, at = check_project(project), to_units(amount), now_utc(at)
    require_county(user, county, store=store)
    if from_pool:
        require_city(user)
    expires_at = _expiry(expires)

    def plan(conn: Any) -> Plan:
        _check_future(expires_at, at)
        guard_project(conn, project, county)
        reserve, pool = reserves(conn, year, k.code, county, at)
        account = get_account(conn, year=year, kind=k.code, type=HOLD, owner=project,
                              county=county, at=at)
        parts = draw(conn, k, units, reserve, pool, from_pool=from_pool)
        moves = [Move("hold", src, account, part, origin=src, hold_id=THIS_OPERATION)
                 for src, part in parts]
        return Plan(moves, _drawn_info(year, k.code, county, project, units, parts) |
                    {"expires_at": iso_utc(expires_at) if expires_at else None})

    params = {"year": year, "kind": k.code, "county": county, "project": project,
              "amount": units, "expires": expires_at, "from_pool": from_pool}
    request = Request("hold", key, user, reason, params, [(year, k.code)], at,
                      row={"year": year, "kind": k.code, "county": county,
                           "project": project, "amount": units, "expires_at": expires_at},
                      first=share_project(project))
    return execute(request, plan, store=store, rehearse=rehearse)


def _drawn_info(year: int, kind: str, county: str, project: str, units: int,
                parts: list[Any], from_holds: int = 0) -> dict[str, Any]:
    by_type = {COUNTY: 0, POOL: 0}
    for account, part in parts:
        by_type[account.type] += part
    return {"year": year, "kind": kind, "county": county, "project": project,
            "amount": format_amount(units), "from_holds": format_amount(from_holds),
            "from_county": format_amount(by_type[COUNTY]),
            "from_pool": format_amount(by_type[POOL])}


def release(*, hold_id: int, user: User, reason: str, key: str, store: Store,
            at: datetime | None = None) -> dict[str, Any]:
    """Release what is left of a hold back to where it came from."""
    at = now_utc(at)
    with store.read() as conn:
        the_hold = holds.get_hold(conn, hold_id)
    require_county(user, the_hold.county, store=store)

    def plan(conn: Any) -> Plan:
        held = holds.positions(conn, [the_hold])
        if not held:
            raise Conflict(f"hold {hold_id} has nothing left (released, used or expired)",
                           message_zh=f"预留 {hold_id} 已释放、已使用或已到期", where="hold_id")
        total = sum(p.amount for p in held)
        return Plan(holds.release_moves(conn, held, "release"),
                    {"hold_id": hold_id, "year": the_hold.year, "kind": the_hold.kind,
                     "county": the_hold.county, "project": the_hold.project,
                     "amount": format_amount(total)})

    request = Request("release", key, user, reason, {"hold_id": hold_id},
                      [(the_hold.year, the_hold.kind)], at,
                      row={"year": the_hold.year, "kind": the_hold.kind,
                           "county": the_hold.county, "project": the_hold.project,
                           "target_id": hold_id})
    return execute(request, plan, store=store)


def expire_holds(*, user: User, reason: str, key: str, store: Store,
                 county: str | None = None, year: int | None = None,
                 at: datetime | None = None) -> dict[str, Any]:
    """Release every hold that has expired (a county manager: their county's only, and
    naming another county is refused; a county no grant named, a city-level user's
    mistyped code or a county manager's own county before its first grant, is not found:
    no empty operation; ``year``: only that year's). With none due nothing is recorded
    (no operation, no audit row; the key stays unused): the result's ``operation_id`` is
    None and ``expired_holds`` empty."""
    user.require("city_quota_manager", COUNTY_MANAGER)
    named = check_county(county) if county is not None else None
    year = check_year(year) if year is not None else None
    if named is not None:
        require_county(user, named, store=store)
    county = user.county if not user.is_city_level else named
    at = now_utc(at)
    with store.read() as conn:
        if county is not None:  # named, or a county manager's own
            check_known_county(conn, county, "county")
        scopes = sorted({(p.hold.year, p.hold.kind)
                         for p in holds.due_positions(conn, at=at, county=county, year=year)})

    def plan(conn: Any) -> Plan:
        due = holds.due_positions(conn, at=at, scopes=scopes, county=county)
        return Plan(holds.release_moves(conn, due, "expire"),
                    {"county": county, "expired_holds": sorted({p.hold.id for p in due})})

    request = Request("expire", key, user, reason, {"county": county, "year": year}, scopes,
                      at, row={"county": county, "year": year}, auto_expire=False,
                      skip_empty=True)
    return execute(request, plan, store=store)


def allocate(*, year: int, kind: str, county: str, project: str, amount: Decimal | str,
             user: User, reason: str, key: str, store: Store, from_pool: bool = False,
             at: datetime | None = None, rehearse: bool = False) -> dict[str, Any]:
    """Allocate quota to a project: first from its holds, then from its county reserve;
    a shortfall from the city pool only with ``from_pool`` by a city-level manager.
    ``project`` must be a project of ``county`` in the library, not exited (as for
    :func:`hold`)."""
    year, k, county = check_year(year), resolve_kind(kind), check_county(county)
    project, units, at = check_project(project), to_units(amount), now_utc(at)
    require_county(user, county, store=store)
    if from_pool:
        require_city(user)

    def plan(conn: Any) -> Plan:
        guard_project(conn, project, county)
        reserve, pool = reserves(conn, year, k.code, county, at)
        target = get_account(conn, year=year, kind=k.code, type=PROJECT, owner=project,
                             county=county, at=at)
        moves, left = _from_holds(conn, year, k.code, project, target, units)
        parts = draw(conn, k, left, reserve, pool, from_pool=from_pool) if left else []
        moves += [Move("allocate", src, target, part, origin=src) for src, part in parts]
        return Plan(moves, _drawn_info(year, k.code, county, project, units, parts,
                                       from_holds=units - left))

    params = {"year": year, "kind": k.code, "county": county, "project": project,
              "amount": units, "from_pool": from_pool}
    request = Request("allocate", key, user, reason, params, [(year, k.code)], at,
                      row={"year": year, "kind": k.code, "county": county,
                           "project": project, "amount": units},
                      first=share_project(project))
    return execute(request, plan, store=store, rehearse=rehearse)


def _from_holds(conn: Any, year: int, kind: str, project: str, target: Any, units: int
                ) -> tuple[list[Move], int]:
    """Entries moving the project's own holds (oldest first) into its allocation."""
    moves, left = [], units
    for p in holds.positions(conn, holds.find_holds(conn, scopes=[(year, kind)],
                                                    project=project)):
        take = min(p.amount, left)
        if take:
            moves.append(Move("allocate", account_by_id(conn, p.account_id), target, take,
                              origin=account_by_id(conn, p.origin_id), hold_id=p.hold.id))
            left -= take
    return moves, left


def retire(*, year: int, kind: str, account: str, amount: Decimal | str, user: User,
           reason: str, key: str, store: Store, at: datetime | None = None) -> dict[str, Any]:
    """Retire unused quota (e.g. at year end) from the pool (``pool``) or a county reserve
    into the retired account; city level only."""
    require_city(user)
    year, k, units, at = check_year(year), resolve_kind(kind), to_units(amount), now_utc(at)
    owner = "" if account == POOL else check_county(account, "account")

    def plan(conn: Any) -> Plan:
        src = find_account(conn, year=year, kind=k.code, type=POOL if not owner else COUNTY,
                           owner=owner)
        if src is None:
            raise NotFound(f"no {account} account for {year} {k.code}", where="account",
                           message_zh=f"{year} 年度没有账户“{account}”的{k.title}：账户应为 "
                                      "pool（市级统筹池）或该年度已下达该指标的县区代码")
        retired = get_account(conn, year=year, kind=k.code, type=RETIRED, at=at)
        return Plan([Move("retire", src, retired, units)],
                    {"year": year, "kind": k.code, "account": src.code,
                     "amount": format_amount(units)})

    params = {"year": year, "kind": k.code, "account": account, "amount": units}
    request = Request("retire", key, user, reason, params, [(year, k.code)], at,
                      row={"year": year, "kind": k.code, "county": owner or None,
                           "amount": units})
    return execute(request, plan, store=store)
