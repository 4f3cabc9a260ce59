"""Opening a user's file safely: the one way in for every file a user sends.

Every file is hostile until its bytes say otherwise. :func:`sniff` decides the format from
the bytes alone (magic numbers and structure), never from the file name, and accepts only
formats whose GDAL drivers cannot reference other data: ESRI Shapefile, GeoPackage,
GeoJSON, File Geodatabase (OpenFileGDB), GeoTIFF, and our own boundary-point coordinate
file. Anything else — a GDAL VRT or other XML, a connection string, CSV, KML — is refused
with a message that names the file. Zips are unpacked by us, under limits on the number
of members, their total size and their compression ratio, into a private folder: GDAL
never sees the archive. A GeoPackage is inspected read-only before GDAL opens it: views
and virtual tables other than the R-tree spatial index are refused. The CLI, the API and
layer import all come through :func:`opened`.
"""

from __future__ import annotations

import mmap
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import quote

from blueprint.layers import coordfile
from blueprint.layers.archives import unzip
from blueprint.layers.errors import BlueprintError, InvalidFile, RefusedFormat, TooLarge

MB = 1024 * 1024
# a saved upload's name: a file name takes 255 bytes, and room is left for what SQLite and
# GDAL put beside it (x.gpkg-journal, x.tif.aux.xml)
MAX_SAVED_NAME_BYTES = 200


class FileFormat(StrEnum):
    """The formats Blueprint opens, as decided from a file's bytes."""

    COORDINATE_FILE = "coordinate_file"
    SHAPEFILE = "shapefile"
    GEOPACKAGE = "geopackage"
    GEOJSON = "geojson"
    FILE_GDB = "filegdb"
    GEOTIFF = "geotiff"
    ZIP = "zip"


VECTOR_FORMATS = frozenset({FileFormat.COORDINATE_FILE, FileFormat.SHAPEFILE,
                            FileFormat.GEOPACKAGE, FileFormat.GEOJSON, FileFormat.FILE_GDB})
ALLOWED_ZH = "界址点坐标文件、Shapefile（.zip）、GeoPackage、GeoJSON、File Geodatabase、GeoTIFF"
ALLOWED_EN = ("a boundary-point coordinate file, Shapefile (zipped), GeoPackage, GeoJSON, "
              "File Geodatabase or GeoTIFF")
# … where only vectors are taken (a site, a condition area): a refusal names no raster
VECTOR_ALLOWED_ZH = "界址点坐标文件、Shapefile（.zip）、GeoPackage、GeoJSON 或 File Geodatabase"
VECTOR_ALLOWED_EN = ("a boundary-point coordinate file, Shapefile (zipped), GeoPackage, "
                     "GeoJSON or File Geodatabase")
# A GeoJSON "crs" member as GDAL finds it: the key in any case (GDAL looks members up
# ignoring case), its letters written as themselves or as \u escapes.
_CRS_KEY = rb'"(?:c|\\u00[46]3)(?:r|\\u00[57]2)(?:s|\\u00[57]3)"\s*:'
_CRS_MEMBER = re.compile(_CRS_KEY, re.IGNORECASE)
# GeoJSON "crs" members GDAL is allowed to see: names only, never links or file paths.
_CRS_NAME = re.compile(_CRS_KEY + rb'\s*\{\s*"type"\s*:\s*"name"\s*,\s*"properties"\s*:\s*'
                       rb'\{\s*"name"\s*:\s*"(urn:ogc:def:crs:(EPSG::\d{4,5}|OGC:1\.3:CRS84)|'
                       rb'EPSG:\d{4,5})"\s*\}\s*\}', re.IGNORECASE)
