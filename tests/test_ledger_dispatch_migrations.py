"""Migrations ``0014_ledger_origin_index`` (the ledger's reads by account through their
indexes), ``0015_dispatch_projects`` (a dispatch meeting's projects as rows of a join
table, not a JSON list found by LIKE) and ``0016_problem_dispatch`` (a meeting's problems
by their meeting's id, not by a LIKE on ``source_ref``), on both engines: each shown by the
query plans of the statements the code runs, and by a downgrade and an upgrade of a store
with data."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from migrations_support import downgrade
from projects_support import STAFF, park_project
from tracking_support import cn

from blueprint.analysis.projects import create_project
from blueprint.analysis.quota.balance_page import _flows
from blueprint.analysis.quota.holds import find_holds
from blueprint.analysis.tracking import DispatchProblem, list_dispatches, record_dispatch
from blueprint.layers.store import Store, upgrade

# Run alone (tests/run.sh, after the parallel part): an index built over rows just updated
# (0016 fills dispatch_id, then indexes it) is not used by a snapshot older than it
# (pg_index.indcheckxmin), and another worker's open transaction makes every snapshot so;
# the plan then reads the table whole, and the plan checks here would fail for it.
pytestmark = pytest.mark.alone

HEAD = "0017_project_parcels"


@contextmanager
def _statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and their parameters) run on ``store`` inside the block."""
    seen: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", note)


_PLANS = itertools.count()


def _plan(store: Store, statement: str, parameters: Any, *, seqscan: bool = False) -> str:
    """The query plan of a statement as the code ran it (PostgreSQL: sequential scans made
    dear unless ``seqscan``, as a test's few rows would be read whole otherwise)."""
    with store.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            if store.database_url:
                if not seqscan:
                    cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("EXPLAIN " + statement, parameters)
            else:  # the text is new each time: sqlite3 keeps a prepared EXPLAIN's plan
                cursor.execute(f"EXPLAIN QUERY PLAN {statement} /* {next(_PLANS)} */",
                               parameters)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        conn.rollback()
    return "\n".join(str(r[-1]) for r in rows)


def _whole_scan(store: Store, table: str) -> str:
    return f"Seq Scan on {table}" if store.database_url else f"SCAN {table}"


# ----- 0014: the ledger's entries of some accounts through the indexes of the three columns

LEDGER = [
    """INSERT INTO quota_accounts (id, year, kind, type, owner, title, created_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
       SELECT i, 2026, 'land', 'hold', 'P-' || i, '账户', CURRENT_TIMESTAMP FROM n""",
    """INSERT INTO quota_operations (id, key, op, year, kind, county, project, params,
                                     result, actor, reason, created_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
       SELECT i, 'hold-' || i, 'hold', 2026, 'land', '371502', 'P-' || i, '{}', '{}', 'test',
              '预留', CURRENT_TIMESTAMP FROM n""",
    # every entry of a hold, each account debited, credited and named origin 100 times
    """INSERT INTO quota_entries (operation_id, year, kind, purpose, debit_id, credit_id,
                                  amount, origin_id, hold_id, created_at)
       WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19999)
       SELECT i % 200 + 1, 2026, 'land', 'hold', i % 200 + 1, (i + 7) % 200 + 1, 1,
              (i + 13) % 200 + 1, i % 200 + 1, CURRENT_TIMESTAMP FROM n""",
]


def _ledger(store: Store) -> None:
    """200 accounts and holds, 20 000 entries (the planner's statistics taken)."""
    with store.engine.begin() as conn:
        for statement in LEDGER:
            conn.execute(sa.text(statement))
        # the tables written, not the whole database: a bare ANALYZE locks every table of
        # every schema at once (other tests' too), and ran out of lock slots in CI
        for table in ("quota_accounts", "quota_operations", "quota_entries"):
            conn.execute(sa.text(f"ANALYZE {table}"))


