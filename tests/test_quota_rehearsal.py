"""``rehearse=True``: an operation recorded and posted as it would be (every check of
posting), then rolled back, on both engines. The quota page rehearses before its
confirmation, so a refusal the posting alone would make (a reversal that overdraws a
reserve, or that would take back more than a hold or a project's origin has) comes before
the confirmation too; a rehearsal leaves no row, no lock and no used-up number behind."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from quota_support import CITY, DCF, T0, Y, raw_balances, register_fixed_projects

from blueprint.analysis import quota
from blueprint.layers.errors import Conflict, QuotaExceeded
from blueprint.layers.store import Store


def _key() -> str:
    return f"k-{uuid.uuid4()}"


def _rows(store: Store) -> list[int]:
    """Rows of every ledger table and of the audit log, by plain SQL."""
    with store.engine.connect() as conn:
        return [int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
                for t in ("quota_operations", "quota_entries", "quota_accounts", "audit_log")]


def test_a_rehearsal_answers_as_the_operation_and_writes_nothing(store: Store) -> None:
    register_fixed_projects(store, ["P1"])
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY,
                reason="下达", key=_key(), store=store, at=T0)  # 30 to the pool, 70 to 东昌府区
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="5", user=DCF,
               reason="预留", key=_key(), store=store, at=T0)
    before = _rows(store)
    told = quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="80",
                          from_pool=True, user=CITY, reason="配置", key=_key(), store=store,
                          at=T0, rehearse=True)
    assert told["operation_id"] is None and told["rehearsal"] is True
    # 5 from its hold, the 65 left in the reserve, 10 from the pool
    assert (told["from_holds"], told["from_county"], told["from_pool"]) == ("5", "65", "10")
    assert _rows(store) == before  # not even the project's new account


def test_a_refusal_only_posting_makes_is_rehearsed_too(store: Store) -> None:
    """Reversing a grant whose quota was allocated: the plan is fine, the posting finds the
    reserve below zero. The rehearsal says so in the same words, and writes nothing."""
    register_fixed_projects(store, ["P1"])
    first = quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY,
                        reason="下达", key=_key(), store=store, at=T0, county_name="东昌府区")
    quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="65",
                   user=DCF, reason="配置", key=_key(), store=store, at=T0)
    before = _rows(store)
    with pytest.raises(QuotaExceeded) as rehearsed:
        quota.reverse(operation_id=first["operation_id"], user=CITY, reason="下达有误",
                      key=_key(), store=store, at=T0, rehearse=True)
    # 70 granted to the reserve, 65 allocated: reversing the 70 leaves it 65 short
    said = "2026 年度东昌府区县级储备的新增建设用地指标余额不足，缺口 65 公顷（975.00 亩）"
    assert rehearsed.value.message_zh == said
    assert _rows(store) == before
    with pytest.raises(QuotaExceeded) as posted:
        quota.reverse(operation_id=first["operation_id"], user=CITY, reason="下达有误",
                      key=_key(), store=store, at=T0)
    assert posted.value.message_zh == said
    assert _rows(store) == before


def _reverse_twice(store: Store, operation_id: int) -> tuple[Conflict, Conflict]:
    """Reverse ``operation_id`` rehearsed, then for real: both refusals; nothing written
    by either (every ledger table and the audit log keep their rows)."""
    before = _rows(store)
    with pytest.raises(Conflict) as rehearsed:
        quota.reverse(operation_id=operation_id, user=CITY, reason="冲正", key=_key(),
                      store=store, at=T0, rehearse=True)
    assert _rows(store) == before
    with pytest.raises(Conflict) as posted:
        quota.reverse(operation_id=operation_id, user=CITY, reason="冲正", key=_key(),
                      store=store, at=T0)
    assert _rows(store) == before
    return rehearsed.value, posted.value


def test_a_hold_position_refusal_is_rehearsed(store: Store) -> None:
    """Two holds of one project, the first released: reversing the first would leave its
    hold account's balance at zero (the second's 5 go back) but the first hold below zero.
    Only posting's hold check sees it; the rehearsal refuses it in the same words."""
    register_fixed_projects(store, ["P1"])
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY,
                reason="下达", key=_key(), store=store, at=T0)
    first = quota.hold(year=Y, kind="land", county="371502", project="P1", amount="5",
                       user=DCF, reason="预留", key=_key(), store=store, at=T0)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="5", user=DCF,
               reason="再预留", key=_key(), store=store, at=T0)
    quota.release(hold_id=first["operation_id"], user=DCF, reason="释放", key=_key(),
                  store=store, at=T0)
    rehearsed, posted = _reverse_twice(store, first["operation_id"])
    assert rehearsed.message_zh == posted.message_zh == "预留指标已被释放或使用，不能重复操作"


