"""``GET /api/quota/…``: balances, movements, loans, kinds and downloadable exports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from blueprint.analysis import quota
from blueprint.analysis.downloads import content_disposition
from blueprint.analysis.quota.exports import MEDIA_TYPES, export_chunks, export_filename
from blueprint.analysis.quota.kinds import KINDS
from blueprint.service.api.bounds import (
    CODE_LEN,
    ONE_LINE,
    CodeQuery,
    DayOrTime,
    OffsetQuery,
    YearQuery,
)
from blueprint.service.api.deps import StoreDep, UserDep
from blueprint.service.api.responses import Moment

router = APIRouter(prefix="/quota", tags=["quota"])

YearQ = YearQuery
KindQ = Annotated[str | None, Query(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE,
                                    description="Only this kind (code or alias)")]
CountyQ = Annotated[str | None, Query(min_length=1, max_length=CODE_LEN, pattern=ONE_LINE,
                                      description="Only this county code")]
# accounts a page of balances holds at most, and by default (every account of most
# cities at once, as before the API paged them)
MAX_BALANCES = 10_000


class BalanceOut(BaseModel):
    """One account's balance (amounts exact, as decimal strings)."""

    year: int
    kind: str
    kind_title: str
    unit: str
    unit_zh: str
    account: str
    type: str
    type_zh: str
    county: str | None
    project: str | None
    title: str
    granted: Decimal
    held: Decimal
    allocated: Decimal
    lent: Decimal
    borrowed: Decimal
    adjusted: Decimal
    retired: Decimal
    available: Decimal | None
    available_mu: Decimal | None = None


class MovementOut(BaseModel):
    """One ledger entry with its operation, actor and reason."""

    id: int
    at: Moment
    at_cn: str = Field(description="the same moment in China time (UTC+8), as pages show it")
    operation_id: int
    op: str
    op_zh: str
    key: str
    purpose: str
    year: int
    kind: str
    kind_title: str
    unit: str
    from_: str = Field(alias="from")
    from_title: str
    to: str
    to_title: str
    amount: Decimal
    price: Decimal | None
    reverses_id: int | None
    reverses_zh: str | None = Field(
        default=None, description="what a reversing entry reverses, as the export says it: "
                                  "冲正分录 12（操作 7，配置）")
    hold_id: int | None
    loan_id: int | None
    actor: str
    reason: str


class LoanOut(BaseModel):
    """A loan between counties and what is still owed."""

    loan_id: int
    year: int
    kind: str
    kind_title: str
    unit: str
    lender: str
    borrower: str
    amount: Decimal
    outstanding: Decimal
    due: str
    overdue: bool
    days_overdue: int
    actor: str
    reason: str
    at: Moment


class KindOut(BaseModel):
    """A quota kind."""

    code: str
    title: str
    unit: str
    unit_zh: str
    pool_share: Decimal


@router.get("/kinds", response_model=list[KindOut], summary="Quota kinds / 指标类型")
def api_kinds(user: UserDep) -> Any:
    """Kinds with units and the city pool's share."""
    return [{"code": k.code, "title": k.title, "unit": k.unit, "unit_zh": k.unit_zh,
             "pool_share": Decimal(k.pool_share.numerator) / k.pool_share.denominator}
            for k in KINDS.values()]