def _ledger_reads(store: Store) -> tuple[Any, list[tuple[str, Any]]]:
    """What the two reads of some accounts' entries answer, and their statements."""
    wanted = {5, 150}
    with _statements(store) as seen, store.read() as conn:
        holds = find_holds(conn, accounts=wanted)
        flows = sorted(tuple(r) for r in _flows(conn, wanted, None))
    return (holds, flows), [(s, p) for s, p in seen if "origin_id IN" in s
                            or "origin_id = ANY" in s]


def test_0014_the_entries_of_some_accounts_are_read_through_indexes(store: Store) -> None:
    """The holds touching some accounts and a balance page's flows (``debit_id IN … OR
    credit_id IN … OR origin_id IN …``) read the entries through the three columns'
    indexes; before 0014 (no index on ``origin_id``) every entry of the ledger."""
    _ledger(store)

    def plans() -> tuple[Any, list[str]]:
        answers, statements = _ledger_reads(store)
        assert len(statements) == 2, statements  # find_holds and _flows, each once
        # the planner's own choice, with the statistics of 20 000 entries
        return answers, [_plan(store, s, p, seqscan=True) for s, p in statements]

    answers, now = plans()
    assert len(answers[0]) == 6 and answers[1]  # holds 5, 150 and those naming them
    combined = "BitmapOr" if store.database_url else "MULTI-INDEX OR"
    for plan in now:
        assert combined in plan and _whole_scan(store, "quota_entries") not in plan, plan
        assert all(f"ix_quota_entries_{c}" in plan for c in ("debit", "credit", "origin"))
    downgrade(store, "0013_password_must_change")
    before, old = plans()
    assert before == answers
    for plan in old:  # every entry: the whole table, or (SQLite) every account's entries
        assert combined not in plan and "ix_quota_entries_origin" not in plan, plan
        assert (_whole_scan(store, "quota_entries") in plan
                or _whole_scan(store, "debit USING COVERING INDEX") in plan), plan
    assert upgrade(store) == HEAD
    assert plans() == (answers, now)


# ----- 0015: a dispatch meeting's projects in tracking_dispatch_projects


def _projects(store: Store, n: int) -> list[str]:
    return [create_project(park_project(name=f"调度迁移项目{i}"), user=STAFF, store=store,
                           at=cn("2026-01-05 09:00")).code for i in range(n)]


def _old_meeting(store: Store, codes: list[str], decisions: str) -> int:
    """A meeting written as before 0015: its projects a JSON list of codes."""
    import json

    with store.engine.begin() as conn:
        return int(conn.execute(sa.text(
            "INSERT INTO tracking_dispatches (held_on, week, attendees, projects, decisions,"
            " recorded_at, recorded_by) VALUES (:held, '2026-W05', '[\"市重点项目办\"]',"
            " :projects, :decisions, :at, 'nr_city') RETURNING id"),
            {"held": cn("2026-01-26 10:00").date(), "at": cn("2026-01-26 10:00"),
             "projects": json.dumps(codes, ensure_ascii=False), "decisions": decisions}
        ).scalar_one())


def _columns(store: Store, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(store.engine).get_columns(table)}


def test_0015_meetings_stored_as_json_keep_their_projects_in_order(store: Store) -> None:
    """A meeting stored the old way (JSON) lists its projects, in its order, after the
    upgrade, and is one of each of its projects' meetings; one recorded since goes back to
    JSON with a downgrade and comes back the same."""
    a, b, c = _projects(store, 3)
    recent = record_dispatch(held_on="2026-02-02", attendees=["市重点项目办"],
                             projects_discussed=[c, a], decisions="近期调度", user=STAFF,
                             store=store, at=cn("2026-02-02 16:00"))
    downgrade(store, "0014_ledger_origin_index")
    assert "projects" in _columns(store, "tracking_dispatches")
    assert "tracking_dispatch_projects" not in sa.inspect(store.engine).get_table_names()
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT projects FROM tracking_dispatches WHERE id = :i"),
                            {"i": recent.id}).scalar_one() == f'["{c}", "{a}"]'
    old = _old_meeting(store, [b, a], "旧调度")

    assert upgrade(store) == HEAD
    assert "projects" not in _columns(store, "tracking_dispatches")
    listed = {d.id: d for d in list_dispatches(store=store)}
    assert (listed[old].projects, listed[old].decisions) == ([b, a], "旧调度")
    assert listed[recent.id].projects == [c, a]
    assert [d.id for d in list_dispatches(store=store, project=a)] == [recent.id, old]
    assert [d.id for d in list_dispatches(store=store, project=b)] == [old]
    assert [d.id for d in list_dispatches(store=store, project=c, limit=1)] == [recent.id]


