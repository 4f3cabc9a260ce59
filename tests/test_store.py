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
