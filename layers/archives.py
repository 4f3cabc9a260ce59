"""Zipped uploads and Shapefile parts.

A zip is unpacked by us, never handed to GDAL: under limits on the number of entries, the
total unpacked size (counted while unpacking, as sizes in a zip can lie) and the
compression ratio, with no path leaving the target folder.
"""

from __future__ import annotations

import lzma
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING

from blueprint.layers.errors import InvalidFile, RefusedFormat, TooLarge

if TYPE_CHECKING:
    from blueprint.layers.safe_open import Limits

MB = 1024 * 1024
# Suffixes that mark the data file inside a zip (companions such as .dbf are not listed);
# whatever the suffix says, the bytes decide.
DATA_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".tif", ".tiff", ".vrt", ".kml", ".kmz",
                 ".gml", ".fgb", ".sqlite", ".tab")
# Compression methods Python's zipfile unpacks; another (Deflate64, AES …) is refused by name.
UNPACKED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                              zipfile.ZIP_LZMA})
MAX_NAME_BYTES = 255  # one file or folder name, as Linux file systems allow
MAX_ENTRY_BYTES = 4096  # a directory entry: 46 bytes, its name, extra fields and comment


def unzip(path: Path, target: Path, limits: Limits) -> Path:
    """Unpack ``path`` under the limits into ``target``; return the one data file (or .gdb)."""
    try:
        _check_directory(path, limits)
        with zipfile.ZipFile(path) as archive:
            members = _members(archive, path.name, limits)
            data = _data_file([m.filename.replace("\\", "/") for m in members], path.name)
            written = 0
            for member in members:
                written += _extract(archive, member, target, limits.max_unzipped_bytes - written,
                                    path.name)
    except zipfile.BadZipFile:
        raise InvalidFile("not a readable zip archive", message_zh="压缩包已损坏或不是 zip 格式",
                          where=path.name) from None
    return target / data


def _check_directory(path: Path, limits: Limits) -> None:
    """Refuse a zip whose directory (its end record says how many entries and how many bytes)
    is beyond the entry limit before it is read: Python builds an object per entry, and a
    200 MB upload of empty entries holds two million (1.3 GB of memory, 18 s)."""
    with open(path, "rb") as fh:
        # zipfile's own reader of the end record (zip64 too): the numbers ZipFile will use
        end = zipfile._EndRecData(fh)  # type: ignore[attr-defined]
    if end is None:
        return  # no end record: ZipFile says the zip is not readable
    entries, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # type: ignore[attr-defined]
    if entries > limits.max_zip_members or size > limits.max_zip_members * MAX_ENTRY_BYTES:
        raise TooLarge(f"the zip holds {entries} entries, more than the limit of "
                       f"{limits.max_zip_members}",
                       message_zh=f"压缩包内文件过多（上限 {limits.max_zip_members} 个）",
                       where=path.name)


def _members(archive: zipfile.ZipFile, shown: str, limits: Limits) -> list[zipfile.ZipInfo]:
    infos = [i for i in archive.infolist()
             if not i.filename.startswith("__MACOSX") and not i.is_dir()]
    if len(archive.infolist()) > limits.max_zip_members:
        raise TooLarge(f"the zip holds {len(archive.infolist())} entries, more than the limit "
                       f"of {limits.max_zip_members}",
                       message_zh=f"压缩包内文件过多（上限 {limits.max_zip_members} 个）",
                       where=shown)
    total = sum(i.file_size for i in infos)
    if total > limits.max_unzipped_bytes:
        raise TooLarge(f"the zip unpacks to {total / MB:.0f} MB, more than the limit of "
                       f"{limits.max_unzipped_bytes / MB:.0f} MB",
                       message_zh=f"压缩包解压后过大（{total / MB:.0f} MB，上限 "
                       f"{limits.max_unzipped_bytes / MB:.0f} MB）", where=shown)
    for info in infos:
        ratio = info.file_size // max(info.compress_size, 1)
        if info.file_size > MB and ratio > limits.max_zip_ratio:
            raise TooLarge(f"{info.filename} is compressed {ratio} times (a zip bomb?)",
                           message_zh="压缩包内文件压缩比异常（疑似压缩炸弹）",
                           where=f"{shown}/{info.filename}")
        parts = PurePosixPath(info.filename.replace("\\", "/")).parts
        if not parts or info.filename.startswith(("/", "\\")) or ".." in parts \
                or ":" in parts[0]:
            raise RefusedFormat(f"unsafe path in the zip: {info.filename}",
                                message_zh=f"压缩包内含不安全的路径：{info.filename}", where=shown)
        _check_unpackable(info, parts, shown)
    _check_no_clash(infos, shown)
    return infos


