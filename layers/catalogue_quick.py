"""A quick, read-only look at an embedded store's layer catalogue with the standard library.

``blueprint layers list`` is the command a new user types first and the one scripts call in
a loop; importing SQLAlchemy alone takes longer than the whole answer should. This reads the
same rows :func:`blueprint.layers.repository.list_layers` returns, with Python's ``sqlite3``
on a read-only connection: it never creates, migrates or locks the store. When the file is
not a store this reader understands (an older schema, a damaged file), it returns ``None``
and the caller takes the full path, which migrates or explains. A test keeps both readers
equal on the same store.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from blueprint.layers.layer_info import LayerInfo, layer_info

__all__ = ["quick_list_layers"]

# Current versions, ordered as list_layers orders them: by each layer's first import.
_CURRENT = """
SELECT l.*, (SELECT min(f.id) FROM layers AS f
             WHERE coalesce(f.layer_name, f.name) = coalesce(l.layer_name, l.name)) AS first_id
FROM layers AS l WHERE l.current ORDER BY first_id, l.id
"""


def quick_list_layers(db_file: Path, raster_dir: Path) -> list[LayerInfo] | None:
    """The current layers of the embedded store in ``db_file``, or ``None`` if this reader
    cannot answer (then use :func:`~blueprint.layers.repository.list_layers`)."""
    if not db_file.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{db_file.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        conn.row_factory = _namespace
        rows = conn.execute(_CURRENT).fetchall()
        return [layer_info(r, raster_dir) for r in rows]
    except (sqlite3.Error, ValueError, TypeError, AttributeError):
        return None
    finally:
        conn.close()


def _namespace(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> SimpleNamespace:
    values = {d[0]: v for d, v in zip(cursor.description, row, strict=True)}
    for column in ("imported_at", "superseded_at"):  # stored as ISO text, as SQLAlchemy does
        if isinstance(values.get(column), str):
            values[column] = datetime.fromisoformat(values[column])
    return SimpleNamespace(**values)
