"""A Shapefile's ``.cpg``: the encoding it names, checked against the ``.dbf``'s bytes.

GDAL takes a ``.cpg`` on trust and, for a name it does not map (``65001``, ESRI's
``ANSI 936``) or a wrong one, reads the attributes as Latin-1 or in the wrong code page:
feature names and ids stored as mojibake without a word. Here the ``.cpg`` is read the
ways the tools that write it mean it, the attribute bytes must be text in that encoding,
and the encoding is then handed to the reader explicitly, so GDAL's own reading of the
``.cpg`` no longer decides.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from blueprint.layers.errors import InvalidFile

CPG_MAX_BYTES = 64  # a code page name; anything longer is not one
_ANSI = re.compile(r"^(?:ANSI\s*|CP|WINDOWS-)(\d{3,5})$", re.IGNORECASE)
_ISO_8859 = re.compile(r"^(?:ISO[-_ ]?)?8859[-_ ]?(\d{1,2})$", re.IGNORECASE)
_ASCII_PROBE = b"NAME_1 dlbm-09.AZaz"
# what the readers call the two encodings a Chinese city's data comes in
_SHOWN = {"utf-8": "UTF-8", "gbk": "GBK"}


def cpg_encoding(cpg: Path) -> str | None:
    """The Python codec the ``.cpg`` names (``936`` and ``ANSI 936``: cp936; ``65001``:
    UTF-8; ``8859-1``: ISO-8859-1), or None when it names none Python knows."""
    with open(cpg, "rb") as fh:
        text = fh.read(CPG_MAX_BYTES + 1).decode("ascii", "replace").strip()
    if not text or len(text) > CPG_MAX_BYTES:
        return None
    name = text
    if found := _ISO_8859.match(text):
        name = f"iso8859-{found.group(1)}"
    elif text.isdigit():
        name = f"cp{text}"
    elif found := _ANSI.match(text):
        name = f"cp{found.group(1)}"
    try:
        codec = codecs.lookup(name).name
        # a text encoding that reads ASCII as ASCII: not zlib or base64 (bytes to bytes, a
        # bomb in a 64-byte file), not UTF-16 or EBCDIC (field names are ASCII)
        readable = _ASCII_PROBE.decode(codec) == _ASCII_PROBE.decode("ascii")
    except (LookupError, ValueError):
        return None
    return codec if readable else None


def checked_encoding(text: bytes, codec: str, *, cpg: str, dbf: str) -> str:
    """``codec`` (as the readers name it) when the ``.dbf``'s ``text`` (its field names and
    a sample of its records) is text in it and is not plainly UTF-8 under another name;
    else a clear error naming the ``.cpg``."""
    shown = _SHOWN.get(codec, codec)
    try:  # a sample may end inside a character: not final
        codecs.getincrementaldecoder(codec)().decode(text, final=False)
    except UnicodeDecodeError:
        raise _contradicted(cpg, dbf, shown, f"the attributes are not {shown} text",
                            f"属性内容不是 {shown} 编码") from None
    if codec != "utf-8" and not text.isascii() and _is_utf8(text):
        raise _contradicted(cpg, dbf, shown, "the attributes are UTF-8 text",
                            "属性内容实为 UTF-8 编码")
    return shown


def _is_utf8(text: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(text, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _contradicted(cpg: str, dbf: str, shown: str, why: str, why_zh: str) -> InvalidFile:
    return InvalidFile(f"{cpg} says the attributes of {dbf} are {shown}, but {why}; give the "
                       "encoding with --encoding (or correct the .cpg)",
                       message_zh=f"{cpg} 声明属性编码为 {shown}，但{why_zh}，"
                                  "请用 --encoding 指定编码（或更正 .cpg 文件）", where=cpg)