def _check_unpackable(info: zipfile.ZipInfo, parts: tuple[str, ...], shown: str) -> None:
    """Refuse an entry we could not unpack (encrypted, an unknown compression, a name too
    long for a file system) before anything is written, naming it."""
    where = f"{shown}/{info.filename}"
    if info.flag_bits & 0x1:
        raise RefusedFormat(f"{info.filename} in the zip is encrypted; send it without a "
                            "password", message_zh=f"压缩包内文件“{info.filename}”已加密，"
                            "请去掉密码后重新打包", where=where)
    if info.compress_type not in UNPACKED_METHODS:
        raise RefusedFormat(f"{info.filename} in the zip is compressed by a method that is not "
                            f"supported (method {info.compress_type}); zip it again with the "
                            "usual method (Deflate)", message_zh=f"压缩包内文件“{info.filename}”"
                            f"的压缩方式（{info.compress_type}）不受支持，请用常规方式（Deflate）"
                            "重新打包", where=where)
    if any(len(part.encode()) > MAX_NAME_BYTES for part in parts):
        raise RefusedFormat(f"a name in the zip is longer than {MAX_NAME_BYTES} bytes: "
                            f"{info.filename[:80]}…", message_zh=f"压缩包内文件名过长（超过 "
                            f"{MAX_NAME_BYTES} 字节）：{info.filename[:80]}…", where=shown)


def _check_no_clash(infos: list[zipfile.ZipInfo], shown: str) -> None:
    """Refuse two entries unpacked to one path, or a file where another entry needs a
    folder: one would overwrite the other, or the unpacking would fail half way."""
    files: set[PurePosixPath] = set()
    folders: set[PurePosixPath] = set()
    for info in infos:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path in files or path in folders:
            raise _clash(info.filename, shown)
        files.add(path)
        folders.update(path.parents)
    clash = files & folders
    if clash:
        raise _clash(str(min(clash)), shown)


def _clash(name: str, shown: str) -> InvalidFile:
    return InvalidFile(f"the zip holds {name} twice (or as a file and as a folder); zip the "
                       "files again", where=shown,
                       message_zh=f"压缩包内“{name}”重复出现（或既是文件又是文件夹），请重新打包")


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int,
             shown: str) -> int:
    """Copy one member, counting the bytes really unpacked (sizes in a zip can lie)."""
    out = target / PurePosixPath(info.filename.replace("\\", "/"))
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with archive.open(info) as src, open(out, "wb") as dst:
        while chunk := _read(src, info, shown):
            written += len(chunk)
            if written > budget:
                raise TooLarge("the zip unpacks to more than the limit",
                               message_zh="压缩包解压后超过大小限制", where=shown)
            dst.write(chunk)
    return written


def _read(src: IO[bytes], info: zipfile.ZipInfo, shown: str) -> bytes:
    """The next megabyte of an entry, or a clear error when its compressed data is damaged
    (zlib, bz2 and lzma each raise their own error; a bad checksum is BadZipFile)."""
    try:
        return src.read(MB)
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError):
        raise InvalidFile(f"{info.filename} in the zip is damaged and cannot be unpacked; "
                          "zip it again", message_zh=f"压缩包内文件“{info.filename}”已损坏，"
                          "无法解压，请重新打包", where=f"{shown}/{info.filename}") from None


