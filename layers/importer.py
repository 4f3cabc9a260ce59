"""Importing layers into the one blueprint, atomically.

``import_layer`` reads a file, checks and repairs it, and replaces the layer of the
same name in one transaction: a failed import leaves the previous state untouched.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from blueprint.layers.catalogue import get_kind
from blueprint.layers.catalogue_rows import layer_values, replace_layer_row
from blueprint.layers.errors import BadInput
from blueprint.layers.import_model import ImportOptions, ImportReport, Progress
from blueprint.layers.prepare import bbox_of, feature_rows, repair_geometries
from blueprint.layers.raster_import import import_raster
from blueprint.layers.readers import RASTER_SUFFIXES, read_vector
from blueprint.layers.store import Store, write_audit

__all__ = ["BATCH", "ImportOptions", "ImportReport", "import_layer", "repair_geometries"]

BATCH = 2000
NAME_PATTERN = re.compile(r"[\w\-][\w.\-]{0,99}")


def import_layer(path: str | Path, options: ImportOptions, *, store: Store,
                 progress: Progress | None = None) -> ImportReport:
    """Import the file at ``path`` as a layer; replace a layer of the same name atomically."""
    path = Path(path)
    kind = get_kind(options.kind)
    name = layer_name(options.name, path)
    if options.title is not None and not 0 < len(options.title) <= 200:
        raise BadInput("the title must have 1 to 200 characters",
                       message_zh="图层标题应为 1 至 200 个字符")
    if kind.raster:
        return import_raster(path, kind, name, options, store=store)
    if path.suffix.lower() in RASTER_SUFFIXES:
        raise BadInput(f"a raster cannot be imported as kind {kind.name!r} (only env_capacity)",
                       message_zh="栅格文件只能作为环境容量图层导入", where=str(path))
    data = read_vector(path, layer=options.layer, encoding=options.encoding, crs=options.crs,
                       max_bytes=options.max_bytes, limits=options.limits)
    frame, repaired = repair_geometries(data.frame, where=str(path))
    rows = list(feature_rows(frame, kind, options, where=str(path)))
    report = ImportReport(
        name=name, kind=kind.name, title=options.title or kind.title, feature_count=len(rows),
        repaired=repaired, bbox=bbox_of(frame), source_file=path.name, source_crs=data.source_crs,
        encoding=data.encoding, warnings=list(data.warnings))
    if repaired:
        report.warnings.append(f"repaired {repaired} invalid geometries (make_valid) / "
                               f"修复了 {repaired} 个无效几何")
    report.warnings += second_layer_warnings(kind.name, name, store=store)
    _write_vector_layer(report, rows, options.actor, store=store, progress=progress)
    return report


def second_layer_warnings(kind: str, name: str, *, store: Store) -> list[str]:
    """A warning when ``name`` adds a second layer of a protected kind instead of replacing.

    Kinds a report checks layer by layer (``one_layer`` in ``layers/kinds.toml``): a second
    layer of one of them is listed (and vetted) beside the first, seldom what an import meant.
    """
    if not get_kind(kind).one_layer:
        return []
    from blueprint.layers.repository import list_layers

    others = [i.name for i in list_layers(store=store) if i.kind == kind and i.name != name]
    if not others:
        return []
    title = get_kind(kind).title
    return [f"the store already has a {kind} layer ({', '.join(others)}); this import adds "
            f"a second one and every report will list both. To replace it instead, import "
            f"with --name {others[0]} (and remove the extra layer with "
            f"`blueprint layers remove {name}`) / 图层库中已有{title}图层"
            f"（{'、'.join(others)}），本次导入将新增第二个{title}图层，审查报告会分别列出；"
            f"如要替换原图层，请用 --name {others[0]} 导入（多余图层可用 "
            f"blueprint layers remove {name} 删除）"]


def layer_name(given: str | None, path: Path) -> str:
    """The layer's name: letters (any script), digits, ``_ - .``; safe in URLs and files.

    A name given explicitly must already be so; one taken from the file name is tidied.
    """
    if given is not None:
        if not NAME_PATTERN.fullmatch(given):
            raise BadInput(f"layer name {given!r} may hold only letters, digits, '_', '-' and "
                           "'.' (at most 100)", message_zh="图层名称只能包含文字、数字、下划线、"
                           "连字符和点（不超过 100 个字符）")
        return given
    tidy = re.sub(r"[^\w.\-]+", "_", path.stem).strip("_.") or "layer"
    return tidy[:100]


def features_checksum(rows: list[dict[str, Any]]) -> str:
    """SHA-256 over an import's features (id, class, properties, WKB), in file order."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps([row["fid"], row["klass"], row["props"]],
                                 ensure_ascii=False).encode("utf-8"))
        digest.update(bytes(row["geom"]))
    return digest.hexdigest()


def _write_vector_layer(report: ImportReport, rows: list[dict[str, Any]], actor: str, *,
                        store: Store, progress: Progress | None) -> None:
    with store.engine.begin() as conn:
        layer_id, _ = replace_layer_row(conn, layer_values(report, actor,
                                                           checksum=features_checksum(rows)),
                                        backend=store.backend)
        for done in store.backend.write_features(conn, layer_id, rows, batch=BATCH):
            if progress:
                progress(done, len(rows))
        write_audit(conn, actor=actor, action="layer.import", obj=f"layer:{report.name}",
                    detail=report.to_dict())
    store.backend.after_import(store=store)

