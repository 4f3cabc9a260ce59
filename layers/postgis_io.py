"""PostGIS-specific storage: bulk COPY of features and ST_Subdivide for querying.

Features stream into ``layer_features`` with ``COPY … FROM STDIN`` in batches (geometry
as hex EWKB with SRID 4490); after each batch the batch's polygons are also cut into
pieces of at most :data:`SUBDIVIDE_VERTICES` vertices in ``layer_features_sub``, which
the overlay queries through its GiST index. Everything runs on the caller's connection,
inside the caller's transaction: a failure anywhere rolls the whole import back.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

SUBDIVIDE_VERTICES = 256

_COPY = "COPY layer_features (layer_id, fid, klass, props, geom) FROM STDIN"
_SUBDIVIDE = sa.text(
    "INSERT INTO layer_features_sub (layer_id, fid, klass, geom) "
    "SELECT layer_id, fid, klass, ST_Subdivide(geom, :n) FROM layer_features "
    "WHERE layer_id = :id AND fid = ANY(CAST(:fids AS varchar[]))")


def _copy_value(value: str | None) -> str:
    """A text value in COPY's text format (``\\N`` is NULL)."""
    if value is None:
        return "\\N"
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def copy_buffer(layer_id: int, rows: Sequence[dict[str, Any]]) -> io.StringIO:
    """The COPY text for ``rows`` (dicts with fid, klass, props and WKB geom)."""
    buf = io.StringIO()
    for row in rows:
        buf.write(f"{layer_id}\t{_copy_value(row['fid'])}\t{_copy_value(row['klass'])}"
                  f"\t{_copy_value(row['props'])}\tSRID=4490;{row['geom'].hex()}\n")
    buf.seek(0)
    return buf


def copy_features(conn: sa.Connection, layer_id: int, rows: Sequence[dict[str, Any]], *,
                  batch: int) -> Iterator[int]:
    """Stream features into ``layer_features`` with COPY and subdivide them, batch by batch.

    Yields how many rows are done after each batch (for a progress bar). Runs inside the
    caller's transaction on ``conn``.
    """
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.copy_expert(_COPY, copy_buffer(layer_id, chunk))
        finally:
            cursor.close()
        subdivide_features(conn, layer_id, [row["fid"] for row in chunk])
        yield start + len(chunk)


def subdivide_features(conn: sa.Connection, layer_id: int, fids: list[str]) -> None:
    """Cut the given features of a layer into pieces of at most 256 vertices."""
    conn.execute(_SUBDIVIDE, {"id": layer_id, "fids": fids, "n": SUBDIVIDE_VERTICES})


def analyze_features(engine: sa.Engine) -> None:
    """Refresh the planner's statistics of the feature tables after a bulk import."""
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE layer_features"))
        conn.execute(sa.text("ANALYZE layer_features_sub"))
