"""Property-based test: random sequences of quota operations keep the ledger's invariants.

A hypothesis state machine drives grants, holds, releases, expiry, allocations (with and
without the pool, by city and county users, some out of scope), loans, repayments, paid
adjustments, reclaims, reversals (of any operation in the ledger, automatic expiries too),
retirements, clock jumps and replays. After every step: no balance below zero, every
(year, kind) sums to what was granted, the balances report agrees (see
``quota_support.check_invariants``). A refused operation changes nothing; a replayed key
returns the first result and changes nothing.

Each example gets a fresh, empty store of the engine under test.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from conftest import make_store
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from quota_support import (
    CITY,
    DCF,
    T0,
    YG,
    Y,
    check_invariants,
    raw_balances,
    register_fixed_projects,
)

from blueprint.analysis import quota
from blueprint.analysis.clock import today_cn
from blueprint.layers.errors import BadInput, Conflict, NotAllowed, NotFound

COUNTIES = ("371502", "371521")
MANAGERS = {"371502": DCF, "371521": YG}
PROJECTS = {"P0": "371502", "P1": "371502", "P2": "371521", "P3": "371521"}
KINDS = ("land", "SO2")

amounts = st.integers(min_value=1, max_value=30000).map(lambda n: Decimal(n) / 100)
who = st.sampled_from(("city", "own", "other"))


class LedgerMachine(RuleBasedStateMachine):
    """Random operations against a fresh store."""

    engine_name: str
    data_dir: Path

    def __init__(self) -> None:
        super().__init__()
        self._store_gen = make_store(self.engine_name, self.data_dir / uuid.uuid4().hex)
        self.store = next(self._store_gen)
        register_fixed_projects(self.store, PROJECTS)  # quota goes only to real projects
        self.year = Y
        self.clock = T0
        self.holds: list[int] = []
        self.loans: list[int] = []
        self.ops: list[int] = []
        self.done: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []

    def _user(self, county: str, choice: str) -> Any:
        if choice == "city":
            return CITY
        other = COUNTIES[1 - COUNTIES.index(county)]
        return MANAGERS[county if choice == "own" else other]

    def _call(self, fn: Any, *, forbidden: bool = False, **kwargs: Any) -> dict | None:
        kwargs |= {"store": self.store, "key": f"k-{uuid.uuid4()}", "at": self.clock,
                   "reason": "随机操作"}
        before = raw_balances(self.store)
        try:
            result = fn(**kwargs)
        except (NotAllowed, Conflict, NotFound, BadInput) as exc:  # QuotaExceeded: Conflict
            assert raw_balances(self.store) == before, f"refused {fn.__name__} changed state"
            assert not isinstance(exc, BadInput) or fn is quota.lend, exc
            return None
        assert not forbidden, f"{fn.__name__} by an out-of-scope user was allowed"
        if result["operation_id"] is None:  # nothing to do (no hold due): nothing recorded
            assert fn is quota.expire_holds and raw_balances(self.store) == before
            return result
        self.ops.append(result["operation_id"])
        self.done.append((fn, kwargs, result))
        return result

    @initialize(grants=st.lists(st.integers(100, 1000), min_size=4, max_size=4))
    def opening_grants(self, grants: list[int]) -> None:
        for (county, kind), amount in zip(itertools.product(COUNTIES, KINDS), grants,
                                          strict=True):
            assert self._call(quota.grant, year=self.year, kind=kind, county=county,
                              amount=Decimal(amount), user=CITY)

    @rule(county=st.sampled_from(COUNTIES), kind=st.sampled_from(KINDS), amount=amounts)
    def grant(self, county: str, kind: str, amount: Decimal) -> None:
        self._call(quota.grant, year=self.year, kind=kind, county=county, amount=amount,
                   user=CITY)

    @rule(project=st.sampled_from(sorted(PROJECTS)), kind=st.sampled_from(KINDS),
          amount=amounts, by=who, from_pool=st.booleans(),
          days=st.one_of(st.none(), st.integers(0, 4)))
    def hold(self, project: str, kind: str, amount: Decimal, by: str, from_pool: bool,
             days: int | None) -> None:
        county = PROJECTS[project]
        expires = today_cn(self.clock) + timedelta(days=days) if days is not None else None
        result = self._call(quota.hold, year=self.year, kind=kind, county=county,
                            project=project, amount=amount, user=self._user(county, by),
                            from_pool=from_pool, expires=expires,
                            forbidden=by == "other" or (from_pool and by != "city"))
        if result:
            self.holds.append(result["operation_id"])

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        self._call(quota.release, hold_id=data.draw(st.sampled_from(self.holds)), user=CITY)

    @rule()
    def expire(self) -> None:
        self._call(quota.expire_holds, user=CITY, year=self.year)

    @rule(project=st.sampled_from(sorted(PROJECTS)), kind=st.sampled_from(KINDS),
          amount=amounts, by=who, from_pool=st.booleans())
    def allocate(self, project: str, kind: str, amount: Decimal, by: str,
                 from_pool: bool) -> None:
        county = PROJECTS[project]
        self._call(quota.allocate, year=self.year, kind=kind, county=county, project=project,
                   amount=amount, user=self._user(county, by), from_pool=from_pool,
                   forbidden=by == "other" or (from_pool and by != "city"))

    @rule(lender=st.sampled_from(COUNTIES), kind=st.sampled_from(KINDS), amount=amounts,
          days=st.integers(0, 5))
    def lend(self, lender: str, kind: str, amount: Decimal, days: int) -> None:
        borrower = COUNTIES[1 - COUNTIES.index(lender)]
        result = self._call(quota.lend, year=self.year, kind=kind, lender=lender,
                            borrower=borrower, amount=amount, user=CITY,
                            due=today_cn(self.clock) + timedelta(days=days))
        if result:
            self.loans.append(result["operation_id"])

    @precondition(lambda self: self.loans)
    @rule(data=st.data(), amount=st.one_of(st.none(), amounts))
    def repay(self, data: st.DataObject, amount: Decimal | None) -> None:
        self._call(quota.repay, loan_id=data.draw(st.sampled_from(self.loans)), user=CITY,
                   amount=amount)

    @rule(seller=st.sampled_from(COUNTIES), kind=st.sampled_from(KINDS), amount=amounts)
    def adjust(self, seller: str, kind: str, amount: Decimal) -> None:
        buyer = COUNTIES[1 - COUNTIES.index(seller)]
        self._call(quota.adjust, year=self.year, kind=kind, seller=seller, buyer=buyer,
                   amount=amount, price=Decimal("1000.50"), user=CITY)

    @rule(project=st.sampled_from(sorted(PROJECTS)), by=who)
    def reclaim(self, project: str, by: str) -> None:
        self._call(quota.reclaim, project=project, year=self.year,
                   user=self._user(PROJECTS[project], by),
                   forbidden=by == "other")

    def _ledger_ops(self, actor: str | None = None) -> list[int]:
        """Every operation in the ledger (system expiries too), or those of one actor."""
        query = "SELECT id FROM quota_operations" + (" WHERE actor = :actor" if actor else "")
        with self.store.engine.connect() as conn:
            return sorted(conn.execute(sa.text(query), {"actor": actor}).scalars())

    @precondition(lambda self: self.ops)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        self._call(quota.reverse, operation_id=data.draw(st.sampled_from(self._ledger_ops())),
                   user=CITY)

    @rule(data=st.data())
    def reverse_system_operation(self, data: st.DataObject) -> None:
        """Automatic expiries are refused; nothing may wedge later writes."""
        system = self._ledger_ops("system")
        if system:
            self._call(quota.reverse, operation_id=data.draw(st.sampled_from(system)),
                       user=CITY)

    @rule(account=st.sampled_from(("pool", *COUNTIES)), kind=st.sampled_from(KINDS),
          amount=amounts)
    def retire(self, account: str, kind: str, amount: Decimal) -> None:
        self._call(quota.retire, year=self.year, kind=kind, account=account, amount=amount,
                   user=CITY)

    @rule(hours=st.integers(1, 72))
    def advance_clock(self, hours: int) -> None:
        self.clock += timedelta(hours=hours)

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        fn, kwargs, first = data.draw(st.sampled_from(self.done))
        before = raw_balances(self.store)
        assert fn(**(kwargs | {"at": self.clock, "reason": "重放"})) == first
        assert raw_balances(self.store) == before

    @invariant()
    def ledger_is_sound(self) -> None:
        check_invariants(self.store, self.clock)

    def teardown(self) -> None:
        next(self._store_gen, None)


def test_random_operations_keep_the_invariants(engine_name: str, tmp_path: Path) -> None:
    LedgerMachine.engine_name, LedgerMachine.data_dir = engine_name, tmp_path
    runner = LedgerMachine.TestCase
    runner.settings = settings(max_examples=25, stateful_step_count=20, deadline=None,
                               suppress_health_check=list(HealthCheck))
    runner().runTest()
