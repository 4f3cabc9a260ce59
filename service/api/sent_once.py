"""A pollutant or quota kind sent twice in one JSON object is refused, not the last taken.

Reading JSON keeps the last of two equal keys silently (``"demands": {"land": 1, "land":
2}`` reads as ``{"land": 2}``), and so would a vetting, a site search or a project's
declared demands: the body is read once more here, as sent, and a repeated pollutant or
kind (or two names of one: ``land`` and ``new_construction_land``) is refused at
``body.<path>.<key>``, before any work.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request

#: The objects whose keys are pollutants or quota kinds, wherever they sit in a body (a
#: project's revision sends them under ``project``).
AMOUNT_FIELDS = ("emissions", "demands", "demand")


class _Sent(list[tuple[str, Any]]):
    """A JSON object as sent: its (key, value) pairs in order, a repeated key kept."""


async def sent_once(request: Request) -> None:
    """Refuse a pollutant or quota kind sent twice in one JSON object of the body."""
    body = await request.body()
    if not _may_hold_amounts(body):
        return  # no such object in it: not read twice (a large site's body is most of it)
    try:
        sent = json.loads(body, object_pairs_hook=_Sent)
    except ValueError:  # not JSON: the body's validation says so
        return
    if isinstance(sent, _Sent):
        _check(sent, "body")


def _may_hold_amounts(body: bytes) -> bool:
    """Whether ``body`` may have one of :data:`AMOUNT_FIELDS` as a key: its name in quotes,
    any ``\\u`` escape (a key can be spelt ``"\\u0065missions"``) or a NUL byte (JSON in
    UTF-16 or UTF-32, which reading the body accepts as well)."""
    if b"\\u" in body or b"\x00" in body:
        return True
    return any(b'"' + name.encode() + b'"' in body for name in AMOUNT_FIELDS)


def _check(sent: _Sent, path: str) -> None:
    from blueprint.analysis.amounts import demands_once
    from blueprint.analysis.capacity import emissions_once

    for name, value in sent:
        if not isinstance(value, _Sent):
            continue
        if name in AMOUNT_FIELDS:
            once = emissions_once if name == "emissions" else demands_once
            once(value, f"{path}.{name}")
        else:
            _check(value, f"{path}.{name}")


SentOnce = Depends(sent_once)
#: As a route's parameter, after its user's: a caller without the right is refused first.
SentOnceDep = Annotated[None, SentOnce]
