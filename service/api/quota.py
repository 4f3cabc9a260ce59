"""``/api/quota``: the quota ledger over HTTP (same core as ``blueprint quota``).

Every changing endpoint needs a bearer token with the right role and county scope and
an ``Idempotency-Key`` header: sending the same key again returns the first result and
changes nothing. Reading needs any valid token. Amounts are exact decimal strings.
Reading (balances, movements, loans, kinds, exports) is in ``quota_reports``, with its
own router under the same prefix.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from blueprint.analysis import quota
from blueprint.analysis.clock import parse_day_or_time
from blueprint.layers.errors import BadInput
from blueprint.service.api.bounds import (
    Amount,
    Code,
    CodePath,
    IdPath,
    KeyHeader,
    Name,
    Text,
    Year,
)
from blueprint.service.api.deps import StoreDep, UserDep
from blueprint.service.api.responses import Moment

router = APIRouter(prefix="/quota", tags=["quota"])


class ReasonIn(BaseModel):
    """Every change says why."""

    reason: Text = Field(description="Why (recorded with every movement)")


class GrantIn(ReasonIn):
    """A county's yearly quota."""

    year: Year
    kind: Code = Field(description="Quota kind code or alias (land, SO2 …)")
    county: Code
    amount: Amount
    county_name: Name | None = None


class ProjectQuotaIn(ReasonIn):
    """Quota for one project of a county."""

    year: Year
    kind: Code
    county: Code
    project: Code
    amount: Amount
    from_pool: bool = Field(False, description="Shortfall from the city pool (city level)")


class HoldIn(ProjectQuotaIn):
    """A hold for a project under review."""

    expires: datetime | date | None = Field(
        None, description="Last day, YYYY-MM-DD (the hold ends at 24:00 China time), or an "
        "exact ISO 8601 time (kept exact; without a time zone it is China time, UTC+8)")

    @field_validator("expires", mode="before")
    @classmethod
    def _day_or_time(cls, value: Any) -> Any:
        """A date stays a date and a time stays exact (pydantic alone would turn one into
        the other); numbers are refused rather than read as Unix timestamps."""
        if value is None or isinstance(value, date):
            return value
        if not isinstance(value, str):
            raise ValueError("expires must be a date (YYYY-MM-DD) or an ISO 8601 time")
        try:
            return parse_day_or_time(value, "expires")
        except BadInput as exc:
            raise ValueError(exc.message) from None


class ExpireIn(ReasonIn):
    """Release expired holds (a county manager: their county's)."""

    county: Code | None = None
    year: Year | None = None


class LendIn(ReasonIn):
    """Temporary lending between counties through the city."""

    year: Year
    kind: Code
    lender: Code
    borrower: Code
    amount: Amount
    due: date


class RepayIn(ReasonIn):
    """Repayment of a loan; all of it unless ``amount``."""

    amount: Amount | None = None


class AdjustIn(ReasonIn):
    """Paid adjustment between counties."""

    year: Year
    kind: Code
    seller: Code
    buyer: Code
    amount: Amount
    price: Amount = Field(description="Total price in yuan")


class ReclaimIn(ReasonIn):
    """Reclaim a cancelled project's quota (all years and kinds unless narrowed)."""

    year: Year | None = None
    kind: Code | None = None


class RetireIn(ReasonIn):
    """Retire unused quota from the pool or a county reserve."""

    year: Year
    kind: Code
    account: Code = Field(description="'pool' or a county code")
    amount: Amount


class EntryOut(BaseModel):
    """One ledger entry of an operation."""

    purpose: str
    year: Year
    kind: Code
    from_: str = Field(alias="from")
    to: str
    amount: Decimal

    model_config = ConfigDict(populate_by_name=True)


class OperationOut(BaseModel):
    """The (first) result of an operation; operation-specific fields are kept."""

    operation_id: int | None = Field(description="None: there was nothing to do (expiring "
                                     "holds with none due), nothing was recorded")
    op: str
    key: str
    actor: str
    reason: str
    at: Moment
    entries: list[EntryOut]

    model_config = ConfigDict(extra="allow")