def test_0015_a_project_s_meetings_are_found_through_the_join_table(store: Store) -> None:
    """The meetings of a project are chosen through the index on the join table's
    ``project_id``, without a LIKE on the meetings; the new rows are append-only."""
    a, b = _projects(store, 2)
    for day in range(3):
        record_dispatch(held_on=f"2026-02-0{day + 2}", attendees=["市重点项目办"],
                        projects_discussed=[a, b] if day else [a], decisions=f"第{day}次",
                        user=STAFF, store=store, at=cn("2026-02-05 16:00"))
    with _statements(store) as seen:
        found = list_dispatches(store=store, project=b)
    assert [d.decisions for d in found] == ["第2次", "第1次"]
    assert all(d.projects == [a, b] for d in found)
    [(statement, parameters)] = [(s, p) for s, p in seen if "FROM tracking_dispatches" in s]
    assert "LIKE" not in statement.upper() and "tracking_dispatch_projects" in statement
    plan = _plan(store, statement, parameters)
    assert "ix_tracking_dispatch_projects_project" in plan, plan
    for sql in ("UPDATE tracking_dispatch_projects SET position = position",
                "DELETE FROM tracking_dispatch_projects"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with store.engine.begin() as conn:
                conn.execute(sa.text(sql))


def test_0015_an_upgrade_meeting_a_code_of_no_project_stops_and_changes_nothing(
        store: Store) -> None:
    [a] = _projects(store, 1)
    downgrade(store, "0014_ledger_origin_index")
    _old_meeting(store, [a, "LC-2099-0999"], "旧调度")
    with pytest.raises(RuntimeError, match="lists project 'LC-2099-0999'"):
        upgrade(store)
    assert "projects" in _columns(store, "tracking_dispatches")
    assert "tracking_dispatch_projects" not in sa.inspect(store.engine).get_table_names()
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")
                            ).scalar_one() == "0014_ledger_origin_index"



# ----- 0016: a meeting's problems by tracking_problems.dispatch_id


def test_0016_a_meeting_s_problems_are_found_by_its_id(store: Store) -> None:
    """Problems raised at a meeting before 0016 are its problems after the upgrade (the
    column filled from ``source_ref``); a listed meeting's problems are read through the
    index on ``dispatch_id``, without a LIKE."""
    a, b = _projects(store, 2)

    def meeting(day: int, problems: int) -> Any:
        return record_dispatch(
            held_on=f"2026-02-0{day}", attendees=["市重点项目办"], projects_discussed=[a, b],
            decisions=f"第{day}次", user=STAFF, store=store, at=cn("2026-02-09 16:00"),
            problems=[DispatchProblem(b, f"问题{day}-{n}", "市住建局") for n in range(problems)])

    before = [meeting(2, 2), meeting(3, 0)]
    downgrade(store, "0015_dispatch_projects")
    assert "dispatch_id" not in _columns(store, "tracking_problems")
    assert upgrade(store) == HEAD
    after = meeting(4, 1)
    with _statements(store) as seen:
        found = list_dispatches(store=store, project=a)
    assert [(d.id, d.problems) for d in found] == [
        (m.id, m.problems) for m in (after, *reversed(before))]
    assert [len(d.problems) for d in found] == [1, 0, 2]
    [(statement, parameters)] = [(s, p) for s, p in seen if "FROM tracking_problems" in s]
    assert "LIKE" not in statement.upper()
    plan = _plan(store, statement, parameters)
    assert "ix_tracking_problems_dispatch" in plan, plan
    assert {d.id: d.problems for d in list_dispatches(store=store)} == {
        d.id: d.problems for d in found}
