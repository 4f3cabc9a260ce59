"""The records' lists a city's scale left unpaged: the audit API's ``offset``, the quota
balances API's pages, the quota page's project choices, the tracking page's pages and its
project page, the quota export streamed (tests/test_records_scale.py has the first lists;
its counting helpers are reused here)."""

from __future__ import annotations

from pathlib import Path

from test_records_scale import _projects, _signed_in, counted

from blueprint.layers.audit import read_audit
from blueprint.layers.store import Store
from blueprint.layers.users import create_user


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
