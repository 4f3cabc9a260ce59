"""Idempotency keys are scoped to their actor; the system's prefixes are reserved (issue 12).

A county manager used to be able to send ``grant-csv:2027:371502:…``, the key the city's
yearly grant file would use, and the grant then failed as a conflict. Both engines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from quota_support import register_fixed_projects

from blueprint.analysis import quota
from blueprint.analysis.quota.grants import grant_from_csv
from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store
from blueprint.layers.users import User, create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

CITY = User("市局", "city_quota_manager")
COUNTY = User("王科长", "county_quota_manager", county="371502")
GRANT_KEY = "grant-csv:2027:371502:new_construction_land"


@pytest.fixture(autouse=True)
def _project(store: Store) -> None:
    """The project the holds name (quota goes only to real projects)."""
    register_fixed_projects(store, ["LC-2027-0001"])


def _grant(user: User, key: str, store: Store, amount: str = "100") -> dict:
    return quota.grant(year=2027, kind="land", county="371502", amount=amount, user=user,
                       reason="下达", key=key, store=store)


def _hold(user: User, key: str, store: Store) -> dict:
    return quota.hold(year=2027, kind="land", county="371502", project="LC-2027-0001",
                      amount="1", user=user, reason="预留", key=key, store=store)


def test_the_grant_file_key_cannot_be_taken_by_a_county(store: Store, tmp_path: Path) -> None:
    _grant(CITY, "first", store)
    with pytest.raises(BadInput) as refused:
        _hold(COUNTY, GRANT_KEY, store)
    assert refused.value.where == "key" and "reserved" in refused.value.message
    for prefix in ("auto:expire:1:1", "project-exit:LC-1:1", "system:x"):
        with pytest.raises(BadInput):
            _hold(COUNTY, prefix, store)
    path = tmp_path / "q.csv"
    path.write_text("year,county_code,county_name,kind,amount,unit\n"
                    "2027,371502,东昌府区,new_construction_land,50,ha\n", encoding="utf-8")
    first = grant_from_csv(path, store=store, actor="市局")
    # Anyone loading the same file replays it: the file's keys are not scoped.
    assert grant_from_csv(path, store=store, actor="另一位") == first
    assert first[0]["key"] == GRANT_KEY


def test_the_same_key_from_two_users_is_two_operations(store: Store) -> None:
    _grant(CITY, "2027-land", store)
    held = _hold(COUNTY, "2027-land", store)  # the same key, another user: no conflict
    assert held["op"] == "hold" and held["key"] == "2027-land"
    assert _hold(COUNTY, "2027-land", store) == held  # the same user: a replay
    other = User("李科长", "county_quota_manager", county="371502")
    assert _hold(other, "2027-land", store)["operation_id"] != held["operation_id"]
    with store.engine.connect() as conn:
        keys = list(conn.execute(sa.text("SELECT key FROM quota_operations")).scalars())
    assert len(set(keys)) == 3 and all(k.startswith("~") and len(k) <= 200 for k in keys)
    shown = {m["key"] for m in quota.movements(store=store)}
    assert shown == {"2027-land"}


def test_the_api_refuses_a_reserved_key_and_scopes_the_rest(store: Store) -> None:
    city = create_user("市局", "city_quota_manager", None, store=store, actor="t")
    county = create_user("王科长", "county_quota_manager", "371502", store=store, actor="t")
    app = create_app(Settings(data_dir=store.data_dir, database_url=store.database_url))
    grant = {"year": 2027, "kind": "land", "county": "371502", "amount": "10",
             "reason": "下达"}
    hold = {"year": 2027, "kind": "land", "county": "371502", "project": "LC-2027-0001",
            "amount": "1", "reason": "预留"}
    with TestClient(app) as client:
        def post(token: str, path: str, body: dict, key: str):
            return client.post(path, json=body, headers={"Authorization": f"Bearer {token}",
                                                         "Idempotency-Key": key})

        assert post(city, "/api/quota/grants", grant, "k-1").status_code == 200
        refused = post(county, "/api/quota/holds", hold, GRANT_KEY)
        assert refused.status_code == 422 and refused.json()["where"] == "key"
        assert "系统保留" in refused.json()["message_zh"]
        assert post(county, "/api/quota/holds", hold, "k-1").status_code == 200
        assert post(city, "/api/quota/grants", grant, "k-1").status_code == 200  # replay