def test_an_origin_position_refusal_is_rehearsed(store: Store) -> None:
    """P1 got 20 from the reserve (reclaimed since) and now holds 25 from the pool:
    reversing the first allocation leaves P1's account at 5, but would give the reserve
    back 20 that P1 no longer has from it. Only posting's origin check sees it."""
    register_fixed_projects(store, ["P1", "P2"])
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY,
                reason="下达", key=_key(), store=store, at=T0)  # 30 to the pool, 70 to the reserve
    first = quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="20",
                           user=DCF, reason="配置", key=_key(), store=store, at=T0)
    quota.reclaim(project="P1", user=DCF, reason="收回", key=_key(), store=store, at=T0)
    quota.allocate(year=Y, kind="land", county="371502", project="P2", amount="70",
                   user=DCF, reason="配置", key=_key(), store=store, at=T0)  # the reserve is empty
    pooled = quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="25",
                            from_pool=True, user=CITY, reason="统筹", key=_key(), store=store,
                            at=T0)
    assert (pooled["from_county"], pooled["from_pool"]) == ("0", "25")
    rehearsed, posted = _reverse_twice(store, first["operation_id"])
    said = "测试项目 P1（P1）项目配置退回的指标超过其获得的指标"
    assert rehearsed.message_zh == posted.message_zh == said


def _max_ids(store: Store) -> tuple[int, int, int]:
    """The highest operation, entry and audit row ids, by plain SQL."""
    with store.engine.connect() as conn:
        return tuple(int(conn.execute(sa.text(f"SELECT COALESCE(MAX(id), 0) FROM {t}"))
                         .scalar_one())
                     for t in ("quota_operations", "quota_entries", "audit_log"))  # type: ignore[return-value]


def test_a_rehearsal_then_the_operation_posts_once_and_uses_up_no_number(
        store: Store) -> None:
    """The page's order: a rehearsal, then the operation under the same key. The rehearsal
    posts (and rolls back) the expiry of a hold that is due, as the operation will; on
    PostGIS a rolled-back sequence number is not given back, so the rehearsal's rows take
    no number: the expiry and the allocation are the next operations, their entries the
    next entries, without a gap."""
    register_fixed_projects(store, ["P1"])
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY,
                reason="下达", key=_key(), store=store, at=T0)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="5", user=DCF,
               reason="预留", key=_key(), store=store, at=T0, expires=T0 + timedelta(days=1))
    later = T0 + timedelta(days=3)  # the hold is due: the next write posts its expiry
    ops, ents, audits = _max_ids(store)
    before = _rows(store)
    key = _key()
    told = quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="10",
                          user=DCF, reason="配置", key=key, store=store, at=later,
                          rehearse=True)
    assert told["operation_id"] is None and told["rehearsal"] is True
    assert (told["from_holds"], told["from_county"]) == ("0", "10")  # the hold expired
    assert _rows(store) == before
    done = quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="10",
                          user=DCF, reason="配置", key=key, store=store, at=later)
    # the expiry (one entry back to the reserve), then the allocation (one entry)
    assert done["operation_id"] == ops + 2
    assert _max_ids(store) == (ops + 2, ents + 2, audits + 2)
    again = quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="10",
                           user=DCF, reason="配置", key=key, store=store, at=later)
    assert again["operation_id"] == done["operation_id"]
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM quota_operations WHERE key LIKE :k"),
                            {"k": f"%/{key}"}).scalar_one() == 1
    # 70 granted to the reserve, 5 held and given back on expiry, 10 allocated
    balances = raw_balances(store)
    assert balances[(Y, "new_construction_land", "county", "371502")] == 60 * 10_000
    assert balances[(Y, "new_construction_land", "project", "P1")] == 10 * 10_000
    assert balances[(Y, "new_construction_land", "hold", "P1")] == 0


