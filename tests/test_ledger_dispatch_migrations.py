"""Migration ``0014_ledger_origin_index`` (the ledger's reads by account through their
indexes), on both engines: shown by the query plans of the statements the code runs, and
by a downgrade and an upgrade of a store with data."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from blueprint.analysis.quota.balance_page import _flows
from blueprint.analysis.quota.holds import find_holds
from blueprint.layers.store import MIGRATIONS, Store, upgrade

HEAD = "0014_ledger_origin_index"


def _migrate(store: Store, revision: str) -> None:
    """Downgrade ``store`` to ``revision``."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


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
        conn.execute(sa.text("ANALYZE"))


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
    _migrate(store, "0013_password_must_change")
    before, old = plans()
    assert before == answers
    for plan in old:  # every entry: the whole table, or (SQLite) every account's entries
        assert combined not in plan and "ix_quota_entries_origin" not in plan, plan
        assert (_whole_scan(store, "quota_entries") in plan
                or _whole_scan(store, "debit USING COVERING INDEX") in plan), plan
    assert upgrade(store) == HEAD
    assert plans() == (answers, now)
