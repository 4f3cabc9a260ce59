"""The API's JSON renderer: every moment written one way, RFC 3339 in UTC with ``Z``.

The core writes moments as ISO 8601 with their offset (``…+00:00``, what the CLI prints),
reports stored before keep the text they were stored with, and pydantic's response models
write ``…Z``: one renderer for every JSON answer of the app (installed as the app's default
response class) writes every string that is exactly a moment with an offset as the same
moment in UTC with ``Z``. Dates, China-time display fields (``at_cn``: no ``T``, no offset)
and text that merely contains a time are left as they are.

A string without an offset is not guessed at here; where the API knows a value is a
stored moment (a layer stamp's ``imported_at`` in a stored report or an audit row's detail:
SQLite wrote them naive, in UTC, before they were written with their offset), it gives it
its offset first (:func:`stamps_in_utc`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse
from pydantic_core import to_json

from blueprint.layers.layer_info import utc

# a JSON string holding date, time and offset (one inside an escaped quote is left: _in_utc)
_MOMENT = re.compile(
    rb'"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(Z|[+-]\d{2}:\d{2})"')


def _in_utc(found: re.Match[bytes]) -> bytes:
    if found.start() and found.string[found.start() - 1:found.start()] == b"\\":
        return found.group(0)  # text quoting a moment inside a string, not a string
    moment, offset = found.group(1), found.group(2)
    if offset in (b"Z", b"+00:00"):
        return b'"' + moment + b'Z"'
    try:
        at = datetime.fromisoformat((moment + offset).decode()).astimezone(UTC)
    except ValueError:  # 25:00 and the like: not a moment, leave it
        return found.group(0)
    return b'"' + at.replace(tzinfo=None).isoformat().encode() + b'Z"'


def rfc3339_utc(body: bytes) -> bytes:
    """JSON text with every moment in UTC with ``Z``.

    >>> rfc3339_utc(b'{"at": "2026-03-02T10:00:00+08:00", "on": "2026-03-02"}')
    b'{"at": "2026-03-02T02:00:00Z", "on": "2026-03-02"}'
    >>> rfc3339_utc(b'["2026-12-02T03:18:41.265911+00:00", "2026-12-02 11:18:41"]')
    b'["2026-12-02T03:18:41.265911Z", "2026-12-02 11:18:41"]'
    """
    return _MOMENT.sub(_in_utc, body)


def stored_moment(value: Any) -> Any:
    """A stored moment's text with its UTC offset, naive text taken as UTC (as SQLite reads
    it back); anything that is not a date with a time of day is returned as it is.

    >>> stored_moment("2026-12-02T00:02:13.403287"), stored_moment("2026-12-02T08:02:13+08:00")
    ('2026-12-02T00:02:13.403287+00:00', '2026-12-02T00:02:13+00:00')
    >>> stored_moment("2026-12-02"), stored_moment("未知"), stored_moment(None)
    ('2026-12-02', '未知', None)
    """
    if not isinstance(value, str) or len(value) < 16 or value[10] not in "T ":
        return value
    try:
        return utc(datetime.fromisoformat(value)).isoformat()
    except ValueError:
        return value


def stamps_in_utc(stamps: Any) -> Any:
    """Layer stamps (``[{id, name, kind, version, imported_at}]``) with each
    ``imported_at`` a stored moment with its offset (:func:`stored_moment`); anything else
    as it is."""
    if not isinstance(stamps, list):
        return stamps
    return [{**s, "imported_at": stored_moment(s["imported_at"])}
            if isinstance(s, dict) and "imported_at" in s else s for s in stamps]


class ApiJSONResponse(JSONResponse):
    """FastAPI's JSON response, its moments written by :func:`rfc3339_utc`.

    Written by pydantic's serializer, as FastAPI writes an answer with a response model
    when no response class is set (a non-finite number as ``null``): setting this class
    turns that path off, and ``json.dumps`` took four times as long on a large GeoJSON."""

    def render(self, content: Any) -> bytes:
        """The JSON text of ``content``, moments in UTC with ``Z``."""
        return rfc3339_utc(to_json(content, inf_nan_mode="null"))
