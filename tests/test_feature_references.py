"""Features refer to their layer row on both engines, and a streamed PostGIS import files
its pieces as ``ST_Subdivide`` would (issue 14, migration ``0010_import_speed``).

On PostgreSQL the reference is checked by triggers once per statement, at commit, instead
of a row-by-row foreign key: a feature or piece of a layer that does not exist is refused
all the same, and a streamed import may write its rows before its layer row.
"""

from __future__ import annotations

import math

import pytest
import shapely
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from blueprint.layers import importer
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import get_layer
from blueprint.layers.schema import layer_features
from blueprint.layers.store import MIGRATIONS, upgrade
from tests.conftest import make_store
from tests.helpers import X0, Y0, box, frame, write

WKB = shapely.box(116.0, 36.4, 116.001, 36.401).wkb


def _insert_feature(conn: sa.Connection, layer_id: int) -> None:
    conn.execute(layer_features.insert().values(layer_id=layer_id, fid="orphan", klass=None,
                                                props="{}", geom=WKB))


def test_a_feature_of_no_layer_is_refused(store):
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
        _insert_feature(conn, 999_999)
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(layer_features)
                            .where(layer_features.c.fid == "orphan")).scalar_one() == 0


@pytest.mark.postgis
def test_a_piece_of_no_layer_is_refused(tmp_path):
    gen = make_store("postgis", tmp_path / "data")
    store = next(gen)
    try:
        with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO layer_features_sub (layer_id, fid, klass, geom) "
                "VALUES (999999, 'orphan', NULL, ST_GeomFromWKB(:wkb, 4490))"), {"wkb": WKB})
        with store.engine.begin() as conn:  # and the rows noted for the check went too
            assert conn.execute(sa.text(
                "SELECT count(*) FROM layer_feature_checks")).scalar_one() == 0
    finally:
        next(gen, None)


def _mixed_parcels(tmp_path):
    """Parcels a server must cut (a multipolygon, a polygon of 400 vertices) among ones it
    leaves whole (a rectangle, a polygon with a hole, one of exactly 256 vertices)."""
    def ring(n, r, cx=300.0):
        return [(X0 + cx + r * math.cos(2 * math.pi * i / n),
                 Y0 + 300 + r * math.sin(2 * math.pi * i / n)) for i in range(n)]

    holed = shapely.Polygon([(X0 + 1000, Y0), (X0 + 1200, Y0), (X0 + 1200, Y0 + 200),
                             (X0 + 1000, Y0 + 200)],
                            [[(X0 + 1050, Y0 + 50), (X0 + 1100, Y0 + 50), (X0 + 1100, Y0 + 100),
                              (X0 + 1050, Y0 + 100)]])
    geoms = [box(0, 0, 100, 100),
             shapely.MultiPolygon([box(150, 0, 50, 50), box(250, 0, 50, 50)]),
             shapely.Polygon(ring(399, 80)),  # 400 vertices with the closing one
             shapely.Polygon(ring(255, 80, cx=600)),  # 256: left whole
             holed]
    geoms += [box(2000 + 120 * i, 0, 100, 100) for i in range(5)]
    return write(frame(geoms, tbbh=[f"P-{i}" for i in range(len(geoms))]),
                 tmp_path / "mixed.gpkg")


@pytest.mark.postgis
@pytest.mark.parametrize("stream_batch", [3, None], ids=["streamed", "whole-read"])
def test_streamed_pieces_are_what_st_subdivide_makes(tmp_path, monkeypatch, stream_batch):
    """Both write paths (a streamed import's sink, and ``write_features`` for a file read
    whole) send the pieces ST_Subdivide would leave whole and have the server cut the rest."""
    gen = make_store("postgis", tmp_path / "data")
    store = next(gen)
    try:
        if stream_batch:
            monkeypatch.setattr(importer, "STREAM_BATCH", stream_batch)  # in four batches
        import_layer(_mixed_parcels(tmp_path),
                     ImportOptions(kind="basic_farmland", name="mixed", id_field="tbbh"),
                     store=store)
        layer = get_layer("mixed", store=store)
        with store.read() as conn:
            stored = conn.execute(sa.text(
                "SELECT fid, ST_AsEWKB(geom) FROM layer_features_sub WHERE layer_id = :id "
                "ORDER BY 1, 2"), {"id": layer.id}).all()
            cut = conn.execute(sa.text(
                "SELECT fid, ST_AsEWKB(ST_Subdivide(geom, 256)) FROM layer_features "
                "WHERE layer_id = :id ORDER BY 1, 2"), {"id": layer.id}).all()
        assert [(f, bytes(g)) for f, g in stored] == [(f, bytes(g)) for f, g in cut]
        fids = [f for f, _ in stored]
        assert fids.count("P-1") == 2 and fids.count("P-2") > 1 and fids.count("P-3") == 1
    finally:
        next(gen, None)


@pytest.mark.postgis
def test_0010_upgrades_and_downgrades_a_store_with_layers(tmp_path):
    gen = make_store("postgis", tmp_path / "data")
    store = next(gen)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def migrate(step, revision):
        with store.engine.begin() as conn:
            config.attributes["connection"] = conn
            step(config, revision)

    def shape():
        with store.engine.connect() as conn:
            fkeys = set(conn.execute(sa.text(
                "SELECT conname FROM pg_constraint WHERE contype = 'f' "
                "AND conrelid IN ('layer_features'::regclass, 'layer_features_sub'::regclass)")
            ).scalars())
            gist = conn.execute(sa.text(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexname = 'ix_layer_features_geom'")).scalar_one()
            rows = conn.execute(sa.text(
                "SELECT (SELECT count(*) FROM layer_features), "
                "(SELECT count(*) FROM layer_features_sub)")).one()
        return fkeys, gist, tuple(rows)

    try:
        path = _mixed_parcels(tmp_path)
        options = ImportOptions(kind="basic_farmland", name="mixed", id_field="tbbh")
        migrate(command.downgrade, "0009_tracking_records")
        import_layer(path, options, store=store)  # under the old schema
        before = shape()
        assert before[0] == {"layer_features_layer_id_fkey", "layer_features_sub_layer_id_fkey"}
        assert before[1] == 1

        assert upgrade(store) == "0017_project_parcels"
        after = shape()
        assert after[0] == set() and after[1] == 0 and after[2] == before[2]
        import_layer(path, ImportOptions(kind="basic_farmland", name="mixed", id_field="tbbh",
                                         title="永久基本农田（修订）"),
                     store=store)  # a new version (a new title) beside the old one
        assert shape()[2] == (2 * before[2][0], 2 * before[2][1])

        migrate(command.downgrade, "0009_tracking_records")  # both versions satisfy the key
        assert shape()[:2] == before[:2]
        assert upgrade(store) == "0017_project_parcels"
    finally:
        next(gen, None)
