"""Importing layers into the one blueprint, atomically.

``import_layer`` reads a file, checks and repairs it, and replaces the layer of the
same name in one transaction: a failed import leaves the previous state untouched.

A file of more than :data:`STREAM_BATCH` features is streamed: read, checked, repaired
and written :data:`STREAM_BATCH` features at a time, the checksum computed as it goes, so
that memory stays bounded however large the file. The streamed import stores exactly what
the whole read would (same rows, same checksum); whatever only the whole file can decide
(a missing geometry, an invalid one, an id that is not unique, coordinates out of range)
rolls the transaction back and the file is then read whole, which reports the error in
its own words (or imports it, when the doubt was only the stream's).
"""

from __future__ import annotations

import hashlib
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from blueprint.layers.catalogue import LayerKind, get_kind
from blueprint.layers.catalogue_rows import (
    LayerUnchanged,
    layer_values,
    replace_layer_row,
    unchanged_zh,
)
from blueprint.layers.crs import CGCS2000, check_plausible, check_zone, crs_label
from blueprint.layers.errors import BadInput
from blueprint.layers.import_model import ImportOptions, ImportReport, Progress
from blueprint.layers.prepare import (
    batch_rows,
    bbox_of,
    feature_rows,
    repair_geometries,
    stream_fields,
)
from blueprint.layers.raster_import import import_raster
from blueprint.layers.readers import (
    RASTER_SUFFIXES,
    StreamFallback,
    VectorStream,
    open_vector_stream,
    read_vector,
    resolve_crs,
)
from blueprint.layers.safe_open import Limits
from blueprint.layers.store import Store, write_audit

__all__ = ["BATCH", "STREAM_BATCH", "ImportOptions", "ImportReport", "import_layer",
           "repair_geometries"]

BATCH = 2000
BBox4 = tuple[float, float, float, float]
# features read, checked and written at a time by a streamed import (larger files stream)
STREAM_BATCH = 50_000
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
    streamed = _import_streamed(path, kind, name, options, store=store, progress=progress)
    if streamed is not None:
        return streamed
    data = read_vector(path, layer=options.layer, encoding=options.encoding, crs=options.crs,
                       max_bytes=options.max_bytes, limits=options.limits,
                       advice=options.advice)
    frame, repaired = repair_geometries(data.frame, where=str(path))
    rows = list(feature_rows(frame, kind, options, where=str(path)))
    report = ImportReport(
        name=name, kind=kind.name, title=options.title or kind.title, feature_count=len(rows),
        repaired=repaired, bbox=bbox_of(frame), source_file=path.name, source_crs=data.source_crs,
        encoding=data.encoding, warnings=list(data.warnings))
    if repaired:
        report.warnings.append(repaired_zh(repaired))
    report.warnings += second_layer_warnings(kind.name, name, store=store)
    try:
        layer_id = _write_vector_layer(report, rows, options.actor, store=store,
                                       progress=progress)
    except LayerUnchanged:
        return mark_unchanged(report)
    if store.backend.name == "embedded":
        index = _IndexParts()
        index.add(rows, frame)
        index.write(store, layer_id, name)
    return report


def mark_unchanged(report: ImportReport) -> ImportReport:
    """The report of an import that wrote nothing: the current version is the same."""
    report.unchanged = True
    report.warnings.insert(0, unchanged_zh(report.title))
    return report


