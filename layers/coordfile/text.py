"""From bytes to a :class:`RawFile`: loading, decoding, sections and line handling.

Lines are numbered from 1 as the file has them (CRLF, CR or LF); blank lines are skipped.
Point rows and parcel headers are parsed by :mod:`layers.coordfile.parcels`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from blueprint.layers.coordfile.model import ATTRIBUTES, COORDINATES, RawFile, fail
from blueprint.layers.coordfile.parcels import parse_header, parse_point
from blueprint.layers.errors import CoordinateFileError

_SECTION_RE = re.compile(r"^[\[【]\s*(属性描述|地块坐标)\s*[\]】]$")
_ANY_SECTION_RE = re.compile(r"^[\[【].*[\]】]$")
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")


def load(source: str | os.PathLike[str] | bytes) -> tuple[bytes, str]:
    """Return the file's bytes and its default name (the file name, or ``"<upload>"``)."""
    if isinstance(source, bytes | bytearray):
        return bytes(source), "<upload>"
    path = Path(source)
    try:
        return path.read_bytes(), path.name
    except OSError as exc:
        raise CoordinateFileError(
            f"cannot read the file: {exc.strerror or exc}",
            message_zh=f"无法读取文件：{exc.strerror or exc}",
            where=path.name,
        ) from exc


def decode(data: bytes, encoding: str | None, name: str) -> str:
    """Decode ``data`` as ``encoding``, or as UTF-8 (BOM optional) and else GB18030."""
    candidates = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    error: UnicodeDecodeError | None = None
    for candidate in candidates:
        try:
            text = data.decode(candidate)
        except LookupError as exc:
            raise fail(
                name, 1, f"unknown encoding {candidate!r}", f"未知的编码 {candidate}"
            ) from exc
        except UnicodeDecodeError as exc:
            error = exc
            continue
        text = text.removeprefix("\ufeff")
        if not text.strip():
            raise fail(name, 1, "the file is empty", "文件为空")
        if "\x00" in text:  # GDAL and the writers would cut a value at it
            line = text[: text.index("\x00")].count("\n") + 1
            raise fail(name, line, "the line holds a NUL character: not a text file",
                       f"第 {line} 行含有空字符（NUL），不是有效的文本文件")
        return text
    assert error is not None
    line = data[: error.start].count(b"\n") + 1
    raise fail(
        name,
        line,
        f"the file is not valid {error.encoding} text",
        f"文件不是有效的 {error.encoding} 文本",
    ) from error


def split_lines(text: str) -> list[str]:
    """Split text at CRLF, CR or LF line breaks."""
    return _LINE_BREAK_RE.split(text)


def parse(lines: list[str], name: str) -> RawFile:
    """Parse the lines into sections, attributes and parcels, checking the layout."""
    raw = RawFile()
    section: str | None = None
    last = 1
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        last = number
        match = _SECTION_RE.match(text)
        if match:
            section = _enter_section(raw, match.group(1), number, name)
        elif _ANY_SECTION_RE.match(text):
            raise fail(name, number, f"unknown section {text}", f"未知的节 {text}")
        elif section is None:
            raise fail(
                name, number, "text before the [属性描述] section", "[属性描述] 节之前有多余内容"
            )
        elif section == ATTRIBUTES:
            _parse_attribute(raw, text, number, name)
        else:
            _parse_coordinate_line(raw, text, number, name)
    _check_sections(raw, last, name)
    return raw


def _enter_section(raw: RawFile, section: str, number: int, name: str) -> str:
    if section in raw.sections:
        raise fail(
            name,
            number,
            f"section [{section}] appears twice (first at line {raw.sections[section]})",
            f"[{section}] 节重复出现（第一次在第 {raw.sections[section]} 行）",
        )
    if section == ATTRIBUTES and COORDINATES in raw.sections:
        raise fail(
            name,
            number,
            "[属性描述] must come before [地块坐标]",
            "[属性描述] 应在 [地块坐标] 之前",
        )
    raw.sections[section] = number
    return section


def _check_sections(raw: RawFile, last: int, name: str) -> None:
    if COORDINATES not in raw.sections:
        raise fail(
            name,
            last,
            f"no [地块坐标] section: the file ends at line {last} without one",
            f"缺少 [地块坐标] 节（文件在第 {last} 行结束）",
        )
    if not raw.blocks:
        raise fail(
            name,
            raw.sections[COORDINATES],
            "the [地块坐标] section has no parcels",
            "[地块坐标] 节中没有地块",
        )


def _parse_attribute(raw: RawFile, text: str, number: int, name: str) -> None:
    separator = "=" if "=" in text else "＝"
    key, found, value = text.partition(separator)
    key, value = key.strip(), value.strip()
    if not found or not key:
        raise fail(
            name,
            number,
            f"expected key=value in [属性描述], found {text!r}",
            f"[属性描述] 中应为“键=值”，实为“{text}”",
        )
    if key in raw.attributes:
        raise fail(
            name,
            number,
            f"attribute {key} is given twice (first at line {raw.attr_lines[key]})",
            f"属性 {key} 重复（第一次在第 {raw.attr_lines[key]} 行）",
        )
    raw.attributes[key] = value
    raw.attr_lines[key] = number


def _parse_coordinate_line(raw: RawFile, text: str, number: int, name: str) -> None:
    fields = [item.strip() for item in text.split(",")]
    if fields[-1] == "@":
        raw.blocks.append(parse_header(fields[:-1], number, name))
    elif not raw.blocks:
        raise fail(
            name,
            number,
            "point row before any parcel header (a header ends with ',@')",
            "地块头行（以“,@”结尾）之前出现了界址点行",
        )
    else:
        raw.blocks[-1].points.append(parse_point(fields, number, name))