def _op(fn: Any, user: Any, store: Any, key: str, body: ReasonIn, **extra: Any
        ) -> dict[str, Any]:
    fields = body.model_dump() | extra
    reason = fields.pop("reason")
    result: dict[str, Any] = fn(user=user, store=store, key=key, reason=reason, **fields)
    return result


@router.post("/grants", response_model=OperationOut, summary="Grant a county's yearly "
             "quota / 下达年度指标")
def api_grant(body: GrantIn, user: UserDep, store: StoreDep, key: KeyHeader) -> Any:
    """30 % to the city pool, 70 % to the county reserve (city level)."""
    return _op(quota.grant, user, store, key, body)


@router.post("/holds", response_model=OperationOut, summary="Hold quota / 预留指标")
def api_hold(body: HoldIn, user: UserDep, store: StoreDep, key: KeyHeader) -> Any:
    """Hold quota for a project under review (county managers: own county)."""
    return _op(quota.hold, user, store, key, body)


@router.post("/holds/expire", response_model=OperationOut,
             summary="Release expired holds / 释放到期预留")
def api_expire(body: ExpireIn, user: UserDep, store: StoreDep, key: KeyHeader) -> Any:
    """Post release entries for every hold past its expiry."""
    return _op(quota.expire_holds, user, store, key, body)


@router.post("/holds/{hold_id}/release", response_model=OperationOut,
             summary="Release a hold / 释放预留")
def api_release(hold_id: IdPath, body: ReasonIn, user: UserDep, store: StoreDep,
                key: KeyHeader) -> Any:
    """Release what is left of a hold."""
    return _op(quota.release, user, store, key, body, hold_id=hold_id)


@router.post("/allocations", response_model=OperationOut, summary="Allocate / 配置指标")
def api_allocate(body: ProjectQuotaIn, user: UserDep, store: StoreDep, key: KeyHeader) -> Any:
    """Allocate to a project: its holds, its county reserve, then (city level) the pool."""
    return _op(quota.allocate, user, store, key, body)


@router.post("/loans", response_model=OperationOut, summary="Lend / 临时拆借")
def api_lend(body: LendIn, user: UserDep, store: StoreDep, key: KeyHeader) -> Any:
    """Lend between counties through the city until ``due`` (city level)."""
    return _op(quota.lend, user, store, key, body)


@router.post("/loans/{loan_id}/repay", response_model=OperationOut, summary="Repay / 归还拆借")
def api_repay(loan_id: IdPath, body: RepayIn, user: UserDep, store: StoreDep,
              key: KeyHeader) -> Any:
    """Repay a loan (city level or the borrowing county)."""
    return _op(quota.repay, user, store, key, body, loan_id=loan_id)


@router.post("/adjustments", response_model=OperationOut, summary="Paid adjustment / 有偿调剂")
def api_adjust(body: AdjustIn, user: UserDep, store: StoreDep, key: KeyHeader) -> Any:
    """Move quota between counties for a recorded price (city level)."""
    return _op(quota.adjust, user, store, key, body)


@router.post("/projects/{project}/reclaim", response_model=OperationOut,
             summary="Reclaim a project's quota / 收回指标")
def api_reclaim(project: CodePath, body: ReclaimIn, user: UserDep, store: StoreDep,
                key: KeyHeader) -> Any:
    """Everything the project holds or received goes back where it came from."""
    return _op(quota.reclaim, user, store, key, body, project=project)


@router.post("/operations/{operation_id}/reverse", response_model=OperationOut,
             summary="Reverse an operation / 冲正")
def api_reverse(operation_id: IdPath, body: ReasonIn, user: UserDep, store: StoreDep,
                key: KeyHeader) -> Any:
    """Correction: post the opposite of each entry of the operation (city level)."""
    return _op(quota.reverse, user, store, key, body, operation_id=operation_id)


@router.post("/retirements", response_model=OperationOut, summary="Retire quota / 核销指标")
def api_retire(body: RetireIn, user: UserDep, store: StoreDep, key: KeyHeader) -> Any:
    """Retire unused quota into the retired account (city level)."""
    return _op(quota.retire, user, store, key, body)
