"""Storage behaviour that both engines must share."""

from __future__ import annotations

import threading

from blueprint.layers.repository import list_layers
from blueprint.layers.store import write_audit


def test_readers_are_not_blocked_by_a_writer(store):
    """The map and vetting keep answering while an import or quota operation writes."""
    reader_done = threading.Event()

    def read() -> None:
        list_layers(store=store)
        reader_done.set()

    with store.engine.begin() as conn:  # a writer holding its lock
        write_audit(conn, actor="t", action="test.hold", obj="x", detail={})
        thread = threading.Thread(target=read)
        thread.start()
        finished_while_writing = reader_done.wait(timeout=20)
    thread.join(timeout=60)
    assert finished_while_writing


def test_a_moment_in_an_audit_detail_is_stored_as_the_api_writes_it(store):
    """A datetime inside a detail (a hold's expiry in its parameters) is stored in UTC with
    Z, whatever its offset; other values as their text (both engines)."""
    import json
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    import sqlalchemy as sa

    from blueprint.layers.schema import audit_log

    cst = timezone(timedelta(hours=8))
    with store.engine.begin() as conn:
        write_audit(conn, actor="t", action="test.moment", obj="x", detail={"params": {
            "expires": datetime(2099, 7, 1, 0, 0, tzinfo=cst), "amount": Decimal("2.50"),
            "name": "2026-01-01T00:00:00+08:00"}})
    with store.engine.connect() as conn:
        text = conn.execute(sa.select(audit_log.c.detail)
                            .where(audit_log.c.action == "test.moment")).scalar_one()
    assert json.loads(text)["params"] == {"expires": "2099-06-30T16:00:00Z", "amount": "2.50",
                                          "name": "2026-01-01T00:00:00+08:00"}
