"""``rehearse=True``: an operation done up to its posting, then rolled back, on both
engines. The quota page rehearses before its confirmation, so a refusal the posting alone
would make (a reversal that overdraws a reserve) comes before the confirmation too."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from quota_support import CITY, DCF, T0, Y, register_fixed_projects

from blueprint.analysis import quota
from blueprint.layers.errors import QuotaExceeded
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
