"""Recognising a boundary-point coordinate file from its first bytes."""

from __future__ import annotations

import re

_SNIFF_RE = re.compile(r"[\[【]\s*(?:属性描述|地块坐标)\s*[\]】]")


def looks_like_coordinate_file(head: bytes) -> bool:
    """Tell whether the first bytes of a file look like a boundary-point coordinate file.

    Parameters
    ----------
    head
        The first few kilobytes of the file (a multi-byte character cut at the end is fine).

    Returns
    -------
    bool
        True if a ``[属性描述]`` or ``[地块坐标]`` section (ASCII or full-width brackets)
        appears in the bytes read as UTF-8 or as GBK.
    """
    for encoding in ("utf-8", "gb18030"):
        if _SNIFF_RE.search(head.decode(encoding, errors="ignore")):
            return True
    return False