def _data_file(names: list[str], shown: str) -> str:
    # the folder as named, whatever its case (RED.GDB from Windows is a File Geodatabase too)
    gdbs = sorted({n[:n.lower().index(".gdb/") + 4] for n in names if ".gdb/" in n.lower()})
    data = [n for n in names if n.lower().endswith(DATA_SUFFIXES) and ".gdb/" not in n.lower()]
    data += gdbs
    if len(data) == 1:
        return data[0]
    if not data:
        raise InvalidFile("the zip holds no vector data file (.shp, .gpkg, .geojson, .gdb…)",
                          message_zh="压缩包中没有矢量数据文件（.shp、.gpkg、.geojson、.gdb 等）",
                          where=shown)
    listed = ", ".join(data[:5])
    raise InvalidFile(f"the zip holds several data files ({listed}); send one at a time",
                      message_zh=f"压缩包中有多个数据文件（{listed}），请一次只上传一个",
                      where=shown)



def check_shapefile_parts(path: Path) -> None:
    """A Shapefile needs its ``.shx`` and ``.dbf`` beside it: say so plainly."""
    if path.suffix.lower() != ".shp":
        return
    missing = [s for s in (".shx", ".dbf") if not _sibling(path, s)]
    if missing:
        raise InvalidFile(
            f"the Shapefile's {' and '.join(missing)} file is missing beside it; keep .shp, "
            ".shx, .dbf and .prj together (zip them to upload)",
            message_zh="Shapefile 缺少配套文件（" + "、".join(missing) + "），"
            "请将 .shp、.shx、.dbf、.prj 一起打包为 .zip 上传", where=path.name)
    check_dbf(_part(path, ".dbf"), records=_shx_records(_part(path, ".shx")))


def _part(path: Path, suffix: str) -> Path:
    lower = path.with_suffix(suffix)
    return lower if lower.exists() else path.with_suffix(suffix.upper())


def _shx_records(shx: Path) -> int | None:
    """The number of shapes the ``.shx`` indexes (100-byte header, 8 bytes a shape)."""
    size = shx.stat().st_size
    return (size - 100) // 8 if size >= 100 and (size - 100) % 8 == 0 else None


def check_dbf(dbf: Path, *, records: int | None = None) -> None:
    """Refuse a ``.dbf`` that is cut short or does not match the shapes: GDAL would read
    such a file with empty attributes (ids, levels) and say nothing."""
    size = dbf.stat().st_size
    with open(dbf, "rb") as fh:
        head = fh.read(32)
    if len(head) < 32:
        raise _bad_dbf(dbf, f"it is only {size} bytes, shorter than a .dbf header",
                       f"仅 {size} 字节，不足一个文件头")
    count = int.from_bytes(head[4:8], "little")
    header_len = int.from_bytes(head[8:10], "little")
    record_len = int.from_bytes(head[10:12], "little")
    if header_len < 33 or record_len < 1:
        raise _bad_dbf(dbf, "its header is not a dBASE header", "文件头不是 dBASE 格式")
    whole = max(size - header_len, 0) // record_len
    if size < header_len or whole < count:
        raise _bad_dbf(dbf, f"it is truncated: its header declares {count} records of "
                       f"{record_len} bytes, the file holds {whole}",
                       f"文件不完整：文件头声明 {count} 条记录，实际只有 {whole} 条")
    if records is not None and records != count:
        raise _bad_dbf(dbf, f"it has {count} records but the .shx indexes {records} shapes",
                       f"属性记录 {count} 条，与 .shx 中的 {records} 个图形不一致")


def _bad_dbf(dbf: Path, why: str, why_zh: str) -> InvalidFile:
    return InvalidFile(f"the attribute table {dbf.name} cannot be read: {why}; the ids and "
                       "classes of the features would be lost (export the Shapefile again)",
                       message_zh=f"属性表 {dbf.name} 无法读取：{why_zh}，要素编号和分类将丢失，"
                                  "请重新导出 Shapefile", where=dbf.name)


def _sibling(path: Path, suffix: str) -> bool:
    return path.with_suffix(suffix).exists() or path.with_suffix(suffix.upper()).exists()
