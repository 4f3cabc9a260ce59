"""The ``Content-Disposition`` of every file Blueprint sends, built in one place.

A downloaded file keeps its Chinese name (初审意见书-LC-2026-0001.pdf): RFC 6266 gives it
as ``filename*=UTF-8''<percent-encoded>`` (RFC 8187), after an ASCII ``filename="…"``
for the clients that do not read that form. Both edges — the HTTP API (``service/api``)
and the pages (``web/``), which never import each other — send the value made here; it
knows no web framework, only the header's text.
"""

from __future__ import annotations

import os
import re
from typing import Literal
from urllib.parse import quote

_NOT_PLAIN = re.compile(r'[^\x20-\x7e]|["\\%/]')  # not in a quoted fallback (RFC 6266 4.3)


def ascii_filename(name: str) -> str:
    """An ASCII stand-in for ``name``: other characters, quotes, backslashes, ``%`` and
    ``/`` become ``_``; a name left without a letter or digit is ``download`` (its
    suffix kept).

    Examples
    --------
    >>> ascii_filename('site "A".zip')
    'site _A_.zip'
    >>> ascii_filename("初审意见书.pdf")
    'download.pdf'
    """
    plain = re.sub("_{2,}", "_", _NOT_PLAIN.sub("_", name)).strip()
    stem, suffix = os.path.splitext(plain)
    return plain if any(c.isalnum() for c in stem) else f"download{suffix}"


def content_disposition(filename: str, *, fallback: str | None = None,
                        disposition: Literal["attachment", "inline"] = "attachment") -> str:
    """The ``Content-Disposition`` value for a file named ``filename``: the ASCII
    ``fallback`` (made from the name by :func:`ascii_filename` when not given, and made
    safe if given) and the name itself, UTF-8 and percent-encoded.

    Examples
    --------
    >>> print(content_disposition("余额 1.csv", fallback="balances.csv"))
    attachment; filename="balances.csv"; filename*=UTF-8''%E4%BD%99%E9%A2%9D%201.csv
    """
    plain = ascii_filename(fallback if fallback is not None else filename)
    return f"{disposition}; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
