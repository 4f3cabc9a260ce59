"""The records' lists at a city's scale: the SQL statements a list takes do not grow with
the number of projects or rounds (no query per row), and the project library's page shows
one page of projects, not the whole table (bench/records_scale.py measures the rest)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from projects_support import DCF, STAFF, T0, city, park_project, site

from blueprint.analysis.consultation import answer, inbox, overdue, start_round
from blueprint.analysis.projects import (
    count_projects,
    create_project,
    list_projects,
    vet_project,
)
from blueprint.layers.sessions import sign_in
from blueprint.layers.store import Store
from blueprint.layers.users import User, create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

__all__ = ["city"]  # the fixture

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def catalogue_marker_read_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The layer catalogue's marker read on every request, whatever the wall clock: the
    embedded engine skips that read (one transaction: ``BEGIN`` and the marker's
    ``SELECT``) once the database files have been still for ``SETTLED_S`` (1 s), so a
    request counted within a second of the last write took two statements more than one
    counted later (autouse here and where imported: test_records_reads, test_records_paging)
    — ``/tracking`` counted 26 for 9 projects against 24 for 3 when the
    machine was slow enough for the first to come over a second after the writes (and
    the other way round). The counts here compare requests, not the clock."""
    from blueprint.layers import catalogue_cache

    monkeypatch.setattr(catalogue_cache, "SETTLED_S", float("inf"))


@contextmanager
def counted(store: Store) -> Iterator[list[int]]:
    """The number of SQL statements run on ``store`` inside the block (``[n]``)."""
    seen = [0]

    def count(*_: Any) -> None:
        seen[0] += 1

    sa.event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count)


def statements(store: Store, call: Callable[[], object]) -> int:
    with counted(store) as seen:
        call()
    return seen[0]


def _projects(store: Store, n: int, start: int = 0) -> list[str]:
    return [create_project(park_project(name=f"项目{start + i}", tags=("city_key",)),
                           user=STAFF, store=store, at=T0).code for i in range(n)]



def sites_decoded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A counter (``[n]``) of the geometries decoded from WKB from now on: a stored site
    read is one; set it back to 0 to count one request."""
    import shapely

    decoded = [0]
    real = shapely.from_wkb

    def counting(*args: Any, **kwargs: Any) -> Any:
        decoded[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(shapely, "from_wkb", counting)
    return decoded

def test_listing_projects_takes_the_same_statements_for_few_and_many(store: Store) -> None:
    _projects(store, 3)
    few = statements(store, lambda: list_projects(store=store))
    codes = _projects(store, 12, start=3)
    many = statements(store, lambda: list_projects(store=store))
    assert many == few
    listed = list_projects(store=store)
    assert len(listed) == 15 and all(p.tags == ("city_key",) for p in listed)
    page = list_projects(store=store, limit=5, offset=10)
    assert [p.code for p in page] == [p.code for p in listed][10:15]
    assert page[-1].code == codes[-1]
    assert count_projects(store=store) == 15
    assert count_projects(store=store, county=DCF, tag="city_key") == 15
    assert count_projects(store=store, county="371521") == 0


def _round(store: Store, n: int) -> int:
    code = create_project(park_project(name=f"会商项目{n}", emissions={"SO2": 0.1}),
                          site=site("01_park_clean.txt"), user=STAFF, store=store,
                          at=T0).code
    vet_project(code, user=STAFF, store=store, at=T0)
    rnd = start_round(code, user=STAFF, store=store, at=T0)
    answer(rnd.id, user=User("nr_1", "department", department="nr"), answer="agree",
           text="同意", store=store, at=T0)
    return rnd.id


def test_inbox_and_overdue_take_the_same_statements_for_few_and_many_rounds(
        city: Store) -> None:
    later = date(2026, 4, 1)  # every deadline passed
    first = [_round(city, n) for n in range(2)]
    few = (statements(city, lambda: inbox("nr", store=city, today=later)),
           statements(city, lambda: inbox("ee", store=city, today=later)),
           statements(city, lambda: overdue(store=city, today=later)))
    rest = [_round(city, n) for n in range(2, 6)]
    many = (statements(city, lambda: inbox("nr", store=city, today=later)),
            statements(city, lambda: inbox("ee", store=city, today=later)),
            statements(city, lambda: overdue(store=city, today=later)))
    assert many == few
    nr = inbox("nr", store=city, today=later)
    assert {r["round_id"] for r in nr} == set(first + rest)
    assert {(r["answer"], r["overdue"]) for r in nr} == {("agree", False)}
    ee = inbox("ee", store=city, today=later)
    assert {(r["answer"], r["overdue"]) for r in ee} == {(None, True)}
    late = overdue(store=city, today=later)
    assert "nr" not in late and {r["round_id"] for r in late["ee"]} == set(first + rest)


@contextmanager
def _signed_in(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    """The real app serving ``store``, signed in as city-level staff."""
    create_user("nr", "nr_staff", None, store=store, actor="test", password=PASSWORD)
    app = create_app(Settings(data_dir=tmp_path / "app"))
    with TestClient(app, base_url="https://testserver") as client:
        own, app.state.store = app.state.store, store
        try:
            client.cookies.set("bp_session", sign_in("nr", PASSWORD, store=store,
                                                     hours=1)[0])
            yield client
        finally:
            app.state.store = own


def _rows(html: str) -> list[str]:
    return re.findall(r'<a href="/projects/(LC-\d{4}-\d{4})">', html)


def test_the_project_library_page_is_one_page_of_projects(store: Store,
                                                          tmp_path: Path) -> None:
    _projects(store, 3)
    with _signed_in(store, tmp_path) as client:
        client.get("/projects")  # once first: the counties' names are read once per version
        with counted(store) as seen:
            assert client.get("/projects").status_code == 200
        few = seen[0]
        _projects(store, 60, start=3)
        with counted(store) as seen:
            first = client.get("/projects").text
        assert seen[0] == few  # one page, and no query per project
        every = [p.code for p in list_projects(store=store)]
        assert _rows(first) == every[:50]
        assert "共 63 个项目，第 1 / 2 页" in first and 'id="bp-next-page"' in first
        second = client.get(f"/projects?county={DCF}&page=2").text
        assert _rows(second) == every[50:]
        assert "第 2 / 2 页" in second and f"county={DCF}&amp;page=1" in second
        assert 'id="bp-next-page"' not in second
        for asked in ("99", "0", "x", "9" * 40):  # beyond the last: the last; else the first
            shown = client.get(f"/projects?page={asked}").text
            assert _rows(shown) == (every[50:] if asked[0] == "9" else every[:50])


_PLANS = itertools.count()


def _plan(store: Store, sql: str, params: dict[str, Any]) -> str:
    """The query plan of ``sql`` as text (PostgreSQL: with sequential scans made dear, so
    a tiny test table shows which index the planner can use). The text is new each time:
    Python's sqlite3 keeps a prepared EXPLAIN, with the plan of when it was prepared."""
    sql = f"{sql} /* {next(_PLANS)} */"
    with store.engine.connect() as conn:
        if store.database_url:
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            rows = conn.execute(sa.text("EXPLAIN " + sql), params).all()
        else:
            rows = conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql), params).all()
        conn.rollback()
    return "\n".join(str(r[-1]) for r in rows)


