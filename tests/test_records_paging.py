"""The records' lists a city's scale left unpaged: the audit API's ``offset``, the quota
balances API's pages, the quota page's project choices, the tracking page's pages and its
project page, the quota export streamed (tests/test_records_scale.py has the first lists;
its counting helpers are reused here)."""

from __future__ import annotations

from pathlib import Path

from projects_support import CITY_QUOTA, DCF, T0, city
from test_records_scale import _projects, _signed_in, counted

from blueprint.analysis import quota
from blueprint.layers.audit import read_audit
from blueprint.layers.store import Store
from blueprint.layers.users import create_user

__all__ = ["city"]  # the fixture


def test_the_audit_api_reaches_every_row_by_offset(store: Store, tmp_path: Path) -> None:
    _projects(store, 6)
    token = create_user("auditor", "nr_staff", None, store=store, actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    with _signed_in(store, tmp_path) as client:
        every = [r.id for r in read_audit(store=store, limit=10_000)]  # the users' too
        total = len(every)

        def ids(**params: object) -> tuple[list[int], str]:
            got = client.get("/api/audit", headers=auth, params=params)
            assert got.status_code == 200, got.text
            return [r["id"] for r in got.json()], got.headers["X-Total-Count"]

        assert ids() == (every, str(total))
        newest, _ = ids(limit=3)
        before, count = ids(limit=3, offset=3)
        assert count == str(total) and newest == every[-3:] and before == every[-6:-3]
        pages = [ids(limit=4, offset=n)[0] for n in range(0, total, 4)]
        assert sorted(i for page in pages for i in page) == every  # every row, once
        assert ids(limit=4, offset=total) == ([], str(total))
        creates, count = ids(action="project.create", limit=2, offset=4)
        assert count == "6" and len(creates) == 2
        assert client.get("/api/audit", headers=auth,
                          params={"offset": -1}).status_code == 422
        with counted(store) as seen:
            ids(limit=2, offset=2)
        assert seen[0] <= 6  # the user, the page and its count: not a row each


def _held(store: Store, n: int, start: int = 0) -> list[str]:
    """``n`` projects of 东昌府区 each holding land quota (a hold and a project account)."""
    codes = _projects(store, n, start=start)
    for code in codes:
        quota.hold(year=2026, kind="land", county=DCF, project=code, amount="0.5",
                   user=CITY_QUOTA, reason="测试预留", key=f"hold-{code}", store=store, at=T0)
    return codes


def test_the_balances_api_sends_a_page_and_the_total(city: Store, tmp_path: Path) -> None:
    _held(city, 5)
    token = create_user("reader", "viewer", None, store=city, actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    every = quota.balances(store=city)
    with _signed_in(city, tmp_path) as client:
        whole = client.get("/api/quota/balances", headers=auth)
        assert whole.status_code == 200
        accounts = [r["account"] for r in whole.json()]
        assert accounts == [r["account"] for r in every]  # the same list as before, whole
        assert whole.headers["X-Total-Count"] == str(len(every))
        part = client.get("/api/quota/balances", headers=auth,
                          params={"limit": 4, "offset": 3})
        assert [r["account"] for r in part.json()] == accounts[3:7]
        assert part.headers["X-Total-Count"] == str(len(every))
        land = client.get("/api/quota/balances", headers=auth,
                          params={"kind": "land", "county": DCF, "limit": 2, "offset": 1})
        ours = quota.balances(store=city, kind="land", county=DCF)
        assert [r["account"] for r in land.json()] == [r["account"] for r in ours][1:3]
        assert land.headers["X-Total-Count"] == str(len(ours))
        assert any(a == "project:LC-2026-0005" for a in [r["account"] for r in ours])
        end = client.get("/api/quota/balances", headers=auth,
                         params={"offset": len(every)})
        assert end.json() == [] and end.headers["X-Total-Count"] == str(len(every))
        for bad in ({"limit": 0}, {"limit": 10_001}, {"offset": -1}):
            assert client.get("/api/quota/balances", headers=auth,
                              params=bad).status_code == 422
