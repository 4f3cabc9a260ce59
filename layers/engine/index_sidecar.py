"""The embedded index's sidecar: a layer version's boxes, ids and classes in one file.

A layer version never changes once imported (migration 0008), so what the index derives
from it (each feature's bounding box, id and class, in id order) is written once to
``<data dir>/index/layer-<id>.idx`` and read by the next process instead of every row and
geometry: a cold start reads the boxes (32 bytes a feature), builds its tree over them and
decodes only the geometries a query hits.

The file is the store's own (its name is made from the layer's integer id, never from
user input) and is never trusted blindly: its header names the layer version it was made
from (id, import time, checksum, feature count) and the payload's size and CRC-32; a file
that does not match in every respect is ignored (and replaced by the next load). It is
written to a temporary file and renamed, so a reader never sees half a file.

Only current layer versions keep theirs: when a version is superseded (a new import of
its name, ``blueprint layers remove``) the sidecars of every version no longer current
are deleted (:func:`prune_sidecars`). A past version is still vetted (``vet --as-of``):
its index is then built from its rows, as without a sidecar, and its sidecar written
again until the next prune.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from blueprint.layers.repository import LayerInfo
    from blueprint.layers.store import Store

log = logging.getLogger(__name__)

MAGIC = b"BPIDX01\n"
_HEADER_LEN = struct.Struct("<I")
# a header is small; anything larger is not one of ours
_MAX_HEADER = 1 << 20


@dataclass
class Sidecar:
    """A layer version's features as the index needs them, in id order."""

    fids: np.ndarray  # object (str)
    klass: np.ndarray  # object (str or None)
    bounds: np.ndarray  # float64, shape (n, 4): minx, miny, maxx, maxy (NaN when empty)


def index_dir(store: Store) -> Path:
    """The folder of the store's index sidecars (inside its data folder)."""
    return Path(store.data_dir).resolve() / "index"


def sidecar_path(store: Store, layer: LayerInfo) -> Path:
    """Where the sidecar of ``layer`` lives: named by the layer's integer id only."""
    return index_dir(store) / f"layer-{int(layer.id)}.idx"


def fingerprint(layer: LayerInfo) -> str:
    """What identifies a layer version: a sidecar of another version is not used."""
    return f"{int(layer.id)}|{layer.imported_at.isoformat()}|{layer.checksum}|" \
           f"{int(layer.feature_count)}"


def read_sidecar(store: Store, layer: LayerInfo) -> Sidecar | None:
    """The sidecar of ``layer``, or None when there is none or it does not check out
    (another layer version, truncated, corrupt, not ours)."""
    path = sidecar_path(store, layer)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        return _decode(data, fingerprint(layer))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, struct.error) as exc:
        log.warning("index sidecar %s ignored: %s", path.name, exc)
        return None


def _decode(data: bytes, expected: str) -> Sidecar:
    if not data.startswith(MAGIC):
        raise ValueError("not an index sidecar")
    at = len(MAGIC)
    (hlen,) = _HEADER_LEN.unpack_from(data, at)
    at += _HEADER_LEN.size
    if hlen > _MAX_HEADER or at + hlen > len(data):
        raise ValueError("bad header length")
    header = json.loads(data[at:at + hlen].decode("utf-8"))
    at += hlen
    if header["fingerprint"] != expected:
        raise ValueError("made from another layer version")
    n, fid_bytes = int(header["n"]), int(header["fid_bytes"])
    classes = header["classes"]
    if not isinstance(classes, list) or n < 0 or fid_bytes < 0:
        raise ValueError("bad header")
    payload = memoryview(data)[at:]
    if len(payload) != 32 * n + 4 * n + fid_bytes:
        raise ValueError("truncated or padded")
    if zlib.crc32(payload) != int(header["crc32"]):
        raise ValueError("checksum mismatch")
    bounds = np.frombuffer(payload, dtype="<f8", count=4 * n).reshape(n, 4)
    codes = np.frombuffer(payload, dtype="<i4", count=n, offset=32 * n)
    if n and (codes.min() < -1 or codes.max() >= len(classes)):
        raise ValueError("bad class code")
    text = bytes(payload[36 * n:]).decode("utf-8")
    fids = np.array(text.split("\n") if n else [], dtype=object)
    if len(fids) != n:
        raise ValueError("id count mismatch")
    cats = np.array([*classes, None], dtype=object)  # code -1: no class
    return Sidecar(fids=fids, klass=cats[codes], bounds=bounds)


def write_sidecar(store: Store, layer: LayerInfo, sidecar: Sidecar) -> bool:
    """Write the sidecar of ``layer`` atomically; False (and nothing written) when its ids
    or classes cannot be stored faithfully or the data folder is not writable."""
    fids = [str(f) for f in sidecar.fids]
    if any("\n" in f for f in fids):
        return False
    classes = list(dict.fromkeys(k for k in sidecar.klass if k is not None))
    if not all(isinstance(k, str) for k in classes):
        return False
    code_of = {k: i for i, k in enumerate(classes)}
    codes = np.array([-1 if k is None else code_of[k] for k in sidecar.klass], dtype="<i4")
    bounds = np.ascontiguousarray(sidecar.bounds, dtype="<f8")
    text = "\n".join(fids).encode("utf-8")
    return _write_file(store, layer, classes, len(fids), [bounds, codes, text])


