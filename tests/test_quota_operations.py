"""Every quota operation on both engines, with expected balances worked out by hand."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from quota_support import (
    CITY,
    DCF,
    T0,
    VIEWER,
    YG,
    Y,
    check_invariants,
    raw_balances,
    register_fixed_projects,
    row,
)

from blueprint.analysis import quota
from blueprint.analysis.projects import ProjectInput, create_project, exit_project
from blueprint.analysis.quota.balances import counties
from blueprint.layers.errors import BadInput, Conflict, NotAllowed, NotFound, QuotaExceeded
from blueprint.layers.store import Store

LAND = "new_construction_land"


def grant(store: Store, county: str = "371502", amount: str = "100", kind: str = "land",
          key: str | None = None) -> dict:
    return quota.grant(year=Y, kind=kind, county=county, amount=amount, user=CITY,
                       reason="年度下达", key=key or f"g-{uuid.uuid4()}", store=store, at=T0)


@pytest.fixture(autouse=True)
def _projects(store: Store) -> None:
    """The projects these tests hold and allocate for (quota goes only to real projects)."""
    register_fixed_projects(store, {"P1": "371502", "P2": "371502", "P3": "371502",
                                    "P9": "371521"})


def _key() -> str:
    return f"k-{uuid.uuid4()}"


def counts(store: Store) -> tuple[int, int, int]:
    with store.engine.connect() as conn:
        return tuple(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()  # type: ignore[return-value]
                     for t in ("quota_operations", "quota_entries", "audit_log"))


def test_grant_splits_30_to_pool_and_70_to_county(store: Store) -> None:
    result = grant(store, amount="100")
    assert (result["to_pool"], result["to_county"]) == ("30", "70")
    assert row(store, "pool")["available"] == Decimal("30")
    assert row(store, "county:371502")["available"] == Decimal("70")
    assert row(store, "county:371502")["granted"] == Decimal("70")
    check_invariants(store)


def test_grant_rounding_pool_down_pieces_add_up(store: Store) -> None:
    # 10.0001 ha = 100001 units; 30 % = 30000.3 units -> pool 30000 (3 ha), county 70001.
    result = grant(store, amount="10.0001")
    assert (result["to_pool"], result["to_county"]) == ("3", "7.0001")
    grant(store, county="371521", amount="0.0001")  # 30 % of one unit rounds to nothing
    assert row(store, "county:371521")["available"] == Decimal("0.0001")
    assert row(store, "pool")["available"] == Decimal("3")
    assert row(store, "source")["granted"] == Decimal("10.0002")
    check_invariants(store)


@pytest.mark.parametrize("user", [DCF, VIEWER])
def test_grant_needs_city_level(store: Store, user) -> None:
    with pytest.raises(NotAllowed):
        quota.grant(year=Y, kind="land", county="371502", amount="1", user=user, reason="x",
                    key=_key(), store=store, at=T0)
    assert counts(store)[:2] == (0, 0)


@pytest.mark.parametrize("field,value", [
    ("amount", "-1"), ("amount", "0"), ("amount", "1.00001"), ("amount", "abc"),
    ("amount", "NaN"), ("kind", "gold"), ("year", 1900), ("county", "东昌府区"),
    ("county", ""), ("reason", "  "), ("key", ""), ("key", "auto:expire:1"),
    ("key", "has space"),
])
def test_bad_input_is_refused_and_records_nothing(store: Store, field: str, value) -> None:
    args = {"year": Y, "kind": "land", "county": "371502", "amount": "1", "reason": "x",
            "key": _key()} | {field: value}
    with pytest.raises(BadInput):
        quota.grant(user=CITY, store=store, at=T0, **args)
    assert counts(store) == (0, 0, 0)


def test_replay_returns_first_result_and_changes_nothing(store: Store) -> None:
    first = grant(store, key="grant-2026-dcf")
    before, balances_before = counts(store), raw_balances(store)
    # The same user again (keys are scoped to their actor: tests/test_idempotency_scope.py).
    again = quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY,
                        reason="重试", key="grant-2026-dcf", store=store)
    assert again == first
    assert again["actor"] == "city"
    assert counts(store) == before
    assert raw_balances(store) == balances_before
    with pytest.raises(Conflict):
        grant(store, amount="101", key="grant-2026-dcf")
    with pytest.raises(Conflict):  # same key, another operation
        quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="1",
                       user=CITY, reason="x", key="grant-2026-dcf", store=store, at=T0)
    assert counts(store) == before


def test_hold_and_release(store: Store) -> None:
    grant(store)
    held = quota.hold(year=Y, kind="land", county="371502", project="P1", amount="20",
                      user=DCF, reason="项目审查", key=_key(), store=store, at=T0,
                      expires=date(2026, 3, 31))
    assert held["from_county"] == "20"
    county = row(store, "county:371502", at=T0)
    assert (county["held"], county["available"]) == (Decimal("20"), Decimal("50"))
    assert row(store, "project:P1", at=T0)["held"] == Decimal("20")
    check_invariants(store, T0)
    quota.release(hold_id=held["operation_id"], user=DCF, reason="审查未通过", key=_key(),
                  store=store, at=T0)
    county = row(store, "county:371502", at=T0)
    assert (county["held"], county["available"]) == (Decimal("0"), Decimal("70"))
    with pytest.raises(Conflict):
        quota.release(hold_id=held["operation_id"], user=DCF, reason="again", key=_key(),
                      store=store, at=T0)
    with pytest.raises(NotFound):
        quota.release(hold_id=9999, user=DCF, reason="x", key=_key(), store=store, at=T0)
    check_invariants(store, T0)


def test_expired_holds_stop_counting_then_are_released(store: Store) -> None:
    grant(store)
    held = quota.hold(year=Y, kind="land", county="371502", project="P1", amount="30",
                      user=DCF, reason="审查", key=_key(), store=store, at=T0,
                      expires=date(2026, 3, 5))
    end = T0.replace(day=5, hour=15, minute=59)  # 23:59 on 5 March in China
    after = T0.replace(day=5, hour=16)  # midnight: the hold has ended
    assert row(store, "county:371502", at=end)["available"] == Decimal("40")
    entries_before = counts(store)[1]
    assert row(store, "county:371502", at=after)["available"] == Decimal("70")
    assert row(store, "project:P1", at=after)["held"] == Decimal("0")
    assert counts(store)[1] == entries_before  # reading posts nothing
    check_invariants(store, after)
    done = quota.expire_holds(user=CITY, reason="到期", key=_key(), store=store, at=after)
    assert done["expired_holds"] == [held["operation_id"]]
    assert [e["to"] for e in done["entries"]] == ["county:371502"]
    assert row(store, "county:371502", at=T0)["available"] == Decimal("70")  # now posted
    before = counts(store)
    again = quota.expire_holds(user=CITY, reason="到期", key=_key(), store=store, at=after)
    assert again["expired_holds"] == [] and again["entries"] == []
    assert again["operation_id"] is None and counts(store) == before  # nothing recorded
    check_invariants(store, after)


def test_expiring_holds_with_none_due_records_nothing(store: Store) -> None:
    """No operation, no audit row (it wrote an empty operation and a row in the log); the
    key stays unused, and a replay of a key that did expire holds still replays."""
    grant(store)
    held = quota.hold(year=Y, kind="land", county="371502", project="P1", amount="30",
                      user=DCF, reason="审查", key=_key(), store=store, at=T0,
                      expires=date(2026, 3, 5))
    before = counts(store)
    key = _key()
    early = quota.expire_holds(user=CITY, reason="到期", key=key, store=store, at=T0)
    assert (early["operation_id"], early["expired_holds"], early["entries"]) == (None, [], [])
    assert counts(store) == before
    after = T0.replace(day=6)
    done = quota.expire_holds(user=CITY, reason="到期", key=key, store=store, at=after)
    assert done["expired_holds"] == [held["operation_id"]]  # the key was free
    assert quota.expire_holds(user=CITY, reason="到期", key=key, store=store,
                              at=after) == done


def test_next_operation_posts_expiry_before_it_plans(store: Store) -> None:
    grant(store)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="70", user=DCF,
               reason="审查", key=_key(), store=store, at=T0, expires=date(2026, 3, 2))
    with pytest.raises(QuotaExceeded):
        quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="10",
                       user=DCF, reason="x", key=_key(), store=store, at=T0)
    later = T0 + timedelta(days=1)
    quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="70", user=DCF,
                   reason="配置", key=_key(), store=store, at=later)
    ops = [m["op"] for m in quota.movements(store=store)]
    assert ops == ["grant", "grant", "hold", "expire", "allocate"]
    assert row(store, "county:371502")["available"] == Decimal("0")
    check_invariants(store, later)


def test_hold_expiry_must_be_in_the_future(store: Store) -> None:
    grant(store)
    with pytest.raises(BadInput):
        quota.hold(year=Y, kind="land", county="371502", project="P1", amount="1", user=DCF,
                   reason="x", key=_key(), store=store, at=T0, expires=date(2026, 3, 1))


def test_allocate_county_first_pool_only_for_city(store: Store) -> None:
    grant(store)  # pool 30, county 70
    first = quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="60",
                           user=DCF, reason="配置", key=_key(), store=store, at=T0)
    assert (first["from_county"], first["from_pool"]) == ("60", "0")
    with pytest.raises(QuotaExceeded) as short:
        quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="20",
                       user=DCF, reason="x", key=_key(), store=store, at=T0)
    assert "市级统筹池" in short.value.message_zh
    with pytest.raises(NotAllowed):
        quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="20",
                       user=DCF, reason="x", key=_key(), store=store, at=T0, from_pool=True)
    second = quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="20",
                            user=CITY, reason="重点项目", key=_key(), store=store, at=T0,
                            from_pool=True)
    assert (second["from_county"], second["from_pool"]) == ("10", "10")
    assert row(store, "county:371502")["available"] == Decimal("0")
    assert row(store, "pool")["available"] == Decimal("20")
    assert row(store, "pool")["allocated"] == Decimal("10")
    with pytest.raises(QuotaExceeded):
        quota.allocate(year=Y, kind="land", county="371502", project="P3", amount="20.0001",
                       user=CITY, reason="x", key=_key(), store=store, at=T0, from_pool=True)
    check_invariants(store)


def test_allocate_uses_the_projects_holds_first(store: Store) -> None:
    grant(store)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="15", user=DCF,
               reason="审查", key=_key(), store=store, at=T0)
    result = quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="20",
                            user=DCF, reason="配置", key=_key(), store=store, at=T0)
    assert (result["from_holds"], result["from_county"]) == ("15", "5")
    project = row(store, "project:P1")
    assert (project["held"], project["allocated"]) == (Decimal("0"), Decimal("20"))
    assert row(store, "county:371502")["allocated"] == Decimal("20")
    check_invariants(store)


def test_failed_operation_leaves_no_trace(store: Store) -> None:
    grant(store)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="5", user=DCF,
               reason="审查", key=_key(), store=store, at=T0)
    before, balances_before = counts(store), raw_balances(store)
    with pytest.raises(QuotaExceeded):  # would first use the hold, then fail on the county
        quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="100",
                       user=DCF, reason="x", key="fails", store=store, at=T0)
    assert counts(store) == before and raw_balances(store) == balances_before
    assert row(store, "project:P1")["held"] == Decimal("5")


def test_county_manager_acts_only_for_their_county(store: Store) -> None:
    grant(store, county="371521")
    for op in (quota.hold, quota.allocate):
        with pytest.raises(NotAllowed):
            op(year=Y, kind="land", county="371521", project="P9", amount="1", user=DCF,
               reason="x", key=_key(), store=store, at=T0)
    held = quota.hold(year=Y, kind="land", county="371521", project="P9", amount="1", user=YG,
                      reason="x", key=_key(), store=store, at=T0)
    with pytest.raises(NotAllowed):
        quota.release(hold_id=held["operation_id"], user=DCF, reason="x", key=_key(),
                      store=store, at=T0)
    with pytest.raises(NotAllowed):
        quota.reclaim(project="P9", user=DCF, reason="x", key=_key(), store=store, at=T0)
    with pytest.raises(NotAllowed):
        quota.reverse(operation_id=held["operation_id"], user=YG, reason="x", key=_key(),
                      store=store, at=T0)
    before = counts(store)
    with pytest.raises(NotAllowed):  # not quietly narrowed to the manager's own county
        quota.expire_holds(county="371521", user=DCF, reason="x", key=_key(), store=store,
                           at=T0)
    assert counts(store) == before
    grant(store)  # their own county, once granted (before: not found, see below)
    own = quota.expire_holds(county="371502", user=DCF, reason="x", key=_key(), store=store,
                             at=T0)
    assert own["county"] == "371502"


def test_expiring_the_holds_of_a_county_no_grant_named_is_not_found(store: Store) -> None:
    """A mistyped county (as lending to one): no empty operation, no audit row."""
    grant(store)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="1", user=CITY,
               reason="x", key=_key(), store=store, at=T0, expires=date(2026, 3, 2))
    before = counts(store), counties(store=store)
    with pytest.raises(NotFound) as unknown:
        quota.expire_holds(county="999999", user=CITY, reason="x", key=_key(), store=store,
                           at=T0 + timedelta(days=2))
    assert unknown.value.where == "county" and "999999" in unknown.value.message_zh
    assert (counts(store), counties(store=store)) == before
    done = quota.expire_holds(county="371502", user=CITY, reason="x", key=_key(),
                              store=store, at=T0 + timedelta(days=2))
    assert done["county"] == "371502" and len(done["expired_holds"]) == 1


def test_a_project_belongs_to_one_county(store: Store) -> None:
    grant(store)
    grant(store, county="371521")
    quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="1", user=CITY,
                   reason="x", key=_key(), store=store, at=T0)
    with pytest.raises(Conflict):
        quota.hold(year=Y, kind="energy", county="371521", project="P1", amount="1",
                   user=CITY, reason="x", key=_key(), store=store, at=T0)


def test_lend_repay_and_overdue_loans(store: Store) -> None:
    grant(store)  # 371502: 70
    grant(store, county="371521", kind="energy")  # 阳谷县 is in the ledger, with no land
    loan = quota.lend(year=Y, kind="land", lender="371502", borrower="371521", amount="10",
                      due=date(2026, 6, 30), user=CITY, reason="临时拆借", key=_key(),
                      store=store, at=T0)
    lender, borrower = row(store, "county:371502"), row(store, "county:371521")
    assert (lender["lent"], lender["available"]) == (Decimal("10"), Decimal("60"))
    assert (borrower["borrowed"], borrower["available"]) == (Decimal("10"), Decimal("10"))
    on_due = T0.replace(month=6, day=30)
    assert quota.loans(store=store, overdue=True, at=on_due) == []
    late = quota.loans(store=store, overdue=True, at=T0.replace(month=7, day=3))
    assert [(x["loan_id"], x["days_overdue"], x["outstanding"]) for x in late] == [
        (loan["operation_id"], 3, Decimal("10"))]
    with pytest.raises(NotAllowed):  # the lender cannot "repay" for the borrower
        quota.repay(loan_id=loan["operation_id"], user=DCF, reason="x", key=_key(),
                    store=store, at=T0)
    part = quota.repay(loan_id=loan["operation_id"], amount="4", user=YG, reason="部分归还",
                       key=_key(), store=store, at=T0)
    assert part["outstanding"] == "6"
    with pytest.raises(Conflict):
        quota.repay(loan_id=loan["operation_id"], amount="7", user=YG, reason="x",
                    key=_key(), store=store, at=T0)
    quota.repay(loan_id=loan["operation_id"], user=CITY, reason="归还", key=_key(),
                store=store, at=T0)
    assert quota.loans(store=store, overdue=True, at=T0.replace(month=7)) == []
    assert row(store, "county:371502")["available"] == Decimal("70")
    assert row(store, "county:371521")["lent"] == Decimal("0")
    check_invariants(store)


def test_lend_checks(store: Store) -> None:
    grant(store)
    common = {"year": Y, "kind": "land", "reason": "x", "store": store, "at": T0}
    with pytest.raises(NotAllowed):
        quota.lend(lender="371502", borrower="371521", amount="1", due=date(2026, 6, 1),
                   user=DCF, key=_key(), **common)
    with pytest.raises(QuotaExceeded):
        quota.lend(lender="371502", borrower="371521", amount="70.0001",
                   due=date(2026, 6, 1), user=CITY, key=_key(), **common)
    with pytest.raises(BadInput):
        quota.lend(lender="371502", borrower="371502", amount="1", due=date(2026, 6, 1),
                   user=CITY, key=_key(), **common)
    with pytest.raises(BadInput):
        quota.lend(lender="371502", borrower="371521", amount="1", due=date(2026, 3, 1),
                   user=CITY, key=_key(), **common)
    with pytest.raises(BadInput):  # the API's due (a date field) as the CLI's --due
        quota.lend(lender="371502", borrower="371521", amount="1", due=date(9999, 12, 31),
                   user=CITY, key=_key(), **common)

    # a county no grant ever named (a mistyped code) never receives quota: its reserve would
    # stay in the ledger, and in every list of the city's counties, for good
    before = counts(store), counties(store=store)
    with pytest.raises(NotFound) as unknown:
        quota.lend(lender="371502", borrower="371251", amount="1", due=date(2026, 6, 1),
                   user=CITY, key=_key(), **common)
    assert unknown.value.where == "borrower" and "371251" in unknown.value.message_zh
    with pytest.raises(NotFound) as unknown:
        quota.adjust(seller="371502", buyer="371251", amount="1", price="100", user=CITY,
                     key=_key(), **common)
    assert unknown.value.where == "buyer"
    assert (counts(store), counties(store=store)) == before


def test_paid_adjustment_records_the_price(store: Store) -> None:
    grant(store)
    grant(store, county="371521", kind="energy")
    result = quota.adjust(year=Y, kind="land", seller="371502", buyer="371521", amount="5",
                          price="1500000", user=CITY, reason="有偿调剂", key=_key(),
                          store=store, at=T0)
    assert result["price"] == "1500000.00"
    assert row(store, "county:371502")["adjusted"] == Decimal("-5")
    assert row(store, "county:371521")["adjusted"] == Decimal("5")
    moved = quota.movements(store=store, op="adjust")
    assert [(m["from"], m["to"], m["amount"], m["price"]) for m in moved] == [
        ("county:371502", "county:371521", Decimal("5"), Decimal("1500000.00"))]
    with pytest.raises(BadInput):
        quota.adjust(year=Y, kind="land", seller="371502", buyer="371521", amount="1",
                     price="1.234", user=CITY, reason="x", key=_key(), store=store, at=T0)
    # past the API's bound of an amount (10^12): refused as the API refuses it, nothing
    # written (1e20 was recorded; 1e30, past Decimal's 28 digits, was InvalidOperation, an
    # internal error of `blueprint quota adjust`)
    before = counts(store)
    for price in ("1e20", "1e30", "1000000000000.01"):
        with pytest.raises(BadInput) as huge:
            quota.adjust(year=Y, kind="land", seller="371502", buyer="371521", amount="1",
                         price=price, user=CITY, reason="x", key=_key(), store=store, at=T0)
        assert (huge.value.where, huge.value.message_zh) == (
            "price", f"调剂价款“{price}”过大（最多 1 万亿元）")
    assert counts(store) == before
    check_invariants(store)


def test_reclaim_sends_everything_back_where_it_came_from(store: Store) -> None:
    grant(store)  # pool 30, county 70
    grant(store, kind="energy", amount="1000")  # pool 300, county 700
    quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="70", user=DCF,
                   reason="配置", key=_key(), store=store, at=T0)
    quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="12", user=CITY,
                   reason="重点项目", key=_key(), store=store, at=T0, from_pool=True)
    quota.hold(year=Y, kind="energy", county="371502", project="P1", amount="100", user=DCF,
               reason="审查", key=_key(), store=store, at=T0)
    assert row(store, "pool")["available"] == Decimal("18")
    result = quota.reclaim(project="P1", user=DCF, reason="提供虚假信息,依法收回",
                           key=_key(), store=store, at=T0)
    returned = sorted((r["kind"], r["to"], r["amount"]) for r in result["returned"])
    assert returned == [("energy", "county:371502", "100"),
                        (LAND, "county:371502", "70"), (LAND, "pool", "12")]
    assert row(store, "pool")["available"] == Decimal("30")
    assert row(store, "county:371502")["available"] == Decimal("70")
    assert row(store, "county:371502", kind="energy")["available"] == Decimal("700")
    project = row(store, "project:P1")
    assert (project["held"], project["allocated"]) == (Decimal("0"), Decimal("0"))
    with pytest.raises(Conflict):
        quota.reclaim(project="P1", user=DCF, reason="x", key=_key(), store=store, at=T0)
    with pytest.raises(NotFound):
        quota.reclaim(project="nobody", user=CITY, reason="x", key=_key(), store=store, at=T0)
    check_invariants(store)


def test_reverse_is_a_correction_by_opposite_entries(store: Store) -> None:
    granted = grant(store)
    allocated = quota.allocate(year=Y, kind="land", county="371502", project="P1",
                               amount="25", user=DCF, reason="配置", key=_key(), store=store,
                               at=T0)
    with pytest.raises(QuotaExceeded):  # the county already gave 25 of its 70 away
        quota.reverse(operation_id=granted["operation_id"], user=CITY, reason="下达有误",
                      key=_key(), store=store, at=T0)
    fixed = quota.reverse(operation_id=allocated["operation_id"], user=CITY, reason="录入错误",
                          key=_key(), store=store, at=T0)
    assert [(e["from"], e["to"], e["amount"]) for e in fixed["entries"]] == [
        ("project:P1", "county:371502", "25")]
    assert row(store, "county:371502")["available"] == Decimal("70")
    with pytest.raises(Conflict) as twice:
        quota.reverse(operation_id=allocated["operation_id"], user=CITY, reason="x",
                      key=_key(), store=store, at=T0)
    assert twice.value.message_zh == (f"操作 {allocated['operation_id']} 已由操作 "
                                      f"{fixed['operation_id']} 冲正，不能再次冲正")
    with pytest.raises(Conflict):
        quota.reverse(operation_id=fixed["operation_id"], user=CITY, reason="x", key=_key(),
                      store=store, at=T0)
    history = quota.movements(store=store, project="P1")
    assert [m["reverses_id"] is not None for m in history] == [False, True]
    quota.reverse(operation_id=granted["operation_id"], user=CITY, reason="下达有误",
                  key=_key(), store=store, at=T0)
    assert row(store, "source")["granted"] == Decimal("0")
    check_invariants(store)


def test_a_refused_reversal_names_the_accounts_as_everywhere_else(store: Store) -> None:
    """The balance check that refuses a reversal names the account by the one rule (the
    county's newest name, the project by 名称（代码）), not the title its first use stored
    (“茌平县 县级储备”, “P1 项目配置”)."""
    first = quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY,
                        reason="年度下达", key=_key(), store=store, county_name="茌平县", at=T0)
    quota.grant(year=Y, kind="energy", county="371502", amount="10", user=CITY, reason="下达",
                key=_key(), store=store, county_name="茌平区", at=T0)  # renamed since
    allocated = quota.allocate(year=Y, kind="land", county="371502", project="P1",
                               amount="65", user=DCF, reason="配置", key=_key(), store=store,
                               at=T0)
    with pytest.raises(QuotaExceeded) as county:
        quota.reverse(operation_id=first["operation_id"], user=CITY, reason="下达有误",
                      key=_key(), store=store, at=T0)
    assert county.value.message_zh == ("2026 年度茌平区县级储备的新增建设用地指标余额不足，"
                                       "缺口 65 公顷（975.00 亩）")
    quota.reclaim(project="P1", user=DCF, reason="收回", key=_key(), store=store, at=T0)
    with pytest.raises(QuotaExceeded) as project:
        quota.reverse(operation_id=allocated["operation_id"], user=CITY, reason="录入错误",
                      key=_key(), store=store, at=T0)
    assert project.value.message_zh == ("2026 年度测试项目 P1（P1）项目配置的新增建设用地指标"
                                        "余额不足，缺口 65 公顷（975.00 亩）")
    check_invariants(store)


def test_reversing_a_repaid_loan_is_refused(store: Store) -> None:
    grant(store)
    grant(store, county="371521")  # so that only the loan itself stops the reversal
    loan = quota.lend(year=Y, kind="land", lender="371502", borrower="371521", amount="10",
                      due=date(2026, 6, 30), user=CITY, reason="拆借", key=_key(),
                      store=store, at=T0)
    repaid = quota.repay(loan_id=loan["operation_id"], amount="4", user=CITY, reason="归还",
                         key=_key(), store=store, at=T0)
    before = counts(store)
    with pytest.raises(Conflict) as refused:
        quota.reverse(operation_id=loan["operation_id"], user=CITY, reason="x", key=_key(),
                      store=store, at=T0)
    # says what stops it and what to do, not "repaid more than is owed"
    assert refused.value.where == "operation_id"
    assert refused.value.message_zh == (
        f"拆借 {loan['operation_id']} 已归还 4 公顷（60.00 亩），不能冲正；"
        f"如需冲正，请先冲正其归还操作（操作 {repaid['operation_id']}）")
    assert counts(store) == before
    quota.reverse(operation_id=repaid["operation_id"], user=CITY, reason="归还录入有误",
                  key=_key(), store=store, at=T0)
    quota.reverse(operation_id=loan["operation_id"], user=CITY, reason="拆借录入有误",
                  key=_key(), store=store, at=T0)  # its repayment reversed: now it can be
    assert quota.loans(store=store)[0]["outstanding"] == Decimal("0")
    check_invariants(store)


def test_retire(store: Store) -> None:
    grant(store)
    quota.retire(year=Y, kind="land", account="pool", amount="5", user=CITY, reason="年末核销",
                 key=_key(), store=store, at=T0)
    assert row(store, "pool")["available"] == Decimal("25")
    assert row(store, "pool")["retired"] == Decimal("5")
    assert row(store, "retired")["retired"] == Decimal("5")
    with pytest.raises(QuotaExceeded):
        quota.retire(year=Y, kind="land", account="371502", amount="71", user=CITY,
                     reason="x", key=_key(), store=store, at=T0)
    with pytest.raises(NotAllowed):
        quota.retire(year=Y, kind="land", account="371502", amount="1", user=DCF,
                     reason="x", key=_key(), store=store, at=T0)
    for account in ("Pool", "371599"):  # says which account, and what it may be
        with pytest.raises(NotFound) as unknown:
            quota.retire(year=Y, kind="land", account=account, amount="1", user=CITY,
                         reason="x", key=_key(), store=store, at=T0)
        assert unknown.value.where == "account"
        assert unknown.value.message_zh == (
            f"2026 年度没有账户“{account}”的新增建设用地指标：账户应为 pool（市级统筹池）"
            "或该年度已下达该指标的县区代码")
    check_invariants(store)


@pytest.mark.parametrize("statement", [
    "UPDATE quota_entries SET amount = amount + 1",
    "DELETE FROM quota_entries",
    "UPDATE quota_operations SET reason = 'edited'",
    "DELETE FROM quota_operations",
    "UPDATE quota_accounts SET title = 'edited'",
])
def test_the_ledger_refuses_edits(store: Store, statement: str) -> None:
    grant(store)
    before = raw_balances(store)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with store.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert raw_balances(store) == before


def test_every_operation_writes_one_audit_row(store: Store) -> None:
    grant(store)
    quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="1", user=DCF,
                   reason="配置", key="audit-me", store=store, at=T0)
    with store.engine.connect() as conn:
        audit = conn.execute(sa.text(
            "SELECT actor, action, object FROM audit_log ORDER BY id")).all()
        op_ids = conn.execute(sa.text("SELECT id FROM quota_operations ORDER BY id")).scalars()
        expected = [f"quota_operation:{i}" for i in op_ids]
    assert [a.object for a in audit] == expected
    assert [(a.actor, a.action) for a in audit] == [("city", "quota.grant"),
                                                    ("dcf", "quota.allocate")]


def test_movement_filters(store: Store) -> None:
    grant(store)
    grant(store, county="371521", kind="SO2", amount="10")
    quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="1", user=DCF,
                   reason="配置", key=_key(), store=store, at=T0 + timedelta(days=2))
    assert len(quota.movements(store=store)) == 5
    assert len(quota.movements(store=store, county="371521")) == 1
    assert len(quota.movements(store=store, kind="SO2")) == 2
    assert [m["op"] for m in quota.movements(store=store, project="P1")] == ["allocate"]
    assert len(quota.movements(store=store, op="grant")) == 4
    assert len(quota.movements(store=store, since=T0 + timedelta(hours=1))) == 1
    assert len(quota.movements(store=store, until=T0 + timedelta(hours=1))) == 4
    assert len(quota.movements(store=store, year=Y + 1)) == 0
    assert [m["id"] for m in quota.movements(store=store, limit=2, offset=1)] == [2, 3]
    with pytest.raises(BadInput):
        quota.movements(store=store, op="steal")


def test_reversing_a_released_hold_is_refused(store: Store) -> None:
    grant(store)
    first = quota.hold(year=Y, kind="land", county="371502", project="P1", amount="10",
                       user=DCF, reason="审查", key=_key(), store=store, at=T0)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="10", user=DCF,
               reason="审查", key=_key(), store=store, at=T0)
    quota.release(hold_id=first["operation_id"], user=DCF, reason="释放", key=_key(),
                  store=store, at=T0)
    before = raw_balances(store)
    with pytest.raises(Conflict):  # the account still holds 10, but not for this hold
        quota.reverse(operation_id=first["operation_id"], user=CITY, reason="x", key=_key(),
                      store=store, at=T0)
    assert raw_balances(store) == before
    check_invariants(store)


def _op_keys(store: Store, op: str) -> list[str]:
    with store.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT key FROM quota_operations WHERE op = :op"
                                         " ORDER BY id"), {"op": op}).scalars())


def test_reversing_an_expiry_is_refused_and_later_writes_go_on(store: Store) -> None:
    grant(store)
    held = quota.hold(year=Y, kind="land", county="371502", project="P1", amount="10",
                      user=DCF, reason="审查", key=_key(), store=store, at=T0,
                      expires=date(2026, 3, 2))
    later = T0 + timedelta(days=1)
    quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="1", user=DCF,
                   reason="配置", key=_key(), store=store, at=later)  # posts the expiry
    assert _op_keys(store, "expire") == [f"auto:expire:{held['operation_id']}:1"]
    expiry = quota.movements(store=store, op="expire")[0]["operation_id"]
    manual_hold = quota.hold(year=Y, kind="land", county="371502", project="P3", amount="5",
                             user=DCF, reason="审查", key=_key(), store=store, at=later,
                             expires=date(2026, 3, 3))
    manual = quota.expire_holds(user=CITY, reason="到期", key=_key(), store=store,
                                at=later + timedelta(days=1))
    assert manual["expired_holds"] == [manual_hold["operation_id"]]
    before = raw_balances(store)
    for operation_id in (expiry, manual["operation_id"]):
        with pytest.raises(Conflict) as refused:
            quota.reverse(operation_id=operation_id, user=CITY, reason="误到期", key=_key(),
                          store=store, at=later)
        assert "重新办理预留" in refused.value.message_zh
    assert raw_balances(store) == before
    quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="1", user=DCF,
                   reason="配置", key=_key(), store=store, at=later + timedelta(days=2))
    assert row(store, "county:371502")["available"] == Decimal("68")
    check_invariants(store, later + timedelta(days=2))


def test_reversing_an_allocation_from_an_expired_hold_does_not_wedge(store: Store) -> None:
    grant(store)  # county 70
    held = quota.hold(year=Y, kind="land", county="371502", project="P1", amount="10",
                      user=DCF, reason="审查", key=_key(), store=store, at=T0,
                      expires=date(2026, 3, 2))
    used = quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="4",
                          user=DCF, reason="配置", key=_key(), store=store, at=T0)
    assert used["from_holds"] == "4"
    later = T0 + timedelta(days=1)
    quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="1", user=DCF,
                   reason="配置", key=_key(), store=store, at=later)  # expires the other 6
    quota.reverse(operation_id=used["operation_id"], user=CITY, reason="录入错误", key=_key(),
                  store=store, at=later)  # 4 back into the expired hold
    assert row(store, "county:371502", at=later)["available"] == Decimal("69")
    quota.allocate(year=Y, kind="land", county="371502", project="P3", amount="1", user=DCF,
                   reason="配置", key=_key(), store=store, at=later)  # expires it again
    hold_id = held["operation_id"]
    assert _op_keys(store, "expire") == [f"auto:expire:{hold_id}:1",
                                         f"auto:expire:{hold_id}:2"]
    assert row(store, "county:371502", at=T0)["available"] == Decimal("68")  # all posted
    check_invariants(store, later)


def test_replay_after_the_expiry_or_due_date_returns_the_first_result(store: Store) -> None:
    grant(store)
    grant(store, county="371521")
    hold: dict[str, Any] = {
        "year": Y, "kind": "land", "county": "371502", "project": "P1", "amount": "10",
        "user": DCF, "reason": "审查", "store": store, "expires": date(2026, 3, 2)}
    loan: dict[str, Any] = {
        "year": Y, "kind": "land", "lender": "371502", "borrower": "371521", "amount": "5",
        "due": date(2026, 3, 10), "user": CITY, "reason": "拆借", "store": store}
    first_hold = quota.hold(key="hold-once", at=T0, **hold)
    first_loan = quota.lend(key="lend-once", at=T0, **loan)
    later = T0.replace(month=4)  # after both the hold's expiry and the loan's due date
    before = counts(store)
    assert quota.hold(key="hold-once", at=later, **hold) == first_hold
    assert quota.lend(key="lend-once", at=later, **loan) == first_loan
    assert counts(store) == before  # nothing posted, not even the expiry
    with pytest.raises(BadInput, match="expire"):  # a new hold ending in the past
        quota.hold(key=_key(), at=later, **hold)
    with pytest.raises(BadInput, match="due date"):  # a new loan due in the past
        quota.lend(key=_key(), at=later, **loan)
    assert counts(store) == before
    check_invariants(store, later)


# ----- Quota goes only to real projects of the county that are still in the library

def _refused_and_nothing_written(store: Store, error: type[Exception], project: str,
                                 county: str = "371502") -> list[Exception]:
    before, balances_before = counts(store), raw_balances(store)
    caught = []
    for op in (quota.hold, quota.allocate):
        with pytest.raises(error) as info:
            op(year=Y, kind="land", county=county, project=project, amount="1", user=CITY,
               reason="x", key=f"refused-{op.__name__}", store=store, at=T0)
        caught.append(info.value)
    assert counts(store) == before and raw_balances(store) == balances_before
    return caught


def test_unknown_project_is_refused_and_nothing_is_written(store: Store) -> None:
    grant(store)
    for exc in _refused_and_nothing_written(store, NotFound, "LC-2026-0404"):
        assert exc.where == "project"  # type: ignore[attr-defined]
        assert "LC-2026-0404" in exc.message  # type: ignore[attr-defined]
        assert exc.message_zh == "项目“LC-2026-0404”不在项目库中，请先登记项目"  # type: ignore[attr-defined]
    # The refused keys were not recorded: once the project exists they run.
    register_fixed_projects(store, ["LC-2026-0404"])
    done = quota.allocate(year=Y, kind="land", county="371502", project="LC-2026-0404",
                          amount="1", user=CITY, reason="x", key="refused-allocate",
                          store=store, at=T0)
    assert done["amount"] == "1"
    assert row(store, "project:LC-2026-0404")["allocated"] == Decimal("1")
    check_invariants(store)


def test_project_of_another_county_is_refused(store: Store) -> None:
    grant(store)
    grant(store, county="371521")
    for exc in _refused_and_nothing_written(store, Conflict, "P9"):  # P9 is 阳谷县's
        assert "371521" in exc.message and "371502" in exc.message  # type: ignore[attr-defined]
        assert exc.message_zh == "项目“P9”属于县区 371521，不属于县区 371502"  # type: ignore[attr-defined]
    check_invariants(store)


def test_exited_project_is_refused_and_its_replays_still_answer(store: Store) -> None:
    grant(store)
    project = create_project(ProjectInput("聊城调出测试项目", "371502", "industrial",
                                          Decimal("1"), "东昌府区发展和改革局"),
                             user=CITY, store=store, at=T0)
    held = quota.hold(year=Y, kind="land", county="371502", project=project.code, amount="5",
                      user=DCF, reason="审查", key="before-exit", store=store, at=T0)
    assert row(store, f"project:{project.code}")["held"] == Decimal("5")
    exited = exit_project(project.code, user=CITY, reason="企业放弃", store=store, at=T0)
    assert exited["reclaim"] is not None
    assert row(store, f"project:{project.code}")["held"] == Decimal("0")
    assert row(store, "county:371502")["available"] == Decimal("70")
    for exc in _refused_and_nothing_written(store, Conflict, project.code):
        assert "exited" in exc.message  # type: ignore[attr-defined]
        assert exc.message_zh == (f"项目“{project.code}”已调出项目库，"  # type: ignore[attr-defined]
                                  "不能再预留或配置指标")
    # A replay of a hold made before the exit returns its first result, posting nothing.
    before = counts(store)
    again = quota.hold(year=Y, kind="land", county="371502", project=project.code,
                       amount="5", user=DCF, reason="审查", key="before-exit", store=store,
                       at=T0)
    assert again == held and counts(store) == before
    check_invariants(store)


def test_reversing_an_exited_projects_reclaim_or_release_gives_it_nothing_back(
        store: Store) -> None:
    """An exited project (调出) holds nothing for ever: reversing its exit's reclaim, or a
    release of its hold made before the exit, would put quota back into its accounts (and
    out of the county reserve) — refused as a new hold or allocation is, nothing written."""
    grant(store)
    project = create_project(ProjectInput("聊城调出冲正项目", "371502", "industrial",
                                          Decimal("1"), "东昌府区发展和改革局"),
                             user=CITY, store=store, at=T0)
    code = project.code
    first = quota.hold(year=Y, kind="land", county="371502", project=code, amount="2",
                       user=DCF, reason="审查", key=_key(), store=store, at=T0)
    released = quota.release(hold_id=first["operation_id"], user=DCF, reason="审查未通过",
                             key=_key(), store=store, at=T0)
    quota.hold(year=Y, kind="land", county="371502", project=code, amount="5", user=DCF,
               reason="审查", key=_key(), store=store, at=T0)
    quota.allocate(year=Y, kind="land", county="371502", project=code, amount="8", user=DCF,
                   reason="配置", key=_key(), store=store, at=T0)
    exited = exit_project(code, user=CITY, reason="企业放弃", store=store, at=T0)
    assert exited["reclaim"] is not None
    before = counts(store), raw_balances(store)
    for target in (exited["reclaim"]["operation_id"], released["operation_id"]):
        with pytest.raises(Conflict) as refused:
            quota.reverse(operation_id=target, user=CITY, reason="冲正", key=_key(),
                          store=store, at=T0)
        assert refused.value.where == "operation_id"
        assert refused.value.message_zh == (
            f"操作 {target} 不能冲正：冲正会把指标退回已调出项目库的项目“{code}”，"
            "已调出的项目不能再预留或配置指标")
    assert (counts(store), raw_balances(store)) == before
    assert row(store, f"project:{code}")["allocated"] == Decimal("0")
    assert row(store, "county:371502")["available"] == Decimal("70")
    check_invariants(store)


@pytest.mark.parametrize("named", [True, False], ids=["naming-it", "naming-none"])
def test_a_county_manager_expiring_their_county_before_its_first_grant_is_not_found(
        store: Store, named: bool) -> None:
    """A county manager's own county that no grant named yet is refused as a city-level
    user's mistyped county is (404 at county), whether they name it or not: it wrote an
    empty operation and an audit row."""
    from tests.helpers import StoreFingerprint

    grant(store, county="371521")  # another county's: the ledger is not empty
    fingerprint = StoreFingerprint(store)
    before = fingerprint()
    with pytest.raises(NotFound) as unknown:
        quota.expire_holds(county="371502" if named else None, user=DCF, reason="x",
                           key=_key(), store=store, at=T0 + timedelta(days=2))
    assert unknown.value.where == "county" and "371502" in unknown.value.message_zh
    assert fingerprint() == before
    grant(store)  # its first grant: then its holds expire as any county's
    done = quota.expire_holds(user=DCF, reason="x", key=_key(), store=store,
                              at=T0 + timedelta(days=2))
    assert done["county"] == "371502" and done["expired_holds"] == []


def test_accounts_are_named_without_the_odd_space_and_projects_by_name(store: Store) -> None:
    """Account titles read “东昌府区 县级储备” and “P1 项目配置” (a code alone) in the
    movements, balances and the 不足 refusal. Now: 东昌府区县级储备, and a project as
    名称（代码）: 测试项目 P1（P1）项目配置 (the fixture names P1 “测试项目 P1”)."""
    quota.grant(year=Y, kind="land", county="371502", amount="10", user=CITY, reason="下达",
                key=_key(), store=store, county_name="东昌府区", at=T0)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="1", user=DCF,
               reason="预留", key=_key(), store=store, at=T0)
    quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="2",
                   user=DCF, reason="配置", key=_key(), store=store, at=T0)
    moves = quota.movements(store=store, year=Y, kind="land", project="P1")
    assert [(m["from_title"], m["to_title"]) for m in moves] == [
        ("东昌府区县级储备", "测试项目 P1（P1）项目预留"),
        ("测试项目 P1（P1）项目预留", "测试项目 P1（P1）项目配置"),
        ("东昌府区县级储备", "测试项目 P1（P1）项目配置")]
    titles = {r["account"]: r["title"] for r in quota.balances(store=store, year=Y,
                                                                kind="land")}
    assert titles["county:371502"] == "东昌府区县级储备"
    assert titles["project:P1"] == "测试项目 P1（P1）项目配置"
    with pytest.raises(QuotaExceeded) as short:
        quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="8",
                       user=DCF, reason="x", key=_key(), store=store, at=T0)
    assert short.value.message_zh.startswith(
        "东昌府区县级储备新增建设用地指标可用 5 公顷（75.00 亩），不足 8 公顷（120.00 亩）")
