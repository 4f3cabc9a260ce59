"""Quota between counties, through the city: temporary lending (临时拆借), repayment and
paid adjustment (有偿调剂). Lending and adjusting are city-level decisions; a borrowing
county's manager may repay their own loan.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from blueprint.analysis.clock import in_years, now_utc, today_cn
from blueprint.analysis.quota.balances import county_namer
from blueprint.analysis.quota.common import (
    CITY,
    COUNTY_MANAGER,
    check_county,
    check_year,
    require_city,
)
from blueprint.analysis.quota.kinds import QuotaKind, format_amount, resolve_kind, to_units
from blueprint.analysis.quota.ledger import (
    COUNTY,
    THIS_OPERATION,
    Account,
    Move,
    balance,
    check_known_county,
    county_names,
    find_account,
    get_account,
    loan_outstanding,
    reserve_title,
)
from blueprint.analysis.quota.runner import Plan, Request, execute
from blueprint.analysis.quota.tables import operations
from blueprint.layers.errors import BadInput, Conflict, NotFound, QuotaExceeded
from blueprint.layers.store import Store
from blueprint.layers.users import User


def _two_counties(a: str, b: str) -> tuple[str, str]:
    a, b = check_county(a, "from"), check_county(b, "to")
    if a == b:
        raise BadInput("the two counties must differ", message_zh="调出方与调入方不能是同一县区",
                       where="to")
    return a, b


def _taker(conn: Any, year: int, kind: QuotaKind, county: str, what: str,
           at: datetime) -> Account:
    """The receiving county's reserve: a county the ledger knows (one a grant named), never
    a new one made up by a mistyped code (the ledger keeps every account for good)."""
    check_known_county(conn, county, what)
    return get_account(conn, year=year, kind=kind.code, type=COUNTY, owner=county,
                       county=county, at=at)


def _giver(conn: Any, year: int, kind: QuotaKind, county: str, units: int) -> Account:
    account = find_account(conn, year=year, kind=kind.code, type=COUNTY, owner=county)
    have = balance(conn, account.id) if account else 0
    if account is None or have < units:
        raise QuotaExceeded(
            f"county {county} has {format_amount(have)} {kind.unit} of {kind.code} in "
            f"{year}; {format_amount(units)} needed", where=f"{year}/{kind.code}/{county}",
            message_zh=f"{year} 年度{reserve_title(county, county_names(conn))}的{kind.title}"
                       f"可用 {kind.text(have)}，"
                       f"不足 {kind.text(units)}")
    return account


def lend(*, year: int, kind: str, lender: str, borrower: str, amount: Decimal | str,
         due: date, user: User, reason: str, key: str, store: Store,
         at: datetime | None = None, rehearse: bool = False) -> dict[str, Any]:
    """Lend quota from one county reserve to another until ``due`` (city level)."""
    require_city(user)
    year, k, units, at = check_year(year), resolve_kind(kind), to_units(amount), now_utc(at)
    lender, borrower = _two_counties(lender, borrower)

    def plan(conn: Any) -> Plan:
        # Checked here, after the idempotency lookup: a replay after the due date still
        # returns the first result.
        if due < today_cn(at):
            raise BadInput(f"due date {due} is in the past", message_zh="归还期限不能早于今天",
                           where="due")
        in_years(due, "due")  # as the CLI's --due (parse_day_or_time) refuses it
        source = _giver(conn, year, k, lender, units)
        target = _taker(conn, year, k, borrower, "borrower", at)
        return Plan([Move("lend", source, target, units, loan_id=THIS_OPERATION)],
                    {"year": year, "kind": k.code, "lender": lender, "borrower": borrower,
                     "amount": format_amount(units), "due": due.isoformat()})

    params = {"year": year, "kind": k.code, "lender": lender, "borrower": borrower,
              "amount": units, "due": due.isoformat()}
    request = Request("lend", key, user, reason, params, [(year, k.code)], at,
                      row={"year": year, "kind": k.code, "county": lender,
                           "counterparty": borrower, "amount": units, "due_date": due})
    return execute(request, plan, store=store, rehearse=rehearse)


def get_loan(conn: Any, loan_id: int) -> sa.Row:
    """The lend operation with that id, or :class:`NotFound`."""
    row = conn.execute(sa.select(operations).where(operations.c.id == loan_id,
                                                   operations.c.op == "lend")).first()
    if row is None:
        raise NotFound(f"loan {loan_id} does not exist", message_zh=f"借出记录 {loan_id} 不存在",
                       where="loan_id")
    return row


def repay(*, loan_id: int, user: User, reason: str, key: str, store: Store,
          amount: Decimal | str | None = None, at: datetime | None = None,
          rehearse: bool = False) -> dict[str, Any]:
    """Repay a loan, fully (default) or in part; city level or the borrowing county."""
    at = now_utc(at)
    units = to_units(amount) if amount is not None else None
    with store.read() as conn:
        loan = get_loan(conn, loan_id)
    user.require(CITY, COUNTY_MANAGER, county=loan.counterparty, named=county_namer(store))

    def plan(conn: Any) -> Plan:
        lender = find_account(conn, year=loan.year, kind=loan.kind, type=COUNTY,
                              owner=loan.county)
        borrower = find_account(conn, year=loan.year, kind=loan.kind, type=COUNTY,
                                owner=loan.counterparty)
        assert lender is not None and borrower is not None
        owed = loan_outstanding(conn, loan_id, lender.id)
        pay = owed if units is None else units
        if owed <= 0 or pay > owed:
            raise Conflict(f"loan {loan_id} has {format_amount(owed)} outstanding; cannot "
                           f"repay {format_amount(pay)}", where="amount",
                           message_zh=f"借出记录 {loan_id} 未还 {format_amount(owed)}，"
                                      f"不能归还 {format_amount(pay)}")
        return Plan([Move("repay", borrower, lender, pay, loan_id=loan_id)],
                    {"loan_id": loan_id, "year": loan.year, "kind": loan.kind,
                     "lender": loan.county, "borrower": loan.counterparty,
                     "amount": format_amount(pay), "outstanding": format_amount(owed - pay)})

    request = Request("repay", key, user, reason, {"loan_id": loan_id, "amount": units},
                      [(loan.year, loan.kind)], at,
                      row={"year": loan.year, "kind": loan.kind, "county": loan.counterparty,
                           "counterparty": loan.county, "amount": units,
                           "target_id": loan_id})
    return execute(request, plan, store=store, rehearse=rehearse)


MAX_PRICE = Decimal(10) ** 12  # yuan: the API's bound of an amount


def _price(value: Decimal | str) -> Decimal:
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        price = Decimal("NaN")
    if price.is_finite() and price > MAX_PRICE:
        raise BadInput(f"price {value!r} is implausibly large (at most {MAX_PRICE} yuan)",
                       message_zh=f"调剂价款“{str(value)[:40]}”过大（最多 1 万亿元）",
                       where="price")
    if not price.is_finite() or price < 0 or price != price.quantize(Decimal("0.01")):
        raise BadInput(f"price {value!r} must be a non-negative amount in yuan (2 decimals)",
                       message_zh="调剂价款应为不小于零的金额（元，最多两位小数）", where="price")
    return price.quantize(Decimal("0.01"))


def adjust(*, year: int, kind: str, seller: str, buyer: str, amount: Decimal | str,
           price: Decimal | str, user: User, reason: str, key: str, store: Store,
           at: datetime | None = None) -> dict[str, Any]:
    """Paid adjustment: move quota from one county to another for ``price`` yuan (total)."""
    require_city(user)
    year, k, units, at = check_year(year), resolve_kind(kind), to_units(amount), now_utc(at)
    seller, buyer = _two_counties(seller, buyer)
    yuan = _price(price)

    def plan(conn: Any) -> Plan:
        source = _giver(conn, year, k, seller, units)
        target = _taker(conn, year, k, buyer, "buyer", at)
        return Plan([Move("adjust", source, target, units)],
                    {"year": year, "kind": k.code, "seller": seller, "buyer": buyer,
                     "amount": format_amount(units), "price": str(yuan)})

    params = {"year": year, "kind": k.code, "seller": seller, "buyer": buyer,
              "amount": units, "price": str(yuan)}
    request = Request("adjust", key, user, reason, params, [(year, k.code)], at,
                      row={"year": year, "kind": k.code, "county": seller,
                           "counterparty": buyer, "amount": units, "price": str(yuan)})
    return execute(request, plan, store=store)