def repaired_zh(count: int) -> str:
    """The warning for ``count`` invalid geometries repaired on import (``make_valid``), in
    Chinese: what a warning tells the user (the CLI, the import API) is Chinese only."""
    return f"修复了 {count} 个无效几何（make_valid 自动修复，请核对源数据）"


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
    return [f"图层库中已有{title}图层"
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


def features_checksum(rows: Iterable[dict[str, Any]]) -> str:
    """SHA-256 over an import's features (id, class, properties, WKB), in file order."""
    digest = hashlib.sha256()
    _digest_rows(digest, rows)
    return digest.hexdigest()


def _digest_rows(digest: Any, rows: Iterable[dict[str, Any]]) -> None:
    """Add rows to the checksum: ``json.dumps([fid, klass, props], ensure_ascii=False)``
    (written out: the same text) and the WKB of each."""
    parts: list[bytes] = []
    for row in rows:
        klass = row["klass"]
        parts.append(("[" + encode_basestring(row["fid"]) + ", " +
                      ("null" if klass is None else encode_basestring(klass)) + ", " +
                      encode_basestring(row["props"]) + "]").encode("utf-8"))
        parts.append(bytes(row["geom"]))
        if len(parts) >= 8192:  # one update per few thousand rows: the same digest
            digest.update(b"".join(parts))
            parts.clear()
    digest.update(b"".join(parts))


def _is_duplicate_id(exc: BaseException) -> bool:
    """A unique violation from the store (SQLite or PostgreSQL, through SQLAlchemy or not)."""
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    return getattr(exc, "pgcode", None) == "23505"


def _import_streamed(path: Path, kind: LayerKind, name: str, options: ImportOptions, *,
                     store: Store, progress: Progress | None) -> ImportReport | None:
    """Import a file of more than :data:`STREAM_BATCH` features batch by batch; None when the
    file is smaller, or when only the whole read can decide (nothing is then left behind:
    the transaction is rolled back)."""
    limits = options.limits or Limits(max_bytes=options.max_bytes)
    try:
        with open_vector_stream(path, layer=options.layer, encoding=options.encoding,
                                limits=limits) as stream:
            if stream is None or stream.count <= STREAM_BATCH:
                return None
            return _write_streamed(stream, path, kind, name, options, store=store,
                                   progress=progress)
    except (BadInput, StreamFallback):
        return None
    except Exception as exc:
        if _is_duplicate_id(exc):
            return None
        raise


def _write_streamed(stream: VectorStream, path: Path, kind: LayerKind, name: str,
                    options: ImportOptions, *, store: Store,
                    progress: Progress | None) -> ImportReport:
    where = str(path)
    batches = stream.batches(STREAM_BATCH)
    first = next(batches)
    source_crs = resolve_crs(first, options.crs, where, options.advice)
    columns = [c for c in first.columns if c != first.geometry.name]
    id_col, class_col = stream_fields(columns, kind, options, where)
    report = ImportReport(
        name=name, kind=kind.name, title=options.title or kind.title,
        feature_count=stream.count, repaired=0, bbox=(0.0, 0.0, 0.0, 0.0),
        source_file=path.name, source_crs=crs_label(source_crs), encoding=stream.encoding)
    report.warnings += second_layer_warnings(kind.name, name, store=store)
    digest = hashlib.sha256()
    source_bounds: list[BBox4] = []
    bounds: list[BBox4] = []
    index = _IndexParts() if store.backend.name == "embedded" else None
    try:
        with store.engine.begin() as conn, _Prefetch(batches) as reader:
            sink = store.backend.feature_sink(conn)
            done = 0
            try:
                for frame in _chain(first, reader):
                    if id_col is not None and frame[id_col].isna().any():
                        raise StreamFallback("a null id")
                    batch_bounds = bbox_of(frame)
                    check_plausible(batch_bounds, source_crs, where,  # else to_crs
                                    advice=options.advice)  # could misread
                    source_bounds.append(batch_bounds)
                    frame = frame.set_crs(source_crs, allow_override=True).to_crs(CGCS2000)
                    # feature by feature
                    frame, repaired = repair_geometries(frame, where=where)
                    report.repaired += repaired
                    bounds.append(bbox_of(frame))
                    rows = list(batch_rows(frame, columns, id_col, class_col, start=done,
                                           where=where))
                    _digest_rows(digest, rows)
                    if index is not None:
                        index.add(rows, frame)
                    for written in sink.write(rows, batch=BATCH):
                        if progress:
                            progress(done + written, stream.count)
                    done += len(rows)
                    del rows, frame
            except BaseException:
                sink.close(failed=True)  # before the rollback: nothing may still be writing
                raise
            sink.close()  # its error (a duplicate id) first, in its own words
            total = _union_bounds(source_bounds)
            check_plausible(total, source_crs, where, advice=options.advice)
            check_zone(total, source_crs, where)
            report.bbox = _union_bounds(bounds)
            if report.repaired:
                report.warnings.insert(0, repaired_zh(report.repaired))
            values = layer_values(report, options.actor, checksum=digest.hexdigest())
            if sink.layer_id is not None:
                values["id"] = sink.layer_id
            layer_id, _ = replace_layer_row(conn, values, backend=store.backend)
            sink.publish(layer_id)
            write_audit(conn, actor=options.actor, action="layer.import", obj=f"layer:{name}",
                        detail=report.to_dict())
    except LayerUnchanged:  # rolled back: nothing written
        return mark_unchanged(report)
    store.backend.after_import(store=store)
    if index is not None:
        index.write(store, layer_id, name)
    return report


class _IndexParts:
    """What the embedded index's sidecar needs (ids, classes, boxes), gathered batch by
    batch as an import writes its rows, then written once the import has committed."""

    def __init__(self) -> None:
        from blueprint.layers.engine.index_sidecar import ImportParts

        self.parts = ImportParts()

    def add(self, rows: list[dict[str, Any]], frame: Any) -> None:
        import shapely

        self.parts.add([r["fid"] for r in rows], [r["klass"] for r in rows],
                       shapely.bounds(frame.geometry.values))

    def write(self, store: Store, layer_id: int, name: str) -> None:
        from blueprint.layers.engine.index_sidecar import write_import_sidecar

        write_import_sidecar(store, layer_id, name, self.parts)


class _Prefetch:
    """The file's next batch read on a thread while this one is checked, repaired and
    written (GDAL and shapely let go of the GIL while they read and decode): one batch
    ahead at most, so memory stays bounded. An error of the read (``StreamFallback``) is
    raised where the batch would have been. Closing (``with``) stops the thread and waits
    for the read in progress, before the file is closed."""

    def __init__(self, batches: Iterator[Any]):
        self._batches = batches
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blueprint-read", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for frame in self._batches:
                if not self._put(("batch", frame)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # raised to the import by __iter__
            self._put(("error", exc))

    def _put(self, item: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Any]:
        while True:
            what, value = self._queue.get()
            if what == "end":
                return
            if what == "error":
                raise value
            yield value

    def __enter__(self) -> _Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _chain(first: Any, rest: Iterable[Any]) -> Iterable[Any]:
    yield first
    yield from rest


def _union_bounds(boxes: list[BBox4]) -> BBox4:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _write_vector_layer(report: ImportReport, rows: list[dict[str, Any]], actor: str, *,
                        store: Store, progress: Progress | None) -> int:
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
    return layer_id