# a NUL written as a JSON escape (an odd run of backslashes before ``u0000``): valid JSON,
# but GDAL cuts the text at it and the rest of the value would be lost without a word
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_NUL_LOCATE_MAX = 64 * MB  # larger files: the byte offset only, no JSON parse to name a feature
# SQL that runs when a table is read: generated columns (computed on every read).
_COMPUTED_ON_READ = re.compile(r"GENERATED\s+ALWAYS|\bAS\s*\(", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    """Size limits applied before a file is read (bytes, counts, ratio)."""

    max_bytes: int = 2 * 1024 * MB
    max_unzipped_bytes: int = 1024 * MB
    max_zip_members: int = 1000
    max_zip_ratio: int = 200
    dbf_sample_bytes: int = 1 * MB
    # cells of a raster (width × height × bands), from its header: a sparse or compressed
    # GeoTIFF of 10^10 cells is a few KB on disk (service/settings.py says why 4×10^8)
    max_raster_cells: int = 400_000_000


@dataclass(frozen=True)
class Source:
    """A user's file after the checks: its format and the local path GDAL may open."""

    format: FileFormat
    path: Path
    shown: str  # the name to show in messages


def sniff(path: Path, *, shown: str | None = None,
          allowed: frozenset[FileFormat] | None = None) -> FileFormat:
    """The format of ``path`` from its bytes (a folder: a File Geodatabase), or a clear error
    naming what may be sent (``allowed``: the formats taken here; by default all)."""
    shown = shown or path.name
    words_en, words_zh = _allowed_words(allowed)
    if path.is_dir():
        if _is_file_gdb(path):
            return FileFormat.FILE_GDB
        raise RefusedFormat(f"the folder is not a File Geodatabase; send a file ({words_en})",
                            message_zh=f"该文件夹不是 File Geodatabase，请提交{words_zh}",
                            where=shown)
    with open(path, "rb") as fh:
        head = fh.read(4096)
    found = _sniff_head(head, path)
    if found is None:
        raise _refused(head, shown, words_en, words_zh)
    return found


def _allowed_words(allowed: frozenset[FileFormat] | None) -> tuple[str, str]:
    """The formats a refusal names (English, Chinese): no raster where none is taken."""
    if allowed is not None and FileFormat.GEOTIFF not in allowed:
        return VECTOR_ALLOWED_EN, VECTOR_ALLOWED_ZH
    return ALLOWED_EN, ALLOWED_ZH


def _sniff_head(head: bytes, path: Path) -> FileFormat | None:
    if head.startswith(b"PK\x03\x04"):
        return FileFormat.ZIP
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return FileFormat.GEOTIFF
    if head[:4] == b"\x00\x00\x27\x0a" and len(head) >= 100:
        return FileFormat.SHAPEFILE
    if head.startswith(b"SQLite format 3\x00"):
        return FileFormat.GEOPACKAGE if head[68:72] in (b"GPKG", b"GP10", b"GP11") else None
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return FileFormat.GEOJSON
    if text.startswith(b"<"):
        return None
    if coordfile.looks_like_coordinate_file(head):
        return FileFormat.COORDINATE_FILE
    return None


def _refused(head: bytes, shown: str, words_en: str, words_zh: str) -> BlueprintError:
    if head.startswith(b"PK\x05\x06"):  # the end record alone: a zip with nothing in it
        return InvalidFile("the zip archive is empty", message_zh="压缩包是空的", where=shown)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:15].lower().startswith((b"<!doctype html", b"<html")):
        return RefusedFormat(
            f"a web page (HTML) is not a GIS file (a download that went wrong?); send "
            f"{words_en}", message_zh=f"这是网页（HTML）文件，不是地理数据文件（下载出错？），"
            f"请提交{words_zh}", where=shown)
    if text.startswith(b"<"):
        return RefusedFormat(
            "XML files (GDAL VRT, KML, GML…) are not accepted: they can point at other data; "
            f"send {words_en}",
            message_zh="不接受 XML 文件（如 GDAL VRT、KML、GML）：此类文件可引用其他数据，"
            f"请提交{words_zh}", where=shown)
    if head.startswith(b"SQLite format 3\x00"):
        return RefusedFormat("a SQLite database that is not a GeoPackage is not accepted",
                             message_zh="不接受非 GeoPackage 的 SQLite 数据库", where=shown)
    return RefusedFormat(
        f"the file is neither a boundary-point coordinate file nor a known GIS format; send "
        f"{words_en}",
        message_zh=f"文件既不是界址点坐标文件，也不是可识别的 GIS 格式，请提交{words_zh}",
        where=shown)


def _is_file_gdb(path: Path) -> bool:
    if not path.name.lower().endswith(".gdb"):
        return False
    tables = sorted(path.glob("a*.gdbtable"))
    if not tables:
        return False
    with open(tables[0], "rb") as fh:
        return fh.read(4) in (b"\x03\x00\x00\x00", b"\x04\x00\x00\x00")


