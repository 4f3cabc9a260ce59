"""A Mapbox Vector Tile (spec 2.1) writer for polygons, vectorised with numpy.

Geometry commands (MoveTo, LineTo, ClosePath with zig-zag deltas) are computed for all
rings of a tile at once and varint-encoded as one array; only the framing of each
feature is a Python step. ``mapbox-vector-tile``'s encoder spent 140 µs per feature on
this machine (2.5 s for a city-zoom tile), so it serves as the independent decoder in the
tests instead. Input coordinates are integers in tile units, y down, exterior rings with
positive area (shapely: counter-clockwise), rings closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

POLYGON = 3  # GeomType.POLYGON
MOVE_TO_1 = (1 << 3) | 1
CLOSE_PATH = (1 << 3) | 7


def varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Protobuf varints of non-negative ``values``: the bytes, and each value's length."""
    v = values.astype(np.uint64)
    length = np.ones(v.size, dtype=np.int64)
    for k in range(1, 10):
        length += v >= np.uint64(1 << (7 * k))
    ends = np.cumsum(length)
    out = np.zeros(int(ends[-1]) if v.size else 0, dtype=np.uint8)
    starts = ends - length
    for k in range(int(length.max()) if v.size else 0):
        m = length > k
        byte = (v[m] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (length[m] > k + 1).astype(np.uint64) << np.uint64(7)
        out[starts[m] + k] = (byte | more).astype(np.uint8)
    return out, length


def varint(value: int) -> bytes:
    """One varint (of a non-negative int)."""
    if value < 0x80:
        return _SMALL[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL = [bytes([i]) for i in range(0x80)]


def _zigzag(v: np.ndarray) -> np.ndarray:
    return ((v << 1) ^ (v >> 63)).astype(np.uint64)


@dataclass
class PolygonBatch:
    """Polygons as ragged arrays: ``coords`` (n, 2) int, closed rings; ``ring_offsets`` into
    coords; ``feature_rings`` how many rings each feature has; per-feature properties."""

    coords: np.ndarray
    ring_offsets: np.ndarray
    feature_rings: np.ndarray
    properties: list[dict[str, str | int]] = field(default_factory=list)


def geometry_commands(batch: PolygonBatch) -> tuple[np.ndarray, np.ndarray]:
    """The command integers of every feature, and how many each feature has."""
    sizes = np.diff(batch.ring_offsets) - 1  # points per ring, without the closing one
    keep = np.ones(len(batch.coords), dtype=bool)
    keep[batch.ring_offsets[1:] - 1] = False
    pts = batch.coords[keep].astype(np.int64)
    ring_of_feature = np.repeat(np.arange(batch.feature_rings.size), batch.feature_rings)
    feature_of_point = np.repeat(ring_of_feature, sizes)
    prev = np.zeros_like(pts)
    prev[1:] = pts[:-1]
    first = np.ones(len(pts), dtype=bool)
    first[1:] = feature_of_point[1:] != feature_of_point[:-1]
    prev[first] = 0  # the cursor starts at the origin in each feature
    delta = _zigzag(pts - prev)
    tokens_per_ring = 2 * sizes + 3
    ring_start = np.cumsum(tokens_per_ring) - tokens_per_ring
    out = np.empty(int(tokens_per_ring.sum()), dtype=np.uint64)
    out[ring_start] = MOVE_TO_1
    out[ring_start + 3] = (((sizes - 1) << 3) | 2).astype(np.uint64)
    out[ring_start + tokens_per_ring - 1] = CLOSE_PATH
    point_start = np.cumsum(sizes) - sizes
    rank = np.arange(len(pts)) - np.repeat(point_start, sizes)  # index inside its ring
    base = np.repeat(ring_start, sizes) + 1 + 2 * rank + (rank > 0)
    out[base] = delta[:, 0]
    out[base + 1] = delta[:, 1]
    per_feature = np.bincount(ring_of_feature, weights=tokens_per_ring,
                              minlength=batch.feature_rings.size).astype(np.int64)
    return out, per_feature


def encode_layer(name: str, batch: PolygonBatch, *, extent: int = 4096) -> bytes:
    """One tile holding one layer of polygon features (empty bytes without features)."""
    if batch.feature_rings.size == 0:
        return b""
    keys: dict[str, int] = {}
    values: dict[tuple[str, str | int], int] = {}
    commands, per_feature = geometry_commands(batch)
    data, length = varints(commands)
    byte_end = np.cumsum(length)
    token_end = np.cumsum(per_feature)
    feature_end = np.concatenate([[0], byte_end[token_end - 1]])
    raw = data.tobytes()
    tagged: dict[tuple[tuple[str, str | int], ...], bytes] = {}
    parts = []
    for i, props in enumerate(batch.properties):
        items = tuple(props.items())
        head = tagged.get(items)
        if head is None:
            tags = []
            for key, value in items:
                tags += [keys.setdefault(key, len(keys)),
                         values.setdefault((type(value).__name__, value), len(values))]
            packed = b"".join(varint(t) for t in tags)
            head = tagged[items] = ((b"\x12" + varint(len(packed)) + packed if tags else b"")
                                    + bytes([0x18, POLYGON, 0x22]))
        geom = raw[feature_end[i]:feature_end[i + 1]]
        feat = head + varint(len(geom)) + geom
        parts.append(b"\x12" + varint(len(feat)) + feat)
    body = _string(1, name) + b"".join(parts)
    body += b"".join(_string(3, k) for k in keys)
    body += b"".join(_value(v) for v in values)
    body += b"\x28" + varint(extent) + b"\x78\x02"
    return b"\x1a" + varint(len(body)) + body


def _string(field_no: int, text: str) -> bytes:
    raw = text.encode()
    return bytes([(field_no << 3) | 2]) + varint(len(raw)) + raw


def _value(value: tuple[str, str | int]) -> bytes:
    kind, v = value
    msg = _string(1, str(v)) if kind == "str" else b"\x20" + varint(int(v))
    return b"\x22" + varint(len(msg)) + msg


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """The top-level fields of a protobuf message: (field number, value), in order;
    varints as int, length-delimited values as bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 2:
            size, pos = _read_varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        else:  # fixed-width fields: none in a layer or feature of the MVT spec
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value))
    return out


def _one_layer(tile: bytes) -> list[tuple[int, int | bytes]]:
    layers = [v for n, v in _fields(tile) if n == 3]
    if len(layers) != 1 or not isinstance(layers[0], bytes):
        raise ValueError("expected a tile of one layer")
    return _fields(layers[0])


def join_tiles(first: bytes, second: bytes) -> bytes:
    """Two one-layer tiles of the same layer (name, extent) as one: the first's features,
    then the second's with their tags renumbered into the joined keys and values. Lets a
    tile made by ``ST_AsMVT`` gain features encoded here."""
    if not first:
        return second
    if not second:
        return first
    a, b = _one_layer(first), _one_layer(second)
    keys = [v for n, v in a if n == 3]
    values = [v for n, v in a if n == 4]
    key_at = {k: i for i, k in enumerate(keys)}
    value_at = {v: i for i, v in enumerate(values)}
    b_keys = [v for n, v in b if n == 3]
    b_values = [v for n, v in b if n == 4]
    head = b"".join(_field_bytes(n, v) for n, v in a if n in (1, 2))
    added = []
    for number, feature in b:
        if number != 2 or not isinstance(feature, bytes):
            continue
        parts = []
        for fn, fv in _fields(feature):
            if fn == 2 and isinstance(fv, bytes):  # packed tags: key, value, key, value …
                tags, pos = [], 0
                while pos < len(fv):
                    t, pos = _read_varint(fv, pos)
                    tags.append(t)
                new = []
                for k, v in zip(tags[::2], tags[1::2], strict=True):
                    key, value = b_keys[k], b_values[v]
                    if key not in key_at:
                        key_at[key] = len(keys)
                        keys.append(key)
                    if value not in value_at:
                        value_at[value] = len(values)
                        values.append(value)
                    new += [key_at[key], value_at[value]]
                packed = b"".join(varint(t) for t in new)
                parts.append(b"\x12" + varint(len(packed)) + packed)
            else:
                parts.append(_field_bytes(fn, fv))
        feat = b"".join(parts)
        added.append(b"\x12" + varint(len(feat)) + feat)
    tail = b"".join(_field_bytes(3, k) for k in keys) + b"".join(_field_bytes(4, v) for v in values)
    tail += b"".join(_field_bytes(n, v) for n, v in a if n not in (1, 2, 3, 4))
    body = head + b"".join(added) + tail
    return b"\x1a" + varint(len(body)) + body


def _field_bytes(number: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return varint((number << 3) | 2) + varint(len(value)) + value
    return varint(number << 3) + varint(value)
