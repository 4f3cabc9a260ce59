"""The records' lists a city's scale left unpaged: the audit API's ``offset``, the quota
balances API's pages, the quota page's project choices, the tracking page's pages and its
project page, the quota export streamed (tests/test_records_scale.py has the first lists;
its counting helpers are reused here)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from projects_support import CITY_QUOTA, DCF, STAFF, T0, city, park_project, site
from test_records_scale import (
    PASSWORD,
    _projects,
    _signed_in,
    catalogue_marker_read_each_time,
    counted,
    sites_decoded,
)

from blueprint.analysis import quota
from blueprint.analysis.projects import create_project
from blueprint.layers.audit import read_audit
from blueprint.layers.sessions import sign_in
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

__all__ = ["catalogue_marker_read_each_time", "city"]  # the fixtures


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


@contextmanager
def _page_user(store: Store, tmp_path: Path, name: str, role: str,
               county: str | None) -> Iterator[TestClient]:
    """The real app serving ``store``, signed in as a new user ``name``."""
    create_user(name, role, county, store=store, actor="test", password=PASSWORD)
    app = create_app(Settings(data_dir=tmp_path / f"app-{name}"))
    with TestClient(app, base_url="https://testserver") as client:
        own, app.state.store = app.state.store, store
        try:
            client.cookies.set("bp_session", sign_in(name, PASSWORD, store=store,
                                                     hours=1)[0])
            yield client
        finally:
            app.state.store = own


def _sited(store: Store, n: int, county: str, start: int) -> list[str]:
    return [create_project(park_project(name=f"选项项目{start + i}", county=county),
                           site=site("01_park_clean.txt"), user=STAFF, store=store,
                           at=T0).code for i in range(n)]


def _choices(html: str) -> list[str]:
    found = re.search(r'<datalist id="bp-project-codes">(.*?)</datalist>', html, re.S)
    assert found is not None
    return re.findall(r'<option value="([^"]+)"', found.group(1))


def test_the_quota_page_offers_a_bounded_list_of_the_users_county_projects(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The forms' project choices: a county manager's are its county's, the newest few;
    the page reads them by SQL (counted: the statements, the sites decoded), not the whole
    library whatever its size."""

    from blueprint.web import quota_pages

    monkeypatch.setattr(quota_pages, "PROJECT_CHOICES", 4)
    ours = _sited(city, 3, DCF, 0)
    _sited(city, 3, "371521", 3)
    decoded = sites_decoded(monkeypatch)
    with _page_user(city, tmp_path, "county_q", "county_quota_manager", DCF) as client:
        assert client.get("/quota").status_code == 200  # the session's first use, once
        decoded[0] = 0
        with counted(city) as seen:
            first = client.get("/quota")
        at_first = decoded[0]  # the county boundaries' (PostGIS) and three projects' sites
        few = seen[0]
        assert _choices(first.text) == ours
        assert 'id="bp-project-choices"' not in first.text
        ours += _sited(city, 5, DCF, 6)
        _sited(city, 5, "371521", 11)
        decoded[0] = 0
        with counted(city) as seen:
            later = client.get("/quota").text
        assert seen[0] == few  # not a statement more for more projects
        assert _choices(later) == ours[-4:]  # the newest four of the county's eight
        assert decoded[0] == at_first + 1  # one site more offered, not ten more read
        assert "项目编号的候选列出最新的 4 个项目（共 8 个），其他项目请直接输入编号。" in later
    with _page_user(city, tmp_path, "city_q", "city_quota_manager", None) as client:
        shown = _choices(client.get("/quota").text)
        assert len(shown) == 4 and shown[-1] != ours[-1]  # the city's newest: of 371521


def _tracked(store: Store, n: int, start: int = 0) -> list[str]:
    """``n`` projects of 东昌府区 with a plan (tracked), sites included."""
    from datetime import date

    from blueprint.analysis.tracking import Milestone, set_plan

    codes = []
    for i in range(n):
        code = create_project(park_project(name=f"跟踪项目{start + i}"),
                              site=site("01_park_clean.txt"), user=STAFF, store=store,
                              at=T0).code
        set_plan(code, milestones=[Milestone("start", date(2026, 4, 15), "住房和城乡建设局")],
                 investment={"2026-03": "100", "2026-04": "100"}, user=STAFF, store=store,
                 at=T0)
        codes.append(code)
    return codes