def saved_name(filename: str | None, default: str = "upload") -> str:
    """The name a user's file is saved under in a private folder: no folders, only word
    characters, dots and hyphens (CJK kept), never hidden, and short enough for a file
    system with room for the files SQLite and GDAL add beside it (200 bytes): a long stem
    is cut, the suffix the readers go by is kept."""
    name = re.sub(r"[^\w.\-]", "_", Path((filename or "").replace("\\", "/")).name)
    name = name.lstrip(".") or default
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix.encode()) > 16:
        stem, suffix = name, ""
    room = MAX_SAVED_NAME_BYTES - len(suffix.encode()) - len(dot)
    cut = stem.encode()[:room].decode("utf-8", "ignore")
    return f"{cut}.{suffix}" if dot and suffix else cut


def check_size(path: Path, *, max_bytes: int, shown: str | None = None) -> int:
    """Refuse a missing, empty or oversized file (or folder); return its size in bytes."""
    shown = shown or path.name
    try:
        there = path.exists()
    except OSError:  # a name too long for the file system (ENAMETOOLONG): no such file
        there = False
    if not there:
        raise InvalidFile(f"no such file: {path}", message_zh=f"文件不存在：{path.name}",
                          where=str(path))
    size = _folder_size(path, max_bytes) if path.is_dir() else path.stat().st_size
    if size == 0 and path.is_dir():  # (an empty name is the current folder)
        raise InvalidFile(f"the folder {shown or path} holds no file: give a file",
                          message_zh=f"文件夹“{shown or path}”中没有文件，请指定数据文件",
                          where=shown or str(path))
    if size == 0:
        raise InvalidFile("the file is empty", message_zh="文件为空", where=shown)
    if size > max_bytes and path.is_dir():
        raise TooLarge(f"the folder holds more than the limit of {max_bytes / MB:.0f} MB",
                       message_zh=f"文件夹中的文件超过上限 {max_bytes / MB:.0f} MB", where=shown)
    if size > max_bytes:
        raise TooLarge(f"the file is {size / MB:.0f} MB, more than the limit of "
                       f"{max_bytes / MB:.0f} MB",
                       message_zh=f"文件过大（{size / MB:.0f} MB，上限 {max_bytes / MB:.0f} MB）",
                       where=shown)
    return size


def _folder_size(path: Path, max_bytes: int) -> int:
    """The bytes of the files in the folder ``path``, counted until past ``max_bytes`` (a
    home folder given by mistake is not walked to its end)."""
    size = 0
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            size += p.stat().st_size
            if size > max_bytes:
                break
    return size


def _folder_with_files(path: Path) -> bool:
    try:
        return path.is_dir() and next(path.iterdir(), None) is not None
    except OSError:
        return False


@contextmanager
def opened(path: Path, *, limits: Limits = Limits(), allowed: frozenset[FileFormat] | None = None,
           ) -> Iterator[Source]:
    """Check ``path`` and yield the :class:`Source` GDAL (or our reader) may open.

    Zips are unpacked into a private folder that lives as long as the ``with`` block.
    ``allowed`` narrows the formats (e.g. vectors only for a site).
    """
    shown = path.name
    if _folder_with_files(path):  # not a File Geodatabase: said before its files are counted
        sniff(path, shown=shown, allowed=allowed)
    check_size(path, max_bytes=limits.max_bytes)
    found = sniff(path, shown=shown, allowed=allowed)
    with tempfile.TemporaryDirectory(prefix="blueprint-open-") as work:
        if found is FileFormat.ZIP:
            inner = unzip(path, Path(work) / "unzipped", limits)
            shown = f"{path.name}/{inner.relative_to(Path(work) / 'unzipped').as_posix()}"
            found = sniff(inner, shown=shown, allowed=allowed)
            if found is FileFormat.ZIP:
                raise RefusedFormat("a zip inside a zip is not accepted",
                                    message_zh="不接受嵌套的压缩包", where=shown)
            path = inner
        _check_allowed(found, allowed, shown)
        _check_content(found, path, shown)
        yield Source(format=found, path=_gdal_path(found, path, Path(work)), shown=shown)


def _check_allowed(found: FileFormat, allowed: frozenset[FileFormat] | None, shown: str) -> None:
    if allowed is None or found in allowed:
        return
    if found is FileFormat.GEOTIFF:
        raise RefusedFormat("a raster (GeoTIFF) cannot be used here; send a vector file",
                            message_zh="此处不能使用栅格文件（GeoTIFF），请提交矢量文件",
                            where=shown)
    raise RefusedFormat(f"a {found.value} file cannot be used here", where=shown)


