"""Zipped uploads and Shapefile parts: find the data file, its encoding, its companions."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from layers.errors import InvalidFile

DATA_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".gml", ".fgb")


def zip_target(path: Path) -> tuple[str, bytes | None]:
    """The GDAL path of the one data file inside a zip (in any sub-folder), and the bytes
    of its ``.dbf`` when it is a Shapefile without a ``.cpg`` (for the encoding guess)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist()
                     if not n.startswith("__MACOSX") and not n.endswith("/")]
            inner = _data_file(names, path)
            return f"/vsizip/{path}/{inner}", _dbf_without_cpg(archive, names, inner)
    except zipfile.BadZipFile:
        raise InvalidFile("not a readable zip archive", message_zh="压缩包已损坏或不是 zip 格式",
                          where=path.name) from None


def _data_file(names: list[str], path: Path) -> str:
    gdbs = sorted({n.split(".gdb/")[0] + ".gdb" for n in names if ".gdb/" in n.lower()})
    data = [n for n in names if n.lower().endswith(DATA_SUFFIXES)] + gdbs
    if len(data) == 1:
        return data[0]
    if not data:
        raise InvalidFile("the zip holds no vector data file (.shp, .gpkg, .geojson, .gdb…)",
                          message_zh="压缩包中没有矢量数据文件（.shp、.gpkg、.geojson、.gdb 等）",
                          where=path.name)
    shown = ", ".join(data[:5])
    raise InvalidFile(f"the zip holds several data files ({shown}); send one at a time",
                      message_zh=f"压缩包中有多个数据文件（{shown}），请一次只上传一个",
                      where=path.name)


def _dbf_without_cpg(archive: zipfile.ZipFile, names: list[str], inner: str) -> bytes | None:
    if not inner.lower().endswith(".shp"):
        return None
    stem = str(PurePosixPath(inner).with_suffix("")).lower()
    by_name = {n.lower(): n for n in names}
    if stem + ".cpg" in by_name or stem + ".dbf" not in by_name:
        return None
    return archive.read(by_name[stem + ".dbf"])


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


def _sibling(path: Path, suffix: str) -> bool:
    return path.with_suffix(suffix).exists() or path.with_suffix(suffix.upper()).exists()