def _listed(html: str) -> list[str]:
    found = re.search(r'<table class="bp-table" id="bp-tracking-list">(.*?)</table>', html,
                      re.S)
    assert found is not None
    return re.findall(r'<a href="/tracking/projects/(LC-\d{4}-\d{4})">', found.group(1))


def _on_map(page: str, words: str) -> bool:
    """Whether the battle map's data (JSON in the page's script) holds ``words``."""
    return json.dumps(words)[1:-1] in page


def test_the_tracking_page_is_one_page_of_tracked_projects(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blueprint.web import tracking_pages

    monkeypatch.setattr(tracking_pages, "PAGE_SIZE", 3)
    codes = _tracked(store, 7)
    _projects(store, 2, start=7)  # not tracked
    with _signed_in(store, tmp_path) as client:
        first = client.get("/tracking").text
        assert _listed(first) == codes[:3]
        assert "共 7 个跟踪项目（红色 7 个、黄色 0 个、绿色 0 个），第 1 / 3 页，" \
               "地图显示全部 7 个，清单显示本页的项目" in first
        assert 'id="bp-next-page"' in first
        # the map holds every tracked project, whatever the list's page: a tooltip names
        # each by code and name
        assert all(_on_map(first, f"跟踪项目{n}（") for n in range(7))
        last = client.get(f"/tracking?county={DCF}&colour=red&page=3").text
        assert _listed(last) == codes[6:] and "第 3 / 3 页" in last
        assert f"county={DCF}&amp;colour=red&amp;page=2" in last
        assert 'id="bp-next-page"' not in last and _on_map(last, "跟踪项目0（")
        for asked in ("99", "0", "x", "²"):  # beyond the last: the last; else the first
            shown = client.get("/tracking", params={"page": asked}).text
            assert _listed(shown) == (codes[6:] if asked == "99" else codes[:3])
        none = client.get("/tracking?colour=green").text
        assert _listed(none) == [] and "共 0 个跟踪项目" in none and "第 1 / 1 页" in none


def test_the_tracking_project_page_computes_only_its_projects_colour(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project page's colour is the one the list gives, computed for that project
    alone (counted: the colours computed, the sites decoded), not for its whole county."""
    import shapely

    from blueprint.analysis.tracking import project_statuses, status

    codes = _tracked(store, 2)
    computed, decoded = [0], [0]
    real_colour, real_wkb = status.colour_of, shapely.from_wkb

    def colour_of(*args: Any, **kwargs: Any) -> Any:
        computed[0] += 1
        return real_colour(*args, **kwargs)

    def from_wkb(*args: Any, **kwargs: Any) -> Any:
        decoded[0] += 1
        return real_wkb(*args, **kwargs)

    with _signed_in(store, tmp_path) as client:
        def shown(code: str) -> tuple[str, int, int, int]:
            computed[0] = decoded[0] = 0
            with counted(store) as seen, monkeypatch.context() as m:
                m.setattr(status, "colour_of", colour_of)
                m.setattr(shapely, "from_wkb", from_wkb)
                html = client.get(f"/tracking/projects/{code}").text
            found = re.search(r'<span id="bp-colour"[^>]*>([^<]+)</span>', html)
            assert found is not None
            return found.group(1), computed[0], decoded[0], seen[0]

        shown(codes[0])  # once first: the counties' names are read once per layer version
        few = shown(codes[0])
        codes += _tracked(store, 6, start=2)
        many = shown(codes[0])
        assert many == few and few[1] == 1  # one colour computed, whatever the county has
        colours = {s.project.code: s.colour for s in project_statuses(store=store)}
        from blueprint.analysis.tracking.model import COLOUR_ZH

        assert few[0] == COLOUR_ZH[colours[codes[0]]]
        untracked = _projects(store, 1, start=9)[0]
        page = client.get(f"/tracking/projects/{untracked}")
        assert page.status_code == 404 and 'id="bp-colour"' not in page.text


def test_the_quota_export_is_sent_as_the_ledger_is_read(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSV of movements is written a batch of entries at a time (counted: one statement
    a batch, read only when the batch before has been sent), and sent as a stream (no
    Content-Length: the server does not hold the file); the bytes are the same as the
    whole file rendered at once. An .xlsx is sent when it is complete."""
    import io

    from openpyxl import load_workbook

    from blueprint.analysis.quota import exports
    from blueprint.layers.errors import BadInput
    from blueprint.layers.users import actor_zh

    monkeypatch.setattr(exports, "BATCH", 3)
    _held(city, 5)
    rows = [r | {"actor": actor_zh(r["actor"])}
            for r in quota.movements(store=city, limit=10_000)]
    assert len(rows) > 9
    whole = exports.render(rows, what="movements", fmt="csv")
    chunks = exports.export_chunks(what="movements", fmt="csv", store=city)
    with counted(city) as seen:
        header = next(chunks)
        assert seen[0] == 0 and header.decode("utf-8-sig").count("\r\n") == 1
        pieces, read = [header], [0]
        for piece in chunks:
            pieces.append(piece)
            read.append(seen[0])
            assert piece.decode("utf-8").count("\r\n") == min(3, len(rows) - 3 * (
                len(pieces) - 2))
    # the same few statements for each batch, read when it is asked for
    steps = {b - a for a, b in itertools.pairwise(read)}
    assert len(steps) == 1 and steps.pop() > 0
    assert b"".join(pieces) == whole and len(pieces) == 1 + (len(rows) + 2) // 3
    try:
        exports.export_chunks(what="movements", fmt="csv", store=city, op="nope")
        raise AssertionError("a bad filter is refused before the first piece")
    except BadInput as exc:
        assert exc.where == "op"
    out = exports.write_export(tmp_path / "m.csv", what="movements", fmt="csv", store=city)
    assert out.read_bytes() == whole and not (tmp_path / "m.csv.partial").exists()
    token = create_user("reader", "viewer", None, store=city, actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    with _signed_in(city, tmp_path) as client:
        with counted(city) as seen:
            sent = client.get("/api/quota/export", headers=auth,
                              params={"what": "movements", "format": "csv"})
        assert sent.status_code == 200 and sent.content == whole
        assert "content-length" not in sent.headers  # streamed, not one body
        assert sent.headers["content-type"] == "text/csv; charset=utf-8"
        assert seen[0] >= len(rows) // 3  # in batches
        book = client.get("/api/quota/export", headers=auth,
                          params={"what": "movements", "format": "xlsx"})
        assert book.status_code == 200 and "content-length" not in book.headers
        sheet = load_workbook(io.BytesIO(book.content)).active
        assert sheet is not None and sheet.max_row == len(rows) + 1
        page = client.get("/quota/export", params={"format": "csv", "year": "2026",
                                                   "kind": "land"})
        assert page.status_code == 200 and "content-length" not in page.headers
        land = [r for r in rows if r["kind"] == "new_construction_land" and r["year"] == 2026]
        assert page.content == exports.render(land, what="movements", fmt="csv")
        refused = client.get("/api/quota/export", headers=auth,
                             params={"what": "movements", "format": "csv", "kind": "x"})
        assert refused.status_code == 422


def test_the_quota_page_computes_only_the_shown_year_and_kinds_balances(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The year list and the confirmation's county names are read, not taken from every
    year's and kind's balances computed (counted: the balance sheets computed)."""
    import importlib

    sheets = importlib.import_module("blueprint.analysis.quota.balances")
    _held(city, 2)
    quota.grant(year=2027, kind="land", county=DCF, amount="10", user=CITY_QUOTA,
                reason="下一年度", key="grant-2027", store=city, at=T0)
    asked: list[tuple[Any, Any]] = []
    real = sheets.balance_rows

    def balance_rows(conn: Any, **kwargs: Any) -> Any:
        asked.append((kwargs.get("year"), kwargs.get("kind")))
        return real(conn, **kwargs)

    monkeypatch.setattr(sheets, "balance_rows", balance_rows)
    pages = importlib.import_module("blueprint.web.quota_pages")
    real_page = pages.balance_page

    def balance_page(**kwargs: Any) -> Any:  # the page's rows, from their accounts alone
        asked.append((kwargs.get("year"), kwargs.get("kind")))
        return real_page(**kwargs)

    monkeypatch.setattr(pages, "balance_page", balance_page)
    with _page_user(city, tmp_path, "city_q", "city_quota_manager", None) as client:
        page = client.get("/quota", params={"year": "2026", "kind": "land"}).text
        assert asked and all(year == 2026 and kind for year, kind in asked)
        assert ">2027</option>" in page and "<option selected>2026</option>" in page
        asked.clear()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        confirm = client.post("/quota/ops", data={
            "csrf": csrf.group(1), "op": "hold", "kind": "land", "year": "2026",
            "county": DCF, "project": "LC-2026-0001", "amount": "1", "reason": "测试"})
        assert confirm.status_code == 200 and "东昌府区" in confirm.text
        assert all(year is not None for year, _ in asked)