def _write_file(store: Store, layer: LayerInfo, classes: list[str], n: int,
                parts: list[Any]) -> bool:
    """The file: magic, header, then ``parts`` (the boxes, the class codes, the ids'
    text; buffers written as they are, the CRC-32 computed over them in turn)."""
    views = [memoryview(p) if isinstance(p, bytes)
             else memoryview(np.ascontiguousarray(p).reshape(-1).view(np.uint8).data)
             for p in parts]
    crc = 0
    for view in views:
        crc = zlib.crc32(view, crc)
    fid_bytes = len(views[2])
    header = json.dumps({"fingerprint": fingerprint(layer), "n": n,
                         "fid_bytes": fid_bytes, "classes": classes,
                         "crc32": crc}).encode("utf-8")
    path = sidecar_path(store, layer)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".layer-", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC)
                out.write(_HEADER_LEN.pack(len(header)))
                out.write(header)
                for view in views:
                    out.write(view)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("index sidecar for layer %s not written: %s", layer.id, exc)
        return False
    return True


def remove_sidecars(store: Store) -> None:
    """Forget every sidecar (after a restore: the layer ids may mean other layers)."""
    folder = index_dir(store)
    if folder.is_dir():
        for path in folder.glob("*.idx"):
            path.unlink(missing_ok=True)


_SIDECAR_NAME = re.compile(r"layer-([0-9]{1,18})\.idx")


def prune_sidecars(store: Store) -> int:
    """Delete the sidecars of layer versions that are no longer current (superseded by a
    new import of their name or removed); return how many went. Best effort: never
    raises (the files are a cache).

    The folder is listed before the current versions are read: a sidecar on disk is of a
    version committed by then, so a version that has just become current is never taken
    for a superseded one.
    """
    folder = index_dir(store)
    try:
        if not folder.is_dir():
            return 0
        found = {}
        for path in folder.iterdir():
            match = _SIDECAR_NAME.fullmatch(path.name)
            if match:
                found[int(match.group(1))] = path
        if not found:
            return 0
        import sqlalchemy as sa

        from blueprint.layers.schema import layers

        with store.read() as conn:
            current = set(conn.execute(sa.select(layers.c.id)
                                       .where(layers.c.current.is_(True))).scalars())
        gone = 0
        for layer_id, path in found.items():
            if layer_id not in current:
                path.unlink(missing_ok=True)
                gone += 1
        return gone
    except Exception as exc:  # a stale cache file is never worth a failure
        log.warning("index sidecars not pruned: %s", exc)
        return 0


class ImportParts:
    """What an import gathers for the sidecar, batch by batch: ids (fixed-width text
    arrays), class codes and boxes; about 40 bytes a feature for short ids."""

    def __init__(self) -> None:
        self.fids: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        self.bounds: list[np.ndarray] = []
        self.classes: dict[str, int] = {}
        self.usable = True

    def add(self, fids: list[str], klass: list[str | None], bounds: np.ndarray) -> None:
        """A batch's ids, classes and boxes, in file order."""
        if not self.usable:
            return
        # numpy's fixed-width text drops trailing NULs; a newline separates ids in the file
        if any("\x00" in f or "\n" in f for f in fids):
            self.usable = False
            return
        code_of = self.classes
        self.fids.append(np.array(fids, dtype=str) if fids else np.array([], dtype="U1"))
        self.codes.append(np.array([-1 if k is None else code_of.setdefault(k, len(code_of))
                                    for k in klass], dtype="<i4"))
        self.bounds.append(np.asarray(bounds, dtype="<f8"))


def write_import_sidecar(store: Store, layer_id: int, name: str, parts: ImportParts) -> bool:
    """Write the sidecar of the layer version an import has just committed, from what the
    import gathered (:class:`ImportParts`), so that the first load after an import need
    not read every row. Best effort: False (nothing written; the first load writes it, as
    without) when anything is amiss; never raises. The sidecars of the versions the
    import superseded are deleted either way (:func:`prune_sidecars`)."""
    try:
        return _write_import_sidecar(store, layer_id, name, parts)
    finally:
        prune_sidecars(store)


def _write_import_sidecar(store: Store, layer_id: int, name: str, parts: ImportParts) -> bool:
    try:
        from blueprint.layers.repository import get_layer

        if not parts.usable:
            return False
        layer = get_layer(name, store=store)
        ids = np.concatenate(parts.fids) if parts.fids else np.array([], dtype="U1")
        boxes = np.concatenate(parts.bounds) if parts.bounds else np.zeros((0, 4))
        codes = np.concatenate(parts.codes) if parts.codes else np.zeros(0, "<i4")
        parts.fids, parts.bounds, parts.codes = [], [], []  # the batches' copies go
        n = len(ids)
        if int(layer.id) != int(layer_id) or int(layer.feature_count) != n:
            return False  # another import of the name committed since: not ours to write
        if not all(isinstance(k, str) for k in parts.classes):
            return False
        order = np.argsort(ids, kind="stable")  # code point order: SQLite's BINARY collation
        ids, boxes, codes = ids[order], boxes[order], codes[order]
        del order
        if boxes.shape != (n, 4) or codes.shape != (n,):
            return False
        step = 65_536  # the ids' text a slice at a time: no Python string per id kept
        text = b"\n".join("\n".join(ids[i:i + step].tolist()).encode("utf-8")
                          for i in range(0, n, step))
        return _write_file(store, layer, list(parts.classes), n,
                           [np.ascontiguousarray(boxes, dtype="<f8"), codes, text])
    except Exception as exc:  # never fail a committed import over its cache
        log.warning("index sidecar for layer %s not written after import: %s", layer_id, exc)
        return False