def test_a_rehearsed_first_hold_uses_up_no_account_number(store: Store) -> None:
    """A project's first hold opens its accounts; rehearsed first (the page's order), the
    accounts it opened take placeholder ids and roll back, so the hold itself opens them
    under the next numbers (on PostGIS a rolled-back sequence number is not given back:
    the accounts' ids had a gap after every first rehearsal)."""
    register_fixed_projects(store, ["P1"])
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY,
                reason="下达", key=_key(), store=store, at=T0)

    def accounts_now() -> tuple[int, int]:
        with store.engine.connect() as conn:
            return tuple(int(x) for x in conn.execute(sa.text(
                "SELECT COUNT(*), MAX(id) FROM quota_accounts")).one())  # type: ignore[return-value]

    count, top = accounts_now()
    key = _key()
    told = quota.hold(year=Y, kind="land", county="371502", project="P1", amount="5",
                      user=DCF, reason="预留", key=key, store=store, at=T0, rehearse=True)
    assert told["rehearsal"] is True and accounts_now() == (count, top)
    quota.hold(year=Y, kind="land", county="371502", project="P1", amount="5", user=DCF,
               reason="预留", key=key, store=store, at=T0)
    opened, newest = accounts_now()
    assert opened > count  # the hold opened the project's account(s) …
    assert newest == top + (opened - count)  # … under the next numbers, without a gap


def test_rehearsals_alongside_operations_hold_nobody_up(store: Store) -> None:
    """One thread rehearses allocations while another posts them, in the same year and
    kind: both finish (a rehearsal leaves no lock behind), only the posted ones count."""
    register_fixed_projects(store, ["P1"])
    quota.grant(year=Y, kind="land", county="371502", amount="100", user=CITY,
                reason="下达", key=_key(), store=store, at=T0)
    start = threading.Barrier(2)
    told: list[dict[str, Any]] = []
    failed: list[BaseException] = []

    def allocate_five(rehearse: bool) -> None:
        try:
            start.wait(timeout=60)
            for _ in range(5):
                result = quota.allocate(year=Y, kind="land", county="371502", project="P1",
                                        amount="1", user=DCF, reason="配置", key=_key(),
                                        store=store, at=T0, rehearse=rehearse)
                if rehearse:
                    told.append(result)
        except BaseException as exc:  # noqa: BLE001  (reported by the test below)
            failed.append(exc)

    threads = [threading.Thread(target=allocate_five, args=(r,)) for r in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads) and not failed, failed
    assert [t["operation_id"] for t in told] == [None] * 5
    # and nothing is held after them: one more operation goes through at once
    quota.allocate(year=Y, kind="land", county="371502", project="P1", amount="1",
                   user=DCF, reason="配置", key=_key(), store=store, at=T0)
    balances = raw_balances(store)
    assert balances[(Y, "new_construction_land", "county", "371502")] == 64 * 10_000
    assert balances[(Y, "new_construction_land", "project", "P1")] == 6 * 10_000
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM quota_operations WHERE op = "
                                    "'allocate'")).scalar_one() == 6
