"""Streamed imports (files of more than ``STREAM_BATCH`` features), on both engines.

A tiny batch size makes a ten-feature file a multi-batch one: the streamed import must
store exactly what the whole read stores (rows, checksum, bbox, repair count), and a
failure in a later batch must leave nothing behind.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from blueprint.layers import importer
from blueprint.layers.errors import BadInput
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.prepare import _jsonable, json_column
from blueprint.layers.repository import get_layer, list_layers
from blueprint.layers.schema import audit_log, layer_features, layers
from tests.helpers import box, frame, write


def _parcels(tmp_path, *, ids=None, suffix=".gpkg"):
    geoms = [box(i * 120, 0, 100, 100) for i in range(10)]
    geoms[7] = shapely.Polygon([(410_000 + 840, 4_034_000), (410_000 + 940, 4_034_100),
                                (410_000 + 940, 4_034_000), (410_000 + 840, 4_034_100)])
    gdf = frame(geoms,
                tbbh=ids or [f"TB-{i:02d}" for i in range(10)],
                dlbm=["011", "012", None, "013", "011", "021", "031", "011", "012", "013"],
                n=pd.array([1, 2, 3, 4, None, 6, 7, 8, 9, 10], dtype="Int64"),
                flag=pd.array([True, False, True, None, True, True, False, True, True, False],
                              dtype="boolean"),
                area=[1.5, float("nan"), 3.0, 4.25, 5.0, 6.0, 7.0, 8.0, 9.0, 1e20],
                name=['东昌"湖"', "a\tb", "湿地", "", "x\\y", "é", "田", "田", "田", "末"])
    if suffix == ".shp":  # GBK attributes, no .cpg: the encoding is guessed from the bytes
        gdf["flag"] = gdf["flag"].astype("float64")
        path = write(gdf, tmp_path / "parcels.shp", encoding="GBK")
        path.with_suffix(".cpg").unlink(missing_ok=True)
        return path
    return write(gdf, tmp_path / f"parcels{suffix}")


def _stored(store, name):
    layer = get_layer(name, store=store)
    with store.read() as conn:
        row = conn.execute(sa.select(layers.c.feature_count, layers.c.checksum,
                                     layers.c.repaired_count, layers.c.minx, layers.c.miny,
                                     layers.c.maxx, layers.c.maxy)
                           .where(layers.c.id == layer.id)).one()
        feats = conn.execute(sa.select(layer_features.c.fid, layer_features.c.klass,
                                       layer_features.c.props, layer_features.c.geom)
                             .where(layer_features.c.layer_id == layer.id)
                             .order_by(layer_features.c.fid)).all()
    return tuple(row), [(f.fid, f.klass, f.props, shapely.from_wkb(f.geom).wkb) for f in feats]


def _spy_stream(monkeypatch, batch):
    monkeypatch.setattr(importer, "STREAM_BATCH", batch)
    calls: list[str] = []
    real = importer._write_streamed

    def spy(*args, **kwargs):
        calls.append("streaming")
        report = real(*args, **kwargs)
        calls.append("done")
        return report

    monkeypatch.setattr(importer, "_write_streamed", spy)
    return calls


@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_streamed_import_stores_what_the_whole_read_stores(store, tmp_path, monkeypatch,
                                                           suffix):
    path = _parcels(tmp_path, suffix=suffix)
    monkeypatch.setattr(importer, "STREAM_BATCH", 10**9)
    whole = import_layer(path, ImportOptions(kind="industrial_park", name="whole"), store=store)
    calls = _spy_stream(monkeypatch, 3)
    streamed = import_layer(path, ImportOptions(kind="industrial_park", name="streamed"),
                            store=store)
    assert calls == ["streaming", "done"]  # four batches of at most three features
    assert _stored(store, "streamed") == _stored(store, "whole")
    assert streamed.repaired == whole.repaired == 1
    assert streamed.to_dict() | {"name": "whole"} == whole.to_dict()
    props = [json.loads(p) for _, _, p, _ in _stored(store, "streamed")[1]]
    assert [p["n"] for p in props][:5] == [1.0, 2.0, 3.0, 4.0, None]  # float in every batch
    assert props[0]["name"] == '东昌"湖"' and streamed.encoding == whole.encoding
    assert _stored(store, "streamed")[0][1] is not None  # the checksum is written


@pytest.mark.parametrize("id_field", [None, "tbbh"])
def test_duplicate_id_in_a_later_batch_leaves_the_old_layer(store, tmp_path, monkeypatch,
                                                             id_field):
    first = _parcels(tmp_path)
    import_layer(first, ImportOptions(kind="industrial_park", name="park"), store=store)
    before = _stored(store, "park")
    ids = [f"TB-{i:02d}" for i in range(10)]
    ids[8] = ids[1]  # batch 3 repeats an id of batch 1
    (tmp_path / "dup").mkdir()
    bad = _parcels(tmp_path / "dup", ids=ids)
    monkeypatch.setattr(importer, "STREAM_BATCH", 10**9)
    whole_error = None
    if id_field:
        with pytest.raises(BadInput) as caught:
            import_layer(bad, ImportOptions(kind="industrial_park", name="park",
                                            id_field=id_field), store=store)
        whole_error = str(caught.value)
    calls = _spy_stream(monkeypatch, 3)
    if id_field:
        with pytest.raises(BadInput) as caught:
            import_layer(bad, ImportOptions(kind="industrial_park", name="park",
                                            id_field=id_field), store=store)
        assert str(caught.value) == whole_error  # the whole read's words
        assert _stored(store, "park") == before
    else:  # not unique: the whole read numbers the rows, and so does the fallback
        import_layer(bad, ImportOptions(kind="industrial_park", name="park"), store=store)
        assert [f[0] for f in _stored(store, "park")[1]] == sorted(str(i) for i in
                                                                   range(1, 11))
    assert calls == ["streaming"]  # the store refused the id: read whole
    with store.read() as conn:
        counts = conn.execute(sa.select(layer_features.c.layer_id, sa.func.count())
                              .group_by(layer_features.c.layer_id)).all()
    live = {layer.id for layer in list_layers(store=store)}
    assert {layer_id for layer_id, _ in counts} <= live | _old_versions(store)


def _old_versions(store):
    with store.read() as conn:
        return set(conn.execute(sa.select(layers.c.id).where(layers.c.current.is_(False)))
                   .scalars())


def test_a_failure_in_a_later_batch_leaves_nothing(store, tmp_path, monkeypatch):
    first = _parcels(tmp_path)
    import_layer(first, ImportOptions(kind="industrial_park", name="park"), store=store)
    before = _stored(store, "park")
    with store.read() as conn:
        rows_before = conn.execute(sa.select(sa.func.count()).select_from(layer_features)
                                   ).scalar_one()
        audits_before = conn.execute(sa.select(sa.func.count()).select_from(audit_log)
                                     ).scalar_one()
    calls = _spy_stream(monkeypatch, 3)
    backend = type(store.backend)
    real_sink = backend.feature_sink
    written: list[int] = []

    def failing_sink(self, conn):
        sink = real_sink(self, conn)
        real_write = sink.write

        def write(rows, *, batch):
            written.append(len(rows))
            if len(written) == 3:
                raise RuntimeError("the disk is full")
            yield from real_write(rows, batch=batch)

        sink.write = write
        return sink

    monkeypatch.setattr(backend, "feature_sink", failing_sink)
    with pytest.raises(RuntimeError, match="disk is full"):
        import_layer(first, ImportOptions(kind="industrial_park", name="park"), store=store)
    assert calls == ["streaming"] and written == [3, 3, 3]
    assert _stored(store, "park") == before
    assert [layer.name for layer in list_layers(store=store)] == ["park"]
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(layer_features)
                            ).scalar_one() == rows_before
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)
                            ).scalar_one() == audits_before


def test_missing_geometry_in_a_later_batch_is_reported_as_the_whole_read_does(
        store, tmp_path, monkeypatch):
    geoms = [box(i * 120, 0, 100, 100) for i in range(10)]
    geoms[8] = None
    path = write(frame(geoms, tbbh=[f"T{i}" for i in range(10)]), tmp_path / "gap.gpkg")
    monkeypatch.setattr(importer, "STREAM_BATCH", 10**9)
    with pytest.raises(BadInput) as whole:
        import_layer(path, ImportOptions(kind="industrial_park", name="gap"), store=store)
    monkeypatch.setattr(importer, "STREAM_BATCH", 3)
    with pytest.raises(BadInput) as streamed:
        import_layer(path, ImportOptions(kind="industrial_park", name="gap"), store=store)
    assert (type(streamed.value), str(streamed.value)) == (type(whole.value), str(whole.value))
    assert list_layers(store=store) == []


@pytest.mark.parametrize("values", [
    [1.5, float("nan"), float("inf"), -float("inf"), 1e20, -0.0, 0.1 + 0.2],
    [1, 2, -(2**40)],
    [True, False],
    ["东昌\"湖\"", "a\tb\n", "\\", "", None, "\x01"],
    [1, "1", None, 2.5, float("nan"), True, np.int64(3), np.float64(0.5)],
    pd.to_datetime(["2020-01-01 00:00:00", None, "2021-02-03 04:05:06"]),
    pd.array([1, None, 3], dtype="Int64"),
    pd.array(["东昌", None, "a\"b", ""], dtype="str"),
    pd.array(["x", pd.NA], dtype="string"),
])
def test_json_column_is_json_dumps(values):
    column = pd.Series(values)
    expected = [json.dumps(_jsonable(r["v"]), ensure_ascii=False)
                for r in column.to_frame("v").to_dict("records")]
    assert json_column(column) == expected


def test_a_geojson_file_is_read_whole(store, tmp_path, monkeypatch):
    """GDAL would parse a GeoJSON file again from the start for every batch."""
    path = write(frame([box(i * 120, 0, 100, 100) for i in range(10)]).to_crs(4490),
                 tmp_path / "parcels.geojson")
    calls = _spy_stream(monkeypatch, 3)
    assert import_layer(path, ImportOptions(kind="industrial_park", name="g"),
                        store=store).feature_count == 10
    assert calls == []


def test_the_checksum_is_json_dumps_of_id_class_and_attributes():
    rows = [{"fid": 'a"\\b\t东', "klass": None, "props": '{"k": "v\\n"}', "geom": b"\x01\x02"},
            {"fid": "2", "klass": "011", "props": "{}", "geom": b""}]
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps([row["fid"], row["klass"], row["props"]],
                                 ensure_ascii=False).encode("utf-8"))
        digest.update(row["geom"])
    assert importer.features_checksum(rows) == digest.hexdigest()


def test_lazy_attributes_read_like_a_list(store, tmp_path, monkeypatch):
    from blueprint.layers import feature_arrays
    from blueprint.layers.repository import load_features

    monkeypatch.setattr(feature_arrays, "WINDOW", 3)  # several read-aheads over ten features
    import_layer(_parcels(tmp_path), ImportOptions(kind="industrial_park", name="p"),
                 store=store)
    arrays = load_features(get_layer("p", store=store), store=store)
    stored = [p for _, _, p, _ in _stored(store, "p")[1]]
    assert list(arrays.fids) == sorted(arrays.fids) == [f for f, _, _, _ in
                                                         _stored(store, "p")[1]]
    assert len(arrays.props) == 10 and list(arrays.props) == stored
    assert [arrays.props[i] for i in range(10)] == stored  # one at a time, in id order
    assert [arrays.props[i] for i in (9, 0, 5)] == [stored[9], stored[0], stored[5]]
    assert arrays.props[-1] == stored[-1] and arrays.props[2:5] == stored[2:5]
    with pytest.raises(IndexError):
        arrays.props[10]


def test_an_embedded_import_writes_the_index_sidecar(store, tmp_path, monkeypatch):
    """The sidecar written at the end of an import (streamed or whole) is the one the first
    load would write from the rows; PostGIS has none."""
    from blueprint.layers.engine.embedded_index import load_index_features
    from blueprint.layers.engine.index_sidecar import read_sidecar, remove_sidecars

    path = _parcels(tmp_path, ids=[f"TB-{i * 7 % 10:02d}" for i in range(10)])  # not sorted
    import_layer(path, ImportOptions(kind="industrial_park", name="whole",
                                     id_field="tbbh"), store=store)
    calls = _spy_stream(monkeypatch, 3)
    import_layer(path, ImportOptions(kind="industrial_park", name="streamed",
                                     id_field="tbbh"), store=store)
    assert calls == ["streaming", "done"]
    layers_now = [get_layer(n, store=store) for n in ("whole", "streamed")]
    if store.backend.name != "embedded":
        assert all(read_sidecar(store, layer) is None for layer in layers_now)
        return
    from_import = [read_sidecar(store, layer) for layer in layers_now]
    assert all(s is not None and len(s.fids) == 10 for s in from_import)
    remove_sidecars(store)
    for layer, written in zip(layers_now, from_import, strict=True):
        assert read_sidecar(store, layer) is None
        load_index_features(layer, store=store)  # from the rows: writes the sidecar again
        rebuilt = read_sidecar(store, layer)
        assert rebuilt is not None and written is not None
        assert list(rebuilt.fids) == list(written.fids) == sorted(written.fids)
        assert written.fids[0] == "TB-00"
        assert list(rebuilt.klass) == list(written.klass)
        assert np.array_equal(rebuilt.bounds, written.bounds, equal_nan=True)


@pytest.mark.parametrize("engine_name", ["embedded"])  # the index sidecar is the embedded's
def test_a_sidecar_that_cannot_be_written_does_not_fail_the_import(store, tmp_path,
                                                                    monkeypatch):
    from blueprint.layers.engine import index_sidecar
    from blueprint.layers.engine.embedded_index import load_index_features

    path = _parcels(tmp_path)
    _spy_stream(monkeypatch, 3)
    (index_sidecar.index_dir(store)).parent.mkdir(parents=True, exist_ok=True)
    index_sidecar.index_dir(store).write_bytes(b"not a folder")  # mkdir fails
    report = import_layer(path, ImportOptions(kind="industrial_park", name="a"), store=store)
    assert report.feature_count == 10
    monkeypatch.setattr(index_sidecar, "_write_file",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    import_layer(path, ImportOptions(kind="industrial_park", name="b"), store=store)
    monkeypatch.undo()
    index_sidecar.index_dir(store).unlink()
    for name in ("a", "b"):
        layer = get_layer(name, store=store)
        assert layer.feature_count == 10
        assert index_sidecar.read_sidecar(store, layer) is None
        assert len(load_index_features(layer, store=store).fids) == 10  # from the rows
