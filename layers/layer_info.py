"""One row of the layer catalogue, as every reader returns it (no database library here:
the quick catalogue read of ``blueprint layers list`` imports this module alone); and how
moments are written for machines, by the API and the CLI alike (:func:`iso_utc`, and
:func:`stored_moments` for text stored before)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from blueprint.layers.errors import StorageUnavailable

__all__ = ["MOMENT_KEYS", "LayerInfo", "iso_utc", "layer_info", "stamps_in_utc", "stored_moment",
           "stored_moments"]


def utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values (SQLite reads them back so) are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_utc(at: datetime) -> str:
    """A moment as the API and the CLI write it: RFC 3339 in UTC with ``Z``, the same text
    on both engines (SQLite reads ``timezone=True`` columns back naive, in UTC; PostgreSQL
    aware). The one writer of moments for machines (people read :func:`analysis.clock.shown_cn`).

    >>> iso_utc(datetime.fromisoformat("2026-03-02T10:00:00.5+08:00"))
    '2026-03-02T02:00:00.500000Z'
    >>> iso_utc(datetime(2026, 3, 2, 2, 0))
    '2026-03-02T02:00:00Z'
    """
    return utc(at).replace(tzinfo=None).isoformat() + "Z"


def stored_moment(value: Any) -> Any:
    """A moment stored as text (``…+00:00``, ``…+08:00``, ``…Z``, or naive: SQLite's rows
    written before moments carried their offset, in UTC) written by :func:`iso_utc`;
    anything that is not a date with a time of day is returned as it is. Only for values
    known to be moments by where they are (:data:`MOMENT_KEYS`), never to guess at text.

    >>> stored_moment("2026-12-02T00:02:13.403287"), stored_moment("2026-12-02T08:02:13+08:00")
    ('2026-12-02T00:02:13.403287Z', '2026-12-02T00:02:13Z')
    >>> stored_moment("2026-12-02"), stored_moment("未知"), stored_moment(None)
    ('2026-12-02', '未知', None)
    """
    if not isinstance(value, str) or len(value) < 16 or value[10] not in "T ":
        return value
    try:
        return iso_utc(datetime.fromisoformat(value))
    except ValueError:
        return value


def stamps_in_utc(stamps: Any) -> Any:
    """Layer stamps (``[{id, name, kind, version, imported_at}]``) as stored with a report,
    each ``imported_at`` written by :func:`stored_moment`; anything else as it is."""
    if not isinstance(stamps, list):
        return stamps
    return [{**s, "imported_at": stored_moment(s["imported_at"])}
            if isinstance(s, dict) and "imported_at" in s else s for s in stamps]


# Keys that hold a moment wherever the code writes them into a stored JSON document (an
# audit row's detail and its before/after, a stored report's layer stamps, a quota
# operation's stored result): their values, and no others, are read by stored_moment.
MOMENT_KEYS = frozenset({
    "at", "created_at", "updated_at", "imported_at", "superseded_at", "expires_at",
    "token_expires_at", "vetted_at", "started_at", "closed_at", "reported_at", "closes_at",
    "recorded_at", "raised_at", "uploaded_at", "listed_at", "added_at", "expires",
    "locked_until"})


def stored_moments(doc: Any) -> Any:
    """A JSON document the code stored (dicts and lists) with the value of every key in
    :data:`MOMENT_KEYS`, at any depth, written by :func:`stored_moment`; every other value
    (a user's text that looks like a moment included) as it is.

    >>> stored_moments({"after": {"name": "2026-01-01T00:00:00+08:00",
    ...                           "token_expires_at": "2027-03-02T06:06:49+00:00"}})
    {'after': {'name': '2026-01-01T00:00:00+08:00', 'token_expires_at': '2027-03-02T06:06:49Z'}}
    """
    if isinstance(doc, dict):
        return {k: stored_moment(v) if k in MOMENT_KEYS and isinstance(v, str)
                else stored_moments(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [stored_moments(v) for v in doc]
    return doc


@dataclass(frozen=True)
class LayerInfo:
    """One row of the layer catalogue."""

    id: int
    name: str
    kind: str
    title: str
    feature_count: int
    bbox: tuple[float, float, float, float]
    source_file: str
    source_crs: str | None
    imported_at: datetime
    imported_by: str
    repaired_count: int
    raster_path: str | None = None
    bands: list[str] = field(default_factory=list)
    version_number: int = 1  # 1, 2, … per name: each import adds one (0006)
    checksum: str | None = None
    current: bool = True
    superseded_at: datetime | None = None

    @property
    def is_raster(self) -> bool:
        """True for raster layers (environmental capacity)."""
        return self.raster_path is not None

    def raster_file(self) -> Path:
        """The raster's file, or :class:`StorageUnavailable` when it has gone missing."""
        path = Path(self.raster_path or "")
        if not self.raster_path or not path.exists():
            raise StorageUnavailable(
                f"the raster file of layer {self.name!r} is missing ({path.name}); "
                "import the layer again",
                message_zh=f"图层“{self.title}”的栅格文件缺失，请重新导入")
        return path

    @cached_property
    def version(self) -> str:
        """Changes whenever the layer is re-imported (cache key; made once: every overlay
        asks each layer's)."""
        return f"{self.id}:{self.imported_at.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {
            "name": self.name, "kind": self.kind, "title": self.title,
            "feature_count": self.feature_count, "bbox": list(self.bbox),
            "source_file": self.source_file, "source_crs": self.source_crs,
            "imported_at": iso_utc(self.imported_at), "imported_by": self.imported_by,
            "repaired_count": self.repaired_count, "raster": self.is_raster,
            "bands": self.bands,
        }


def layer_info(row: Any, raster_dir: Path) -> LayerInfo:
    """A catalogue row (any object with the columns as attributes) as a :class:`LayerInfo`."""
    return LayerInfo(
        id=row.id, name=row.layer_name or row.name, kind=row.kind, title=row.title,
        feature_count=row.feature_count, bbox=(row.minx, row.miny, row.maxx, row.maxy),
        source_file=row.source_file, source_crs=row.source_crs, imported_at=row.imported_at,
        imported_by=row.imported_by, repaired_count=row.repaired_count,
        raster_path=str(raster_dir / Path(row.raster_path).name) if row.raster_path else None,
        bands=json.loads(row.bands) if row.bands else [],
        version_number=row.version, checksum=row.checksum, current=bool(row.current),
        superseded_at=row.superseded_at)
