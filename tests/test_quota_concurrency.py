"""Concurrency and crash safety of the quota ledger, on both engines.

* 20 parallel clients (threads, each with its own connection from the pool) allocate
  against a county reserve that covers exactly 7 of them: exactly 7 succeed, the others
  get ``QuotaExceeded``, and the reserve ends at zero.
* 16 parallel retries of one idempotency key post the operation once.
* A process killed inside an operation's transaction leaves all of it or none of it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from quota_support import (
    CITY,
    DCF,
    T0,
    Y,
    check_invariants,
    raw_balances,
    register_fixed_projects,
    row,
)

from blueprint.analysis import quota
from blueprint.analysis.quota.runner import stored_key
from blueprint.layers.errors import QuotaExceeded
from blueprint.layers.store import Store

REPO = Path(__file__).resolve().parent.parent
CLIENTS = 20


@pytest.fixture(autouse=True)
def _projects(store: Store) -> None:
    """The projects these tests allocate for (quota goes only to real projects)."""
    register_fixed_projects(store, [f"P{i}" for i in range(CLIENTS)])


def _in_parallel(n: int, work) -> list[object]:
    """Run ``work(i)`` in ``n`` threads released together; results or exceptions."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - collected and checked by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_parallel_allocations_never_overdraw(store: Store) -> None:
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY, reason="下达",
                key="g", store=store, at=T0)  # county reserve 70 = 7 allocations of 10

    def allocate(i: int) -> dict:
        return quota.allocate(year=Y, kind="land", county="371502", project=f"P{i}",
                              amount="10", user=DCF, reason="并发配置", key=f"a{i}",
                              store=store, at=T0)

    results = _in_parallel(CLIENTS, allocate)
    kinds = Counter(type(r).__name__ for r in results)
    assert kinds == {"dict": 7, "QuotaExceeded": CLIENTS - 7}, results
    assert all(isinstance(r, dict | QuotaExceeded) for r in results)
    county = row(store, "county:371502")
    assert (county["available"], county["allocated"]) == (Decimal("0"), Decimal("70"))
    assert row(store, "pool")["available"] == Decimal("30")  # never touched
    check_invariants(store)


def test_parallel_retries_of_one_key_post_once(store: Store) -> None:
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY, reason="下达",
                key="g", store=store, at=T0)

    def allocate(_: int) -> dict:
        return quota.allocate(year=Y, kind="land", county="371502", project="P1",
                              amount="10", user=DCF, reason="重试", key="same-key",
                              store=store, at=T0)

    results = _in_parallel(16, allocate)
    assert all(r == results[0] for r in results), results
    assert row(store, "project:P1")["allocated"] == Decimal("10")
    with store.engine.connect() as conn:
        ops = conn.execute(sa.text("SELECT COUNT(*) FROM quota_operations WHERE key = :key"),
                           {"key": stored_key("same-key", DCF.name)}).scalar_one()
    assert ops == 1


def test_holds_racing_a_project_exit_leave_nothing_held(store: Store) -> None:
    """A hold and its project's exit run one after the other (the project row is locked
    before the scopes by both): every hold either ran before the exit and was reclaimed
    by it, or came after it and was refused; no deadlock, nothing left held."""
    from blueprint.analysis.projects import ProjectInput, create_project, exit_project

    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY, reason="下达",
                key="g", store=store, at=T0)
    code = create_project(ProjectInput("并发调出测试", "371502", "industrial", Decimal("1"),
                                       "东昌府区发展和改革局"), user=CITY, store=store).code

    def work(i: int) -> object:
        if i == 8:
            return exit_project(code, user=CITY, reason="企业放弃", store=store)
        return quota.hold(year=Y, kind="land", county="371502", project=code, amount="1",
                          user=DCF, reason="并发预留", key=f"h{i}", store=store)

    results = _in_parallel(16, work)
    kinds = Counter(type(r).__name__ for r in results)
    assert set(kinds) <= {"dict", "Conflict"} and kinds["dict"] >= 1, results
    mine = [r for r in quota.balances(store=store) if r["account"] == f"project:{code}"]
    assert all(r["held"] == r["allocated"] == 0 for r in mine), mine
    assert row(store, "county:371502")["available"] == Decimal("70")
    check_invariants(store)


CHILD = """
import os, sys
from pathlib import Path
from blueprint.layers.store import open_store
from blueprint.layers.users import User
from blueprint.analysis import quota
store = open_store(os.environ["QUOTA_TEST_URL"], Path(os.environ["QUOTA_TEST_DIR"]),
                   migrate=False)
quota.allocate(year=2026, kind="land", county="371502", project="P1", amount="20",
               user=User("killed", "admin"), reason="killed", key="killed-op", store=store)
print("finished", flush=True)
"""


def _run_and_kill(store: Store) -> None:
    env = os.environ | {"BLUEPRINT_TEST_PAUSE_IN_TX": "120", "PYTHONPATH": str(REPO),
                        "QUOTA_TEST_URL": store.database_url,
                        "QUOTA_TEST_DIR": str(store.data_dir)}
    child = subprocess.Popen([sys.executable, "-c", CHILD], env=env, cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in child.stderr:  # type: ignore[union-attr]
            seen.append(line)
            if "BLUEPRINT_TEST_PAUSED" in line:
                break
        else:
            raise AssertionError(f"the child never paused: {''.join(seen)}")
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL


def test_killed_process_leaves_all_or_nothing(store: Store) -> None:
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY, reason="下达",
                key="g", store=store, at=T0)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="5", user=DCF,
               reason="审查", key="h", store=store, at=T0)
    before = raw_balances(store)
    _run_and_kill(store)  # killed after the first of two entries (hold, then county)
    assert raw_balances(store) == before
    with store.engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT COUNT(*) FROM quota_operations WHERE key = 'killed-op'")).scalar_one() == 0
        assert conn.execute(sa.text(
            "SELECT COUNT(*) FROM audit_log WHERE actor = 'killed'")).scalar_one() == 0
    check_invariants(store)
    # Nothing is left locked, and the same key now runs through completely.
    done = quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="20",
                          user=DCF, reason="重做", key="killed-op", store=store, at=T0)
    assert (done["from_holds"], done["from_county"]) == ("5", "15")
    assert row(store, "county:371502")["available"] == Decimal("50")
    check_invariants(store)