AUDIT_OF_ACTION = ("SELECT id FROM audit_log WHERE action = :a ORDER BY id DESC LIMIT 1000")
HOLDS_OF_PROJECT = ("SELECT id FROM quota_operations WHERE op = 'hold' AND project = :p "
                    "ORDER BY id")


def test_0011_indexes_the_audit_by_action_and_the_holds_by_project(store: Store) -> None:
    from alembic import command
    from alembic.config import Config

    from blueprint.layers.store import MIGRATIONS, upgrade

    assert "ix_audit_log_action" in _plan(store, AUDIT_OF_ACTION, {"a": "project.create"})
    assert "ix_quota_operations_project" in _plan(store, HOLDS_OF_PROJECT,
                                                  {"p": "LC-2026-0001"})
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0010_import_speed")
    assert "ix_audit_log_action" not in _plan(store, AUDIT_OF_ACTION, {"a": "x"})
    assert "ix_quota_operations_project" not in _plan(store, HOLDS_OF_PROJECT, {"p": "x"})
    assert upgrade(store) == "0017_project_parcels"
    assert "ix_audit_log_action" in _plan(store, AUDIT_OF_ACTION, {"a": "x"})


def test_the_project_list_api_sends_a_page_and_the_total(store: Store, tmp_path: Path) -> None:
    codes = _projects(store, 12)
    token = create_user("reader", "viewer", None, store=store, actor="test")
    auth = {"Authorization": f"Bearer {token}"}
    with _signed_in(store, tmp_path) as client:
        with counted(store) as seen:
            whole = client.get("/api/projects", headers=auth)
        few = seen[0]
        assert [p["code"] for p in whole.json()] == codes
        assert whole.headers["X-Total-Count"] == "12"
        _projects(store, 30, start=12)
        with counted(store) as seen:
            part = client.get("/api/projects?limit=5&offset=10", headers=auth)
        assert seen[0] == few
        assert [p["code"] for p in part.json()] == codes[10:] + [
            p.code for p in list_projects(store=store)][12:15]
        assert part.headers["X-Total-Count"] == "42"
        assert client.get("/api/projects?limit=0", headers=auth).status_code == 422
        assert len(client.get("/api/projects", headers=auth).json()) == 42  # default 1000


def test_the_tracking_lists_read_only_the_projects_with_a_plan(
        store: Store, monkeypatch: Any) -> None:
    """The colours and the late reports read the projects that have a plan, not the whole
    library with every site decoded (counted: the sites turned into shapes; the late
    reports none)."""

    from blueprint.analysis.tracking import Milestone, late_reports, project_statuses, set_plan

    tracked = []
    for n in range(2):
        code = create_project(park_project(name=f"跟踪{n}"), site=site("01_park_clean.txt"),
                              user=STAFF, store=store, at=T0).code
        set_plan(code, milestones=[Milestone("start", date(2026, 4, 15), "住房和城乡建设局")],
                 investment={"2026-03": "100", "2026-04": "100"}, user=STAFF, store=store,
                 at=T0)
        tracked.append(code)
    for n in range(8):  # not tracked: no plan
        create_project(park_project(name=f"未跟踪{n}"), site=site("01_park_clean.txt"),
                       user=STAFF, store=store, at=T0)
    decoded = sites_decoded(monkeypatch)
    later = T0.replace(month=6)
    assert sorted(s.project.code for s in project_statuses(store=store, at=later)) == tracked
    assert decoded[0] == 2
    late = late_reports("2026-04", store=store, at=later)
    assert sorted(r["project"] for r in late) == tracked
    assert decoded[0] == 2  # the late list shows no map: it reads no site