@router.get("/balances", response_model=list[BalanceOut], summary="Balances / 指标余额")
def api_balances(response: Response, user: UserDep, store: StoreDep, year: YearQ = None,
                 kind: KindQ = None, county: CountyQ = None,
                 as_of: Annotated[str | None, Query(
                     description="Statement as of the end of this day in China (YYYY-MM-DD) "
                                 "or an exact ISO 8601 time (no zone: China time)")] = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_BALANCES)] = MAX_BALANCES,
                 offset: OffsetQuery = 0,
                 ) -> Any:
    """Granted, held, allocated, lent, borrowed, adjusted, retired, available per account
    (``as_of``: computed from the entries posted up to then); at most ``limit`` accounts
    from ``offset`` on, in the statement's order, ``X-Total-Count`` saying how many there
    are in all (one hold and one project account per project and kind: a city has
    thousands)."""
    from blueprint.analysis.clock import as_of_time
    from blueprint.analysis.quota.balance_page import balance_page

    moment = as_of_time(as_of, "as_of") if as_of else None
    rows, total = balance_page(store=store, year=year, kind=kind, county=county,
                               as_of=moment, limit=limit, offset=offset)  # paged in SQL
    response.headers["X-Total-Count"] = str(total)
    return rows


@router.get("/movements", response_model=list[MovementOut], summary="Movements / 指标流水")
def api_movements(
    response: Response, user: UserDep, store: StoreDep, year: YearQ = None,
    kind: KindQ = None,
    county: CountyQ = None, project: CodeQuery = None,
    op: Annotated[str | None, Query(max_length=CODE_LEN, pattern=ONE_LINE,
                                    description="grant, hold, allocate …")] = None,
    since: Annotated[DayOrTime | None, Query(description=(
        "From this date (its start in China, YYYY-MM-DD) or ISO 8601 time (no zone: China "
        "time)"))] = None,
    until: Annotated[DayOrTime | None, Query(description=(
        "Until this date, the day included (China), or before this ISO 8601 time (no zone: "
        "China time)"))] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: OffsetQuery = 0,
) -> Any:
    """Ledger entries, oldest first, filtered; ``X-Total-Count`` says how many match in all
    (so a client knows what lies beyond ``limit``). ``since``/``until`` read as
    ``blueprint quota movements --since/--until`` and the quota page read them
    (:func:`~analysis.clock.window_utc`): a date is a day in China, ``until``'s included; a
    time without a zone is China time; ``since`` after ``until`` is refused (422)."""
    from blueprint.analysis.clock import window_utc

    start, end = window_utc(since, until, ("since", "until"))
    filters: dict[str, Any] = {
        "year": year, "kind": kind, "county": county, "project": project, "op": op,
        "since": start, "until": end}
    response.headers["X-Total-Count"] = str(quota.count_movements(store=store, **filters))
    return quota.movements(store=store, limit=limit, offset=offset, **filters)


@router.get("/loans", response_model=list[LoanOut], summary="Loans / 临时拆借")
def api_loans(user: UserDep, store: StoreDep,
              overdue: Annotated[bool, Query(description="Only overdue loans")] = False,
              on: Annotated[date | None, Query(description="As of this day (default: "
                                               "today in China)")] = None,
              year: YearQ = None, kind: KindQ = None, county: CountyQ = None) -> Any:
    """Loans with what is still owed; ``overdue=true`` keeps only those past due."""
    from blueprint.analysis.clock import in_years

    if on is not None:
        in_years(on, "on")
    return quota.loans(store=store, overdue=overdue, year=year, kind=kind, county=county,
                       today=on)


@router.get("/export", summary="Export / 导出余额或流水", response_class=Response)
def api_export(user: UserDep, store: StoreDep,
               what: Annotated[Literal["balances", "movements"], Query()] = "balances",
               format: Annotated[Literal["xlsx", "csv"], Query()] = "xlsx",
               year: YearQ = None, kind: KindQ = None, county: CountyQ = None) -> Response:
    """A downloadable .xlsx or CSV file with Chinese headers, sent as it is made (a CSV
    of movements as the ledger is read, a few thousand entries at a time)."""
    chunks = export_chunks(what=what, fmt=format, store=store, year=year, kind=kind,
                           county=county)
    name, ascii_name = export_filename(what, format, year=year, kind=kind)
    return StreamingResponse(chunks, media_type=MEDIA_TYPES[format], headers={  # RFC 6266
        "Content-Disposition": content_disposition(name, fallback=ascii_name)})