def _check_content(found: FileFormat, path: Path, shown: str) -> None:
    if found is FileFormat.GEOJSON:
        _check_geojson(path, shown)
    elif found is FileFormat.GEOPACKAGE:
        check_geopackage(path, shown)
    elif found is FileFormat.SHAPEFILE and path.suffix.lower() != ".shp":
        raise RefusedFormat("a Shapefile must be named .shp and sent with its .shx and .dbf "
                            "(zip them)", message_zh="Shapefile 须以 .shp 命名，并与 .shx、.dbf "
                            "一起打包为 .zip 上传", where=shown)


def _gdal_path(found: FileFormat, path: Path, work: Path) -> Path:
    """GDAL's GeoJSON and GeoPackage drivers want their own suffix: give them a private link.

    A GeoPackage always gets one (a hard link, or a copy), alone in the private folder:
    SQLite finds a ``-wal`` or ``-journal`` by the name it opens, and GDAL, closing a
    GeoPackage it opened read-only (even with IMMUTABLE=YES), opens it again read-write
    when a ``-wal`` is beside it and so merges that WAL into the file (GDAL's
    ``OGRSQLiteBaseDataSource::CloseDB``). Beside the private name there is none: what GDAL
    reads is what :func:`check_geopackage` inspected, the main file, and the user's file and
    folder are never written, whatever appears beside them after the check (a QGIS saving)
    or beside the file a symbolic link points at.
    """
    wanted = {FileFormat.GEOJSON: ".geojson", FileFormat.GEOPACKAGE: ".gpkg"}.get(found)
    if wanted is None or (path.suffix.lower() == wanted and found is FileFormat.GEOJSON):
        return path
    target = work / f"data{wanted}"
    try:
        os.link(path, target)
    except OSError:
        shutil.copyfile(path, target)
    return target


