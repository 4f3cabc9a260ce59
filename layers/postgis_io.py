"""PostGIS-specific storage: bulk COPY of features and ST_Subdivide for querying."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

SUBDIVIDE_VERTICES = 256


def _copy_value(value: str | None) -> str:
    if value is None:
        return "\\N"
    return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def copy_features(conn: sa.Connection, layer_id: int, rows: list[dict[str, Any]], *,
                  batch: int) -> Iterator[int]:
    """Stream features into ``layer_features`` with COPY, in batches; yield rows done."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(rows), batch):
            buf = io.StringIO()
            for row in rows[start:start + batch]:
                ewkb = row["geom"].hex()
                buf.write(f"{layer_id}\t{_copy_value(row['fid'])}\t{_copy_value(row['klass'])}"
                          f"\t{_copy_value(row['props'])}\tSRID=4490;{ewkb}\n")
            buf.seek(0)
            cursor.copy_expert(
                "COPY layer_features (layer_id, fid, klass, props, geom) FROM STDIN", buf)
            yield min(start + batch, len(rows))
    finally:
        cursor.close()


def subdivide_layer(conn: sa.Connection, layer_id: int) -> None:
    """Keep the layer's polygons also cut into pieces of at most 256 vertices."""
    conn.execute(sa.text("DELETE FROM layer_features_sub WHERE layer_id = :id"), {"id": layer_id})
    conn.execute(sa.text(
        "INSERT INTO layer_features_sub (layer_id, fid, klass, geom) "
        "SELECT layer_id, fid, klass, ST_Subdivide(geom, :n) FROM layer_features "
        "WHERE layer_id = :id"), {"id": layer_id, "n": SUBDIVIDE_VERTICES})
