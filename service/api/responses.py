"""The API's JSON renderer, and how moments are written in its answers.

Every moment in a JSON answer is RFC 3339 in UTC with ``Z``, written where the value is
known to be a moment, never by matching text (a user's project name or opinion that reads
``2026-01-01T00:00:00+08:00`` comes back as typed):

- the core writes the moments of its plain dicts with :func:`layers.layer_info.iso_utc`
  (``…Z``), the one writer of moments that the CLI uses too;
- the response models' moments are :data:`Moment`: any datetime, naive taken as UTC (as
  SQLite reads it back), in UTC, which pydantic writes with ``Z``;
- text stored before (``…+00:00``, or naive on SQLite, in UTC) is read by field: the core
  reads a stored report's layer stamps and a quota operation's stored result so, and the
  audit API an audit row's detail (:func:`layers.layer_info.stored_moments` rewrites only
  the values of the keys that hold a moment, :data:`layers.layer_info.MOMENT_KEYS`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi.responses import JSONResponse
from pydantic import AfterValidator
from pydantic_core import to_json

from blueprint.layers.layer_info import stored_moments, utc

__all__ = ["ApiJSONResponse", "GeoJSONResponse", "Moment", "stored_moments"]

# A moment in a response model: in UTC (naive = UTC), so that pydantic writes it with Z.
Moment = Annotated[datetime, AfterValidator(utc)]


class ApiJSONResponse(JSONResponse):
    """FastAPI's JSON response, written by pydantic's serializer, as FastAPI writes an
    answer with a response model when no response class is set (a non-finite number as
    ``null``): setting this class turns that path off, and ``json.dumps`` took four times as
    long on a large GeoJSON. It writes the text it is given: moments are written where they
    are known to be moments (above)."""

    def render(self, content: Any) -> bytes:
        """The JSON text of ``content``."""
        return to_json(content, inf_nan_mode="null")


class GeoJSONResponse(ApiJSONResponse):
    """A GeoJSON answer, written as every JSON answer, under RFC 7946's media type (as the
    OGC API's items and the downloaded site): a layer's features, a report as GeoJSON."""

    media_type = "application/geo+json"