def _check_geojson(path: Path, shown: str) -> None:
    """Only a named CRS may appear: GDAL would read a file or fetch a URL named as a CRS."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for match in _CRS_MEMBER.finditer(data):
            window = data[match.start():match.start() + 512]
            if not _CRS_NAME.match(window):
                raise RefusedFormat(
                    "the GeoJSON's \"crs\" member is not a plain CRS name (EPSG:…); links and "
                    "file names are not followed", message_zh="GeoJSON 的 crs 成员不是坐标系名称"
                    "（应为 EPSG 代码），不接受链接或文件路径", where=shown)
        head = bytes(data[:64]).lstrip(b"\xef\xbb\xbf \t\r\n")
        nul = data.find(b"\x00")
        escaped = _NUL_ESCAPE.search(data) if nul == -1 and data.find(b"u0000") != -1 \
            else None
    if nul != -1:  # not JSON text (GDAL would cut the value at it)
        raise InvalidFile(f"the GeoJSON holds a NUL byte (at byte {nul}): not JSON text",
                          message_zh=f"GeoJSON 含有空字符（NUL，第 {nul} 字节），不是有效的 "
                                     "JSON 文本", where=shown)
    if escaped is not None:
        _refuse_nul_escape(path, escaped.end() - 6, shown)
    if not head.startswith(b"{"):
        raise RefusedFormat("not a GeoJSON object", message_zh="不是 GeoJSON 对象", where=shown)


def _refuse_nul_escape(path: Path, offset: int, shown: str) -> None:
    """Refuse a GeoJSON with a ``\\u0000`` escape, naming the feature and property it is in
    (when the file parses as JSON and is not too large to parse) and its byte offset."""
    en, zh = "the GeoJSON", "GeoJSON "
    found = _nul_place(path) if path.stat().st_size <= _NUL_LOCATE_MAX else None
    if found is not None:
        feature, key = found
        shown_key = key.replace("\x00", "\\u0000")[:80] if key is not None else None
        if feature is not None and shown_key is not None:
            en, zh = f"feature {feature} of the GeoJSON, property {shown_key!r},", \
                f"GeoJSON 第 {feature} 个要素的属性“{shown_key}”"
        elif feature is not None:
            en, zh = f"feature {feature} of the GeoJSON", f"GeoJSON 第 {feature} 个要素"
    raise InvalidFile(f"{en} holds a NUL written as \\u0000 (at byte {offset}): GDAL would "
                      "cut the text there; remove it", where=shown,
                      message_zh=f"{zh}含有空字符（\\u0000，第 {offset} 字节），读取时文字会在"
                                 "此处被截断，请删除后重新提交")


def _nul_place(path: Path) -> tuple[int | None, str | None] | None:
    """Where the first NUL is: (feature number from 1, property name), either None when it
    is elsewhere; None when the file is not a JSON object."""
    import json

    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict):
        return None
    listed = doc.get("features")
    features: list[object] = listed if isinstance(listed, list) \
        else [doc] if doc.get("type") == "Feature" else []
    for number, feature in enumerate(features, start=1):
        if not _holds_nul(feature):
            continue
        props = feature.get("properties") if isinstance(feature, dict) else None
        for key, value in (props.items() if isinstance(props, dict) else ()):
            if "\x00" in key or _holds_nul(value):
                return number, key
        return number, None
    return (None, None) if _holds_nul(doc) else None


def _holds_nul(value: object) -> bool:
    """Whether a parsed JSON value holds a NUL in any string (keys too), iteratively."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def check_geopackage(path: Path, shown: str) -> None:
    """Inspect a GeoPackage read-only (immutable, no journal files) before GDAL opens it.

    A ``-wal`` or ``-journal`` beside it (or beside the file a symbolic link to it points
    at, where SQLite looks) holds changes the inspection does not see (a view added there
    passed unseen): such a file is refused. GDAL never sees them either: it opens a private
    link (:func:`_gdal_path`) with IMMUTABLE=YES."""
    for suffix in ("-wal", "-journal"):
        side = next((s for s in _sidecars(path, suffix) if _size(s) > 0), None)
        if side is not None:
            raise RefusedFormat(
                f"the GeoPackage comes with {side.name}: changes not yet written into it "
                "(is it open in QGIS or ArcGIS?); close it there, or export it again",
                message_zh=f"GeoPackage 附带 {side.name}（尚未写入的修改，文件可能正在 QGIS 或 "
                           "ArcGIS 中打开），请关闭后或重新导出后再提交", where=shown)
    # quoted: a '#' or '?' in the file name would otherwise end the path (and the check
    # would inspect an empty database instead of the file)
    uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        raise InvalidFile("not a readable GeoPackage", message_zh="GeoPackage 无法读取",
                          where=shown) from None
    try:
        rows = conn.execute("SELECT type, name, coalesce(sql, '') FROM sqlite_master").fetchall()
        contents = conn.execute("SELECT count(*) FROM gpkg_contents").fetchone()[0] \
            if any(kind == "table" and name == "gpkg_contents" for kind, name, _ in rows) else 0
    except sqlite3.Error:
        raise InvalidFile("not a readable GeoPackage", message_zh="GeoPackage 无法读取",
                          where=shown) from None
    finally:
        conn.close()
    # Triggers run only on writes and nothing writes: GDAL opens the file immutable too.
    for kind, name, sql in rows:
        virtual = sql.lstrip().upper().startswith("CREATE VIRTUAL TABLE")
        if kind == "view" or (virtual and not re.search(r"USING\s+rtree\s*\(", sql, re.I)) \
                or (kind == "table" and not virtual and _COMPUTED_ON_READ.search(sql)):
            raise RefusedFormat(
                f"the GeoPackage holds a view or virtual table ({name}) that could read other "
                "data; export the layers as plain tables",
                message_zh=f"GeoPackage 含视图或虚拟表（{name}），可能引用其他数据，"
                "请导出为普通数据表后再提交", where=shown)
    if not contents:
        raise InvalidFile("the GeoPackage holds no data table (gpkg_contents is empty)",
                          message_zh="GeoPackage 中没有任何数据表", where=shown)


def _sidecars(path: Path, suffix: str) -> list[Path]:
    """``path`` + ``suffix`` beside the name given and beside the file it resolves to."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError):  # a symbolic-link loop: no file to open anyway
        real = path
    return list(dict.fromkeys([path.with_name(path.name + suffix),
                               real.with_name(real.name + suffix)]))


def _size(path: Path) -> int:
    """The size of a file beside a user's file, 0 when there is none (its name may be too
    long to exist: ENAMETOOLONG)."""
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


def dbf_sample(path: Path, limit: int) -> bytes:
    """The header and at most ``limit`` bytes of records of a ``.dbf``, for the encoding guess."""
    with open(path, "rb") as fh:
        head = fh.read(32)
        header_len = int.from_bytes(head[8:10], "little") if len(head) >= 10 else 0
        return head + fh.read(max(header_len - 32, 0) + limit)
