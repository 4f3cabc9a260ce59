"""The PostGIS engine's storage: schema, COPY import in batches, subdivided pieces, atomicity.

Import atomicity runs on both engines (the ``store`` fixture); the rest inspects PostGIS
tables directly. Expected areas come from shapely in EPSG:4548 on the source geometry,
independently of both engines.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import sqlalchemy as sa

from blueprint.analysis.overlay import overlay_site
from blueprint.layers import importer
from blueprint.layers.crs import CGCS2000, gk3_epsg, to_crs
from blueprint.layers.engine.embedded_overlay import overlay_embedded
from blueprint.layers.engine.postgis import SUBDIVIDE_VERTICES, overlay_postgis
from blueprint.layers.errors import BadInput, InvalidFile
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.repository import get_layer, list_layers, load_features
from blueprint.layers.schema import audit_log
from blueprint.layers.store import upgrade
from tests.conftest import make_store, postgis_url
from tests.helpers import GK39, X0, Y0, box, frame, write

RED_LINE_VERTICES = 120_000


def _import(store, path: Path, progress=None, **options):
    options.setdefault("kind", "ecological_redline")
    options.setdefault("name", "red")
    return import_layer(path, ImportOptions(**options), store=store, progress=progress)


def _fids(store, name: str = "red") -> list[str]:
    return sorted(load_features(get_layer(name, store=store), store=store).fids)


def _pieces(store, name: str = "red") -> list[tuple[str, int]]:
    """(fid, vertex count) of every subdivided piece of a layer (PostGIS only)."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT s.fid, ST_NPoints(s.geom) FROM layer_features_sub s "
            "JOIN layers l ON l.id = s.layer_id WHERE l.name = :name ORDER BY 1, 2"),
            {"name": name}).all()
    return [(r[0], int(r[1])) for r in rows]


def _five_boxes(tmp_path: Path, name: str = "v.gpkg", **columns) -> Path:
    geoms = [box(i * 100, 0, 50, 50) for i in range(5)]
    columns.setdefault("hxbh", [f"N-{i}" for i in range(5)])
    return write(frame(geoms, **columns), tmp_path / name)


# ---- atomic replace, both engines -------------------------------------------------------

def test_import_reports_progress_per_batch(store, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "BATCH", 2)
    seen: list[tuple[int, int]] = []
    _import(store, _five_boxes(tmp_path), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert _fids(store) == [f"N-{i}" for i in range(5)]
    if store.engine_name == "postgis":
        assert [fid for fid, _ in _pieces(store)] == [f"N-{i}" for i in range(5)]


def test_import_failing_mid_stream_leaves_the_old_layer(store, tmp_path, monkeypatch):
    v1 = write(frame([box(0, 0, 200, 200), box(500, 0, 100, 100)], hxbh=["OLD-1", "OLD-2"]),
               tmp_path / "v1.gpkg")
    _import(store, v1, actor="first")
    before = get_layer("red", store=store)
    pieces_before = _pieces(store) if store.engine_name == "postgis" else []
    monkeypatch.setattr(importer, "BATCH", 2)

    def interrupted(done: int, total: int) -> None:
        if done >= 2:  # after the first batch has been written and subdivided
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _import(store, _five_boxes(tmp_path), progress=interrupted, actor="second")
    assert get_layer("red", store=store) == before
    assert _fids(store) == ["OLD-1", "OLD-2"]
    if store.engine_name == "postgis":
        assert _pieces(store) == pieces_before
    with store.engine.connect() as conn:
        actors = conn.execute(sa.select(audit_log.c.actor)).scalars().all()
    assert actors == ["first"]
    _assert_vetting_sees(store, {"OLD-1"})


def test_bad_new_versions_leave_the_old_layer(store, tmp_path):
    _import(store, _five_boxes(tmp_path, "v1.gpkg"))
    before = get_layer("red", store=store)
    too_long = _five_boxes(tmp_path, "v2.gpkg", type=["x" * 81] * 5)
    with pytest.raises(BadInput, match="longer than"):
        _import(store, too_long, class_field="type")
    broken = tmp_path / "v3.gpkg"
    broken.write_bytes(b"SQLite format 3\x00 but not really")
    with pytest.raises(InvalidFile):
        _import(store, broken)
    assert get_layer("red", store=store) == before
    assert _fids(store) == [f"N-{i}" for i in range(5)]
    _assert_vetting_sees(store, {"N-0"})


def test_successful_reimport_replaces_features_and_pieces(store, tmp_path):
    _import(store, _five_boxes(tmp_path, "v1.gpkg"))
    _import(store, write(frame([box(0, 0, 30, 30)], hxbh=["NEW"]), tmp_path / "v2.gpkg"))
    assert _fids(store) == ["NEW"]
    if store.engine_name == "postgis":
        assert [fid for fid, _ in _pieces(store)] == ["NEW"]
        with store.engine.connect() as conn:
            orphans = conn.execute(sa.text(
                "SELECT count(*) FROM layer_features_sub s "
                "WHERE NOT EXISTS (SELECT 1 FROM layers l WHERE l.id = s.layer_id)")).scalar()
        assert orphans == 0


def _assert_vetting_sees(store, fids: set[str]) -> None:
    site = to_crs(box(10, 10, 20, 20), GK39, CGCS2000)
    (overlap,) = overlay_site(site, gk3_epsg(site.centroid.x), list_layers(store=store),
                              store=store)
    assert set(overlap.feature_ids) == fids


# ---- PostGIS schema ---------------------------------------------------------------------

@pytest.mark.postgis
def test_schema_has_srid_4490_and_gist_indexes(tmp_path):
    gen = make_store("postgis", tmp_path / "data")
    store = next(gen)
    try:
        with store.engine.connect() as conn:
            srids = dict(conn.execute(sa.text(
                "SELECT f_table_name, srid FROM geometry_columns "
                "WHERE f_table_schema = current_schema()")).all())
            indexes = conn.execute(sa.text(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND indexdef ILIKE '%USING gist%'")).scalars().all()
        assert srids == {"layer_features": 4490, "layer_features_sub": 4490,
                         "projects": 4490, "project_sites": 4490, "opinions": 4490}
        # the features are found through their pieces' index (0010_import_speed)
        assert not any("layer_features USING gist (geom)" in d for d in indexes)
        assert any("layer_features_sub USING gist (geom)" in d for d in indexes)
        revision = upgrade(store)
        assert upgrade(store) == revision  # idempotent
    finally:
        next(gen, None)


@pytest.mark.postgis
def test_overlay_filter_can_use_the_gist_index_on_pieces(tmp_path):
    gen = make_store("postgis", tmp_path / "data")
    store = next(gen)
    try:
        _import(store, _five_boxes(tmp_path))
        layer = get_layer("red", store=store)
        site = to_crs(box(10, 10, 20, 20), GK39, CGCS2000)
        from blueprint.layers.engine.postgis import overlay_statement

        with store.engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            plan = conn.execute(sa.text("EXPLAIN " + overlay_statement().text), {
                "site": site.wkb, "zone": gk3_epsg(site.centroid.x), "layer_ids": [layer.id],
                "sliver": 0.01}).scalars().all()
        assert any("ix_layer_features_sub_geom" in line for line in plan), plan
    finally:
        next(gen, None)


# ---- a red line with 120,000 vertices ---------------------------------------------------

def _red_line() -> shapely.Polygon:
    """A wiggly ~3 km red-line polygon with 120k vertices around (X0, Y0) in EPSG:4548."""
    theta = np.linspace(0, 2 * math.pi, RED_LINE_VERTICES, endpoint=False)
    radius = 3000 * (1 + 0.06 * np.sin(37 * theta) + 0.02 * np.sin(401 * theta))
    return shapely.Polygon(np.column_stack([X0 + 1500 + radius * np.cos(theta),
                                            Y0 + 1500 + radius * np.sin(theta)]))


RED_SITES = {
    "crossing": box(3500, 500, 1200, 800),          # across the wiggly edge
    "inside": box(1000, 1000, 400, 300),            # well inside, one piece or several
    "covering": box(-2000, -2000, 7000, 7000),      # covers the whole red line
    "outside": box(9000, 9000, 100, 100),
}


@pytest.fixture(scope="module")
def red_line_stores(tmp_path_factory):
    path = write(gpd.GeoDataFrame({"hxbh": ["HX-BIG"]}, geometry=[_red_line()], crs=GK39),
                 tmp_path_factory.mktemp("redline") / "red.gpkg")
    gens = [make_store(name, tmp_path_factory.mktemp(name)) for name in ("embedded", "postgis")]
    stores = [next(g) for g in gens]
    for store in stores:
        _import(store, path)
    yield stores
    for g in gens:
        next(g, None)


@pytest.mark.postgis
def test_large_polygon_is_subdivided_into_small_pieces(red_line_stores):
    _, pg = red_line_stores
    pieces = _pieces(pg)
    assert len(pieces) >= RED_LINE_VERTICES // SUBDIVIDE_VERTICES
    assert max(n for _, n in pieces) <= SUBDIVIDE_VERTICES
    with pg.engine.connect() as conn:
        whole, parts, npoints = conn.execute(sa.text(
            "SELECT (SELECT ST_Area(geom) FROM layer_features), "
            "(SELECT sum(ST_Area(geom)) FROM layer_features_sub), "
            "(SELECT ST_NPoints(geom) FROM layer_features)")).one()
    assert npoints >= RED_LINE_VERTICES
    assert parts == pytest.approx(whole, rel=1e-9)  # the pieces partition the polygon


@pytest.mark.postgis
@pytest.mark.parametrize("name", sorted(RED_SITES))
def test_vetting_against_the_large_polygon_matches_embedded(red_line_stores, name):
    emb, pg = red_line_stores
    site_gk = RED_SITES[name]
    site = to_crs(site_gk, GK39, CGCS2000)
    zone = gk3_epsg(site.centroid.x)
    assert zone == GK39
    (oe,) = overlay_embedded(site, zone, list_layers(store=emb), store=emb)
    (op,) = overlay_postgis(site, zone, list_layers(store=pg), store=pg)
    expected = shapely.intersection(_red_line(), site_gk).area  # straight edges in metres
    assert oe.area_m2 == pytest.approx(expected, rel=1e-3, abs=1.0)
    assert op.area_m2 == pytest.approx(oe.area_m2, rel=1e-6, abs=0.01)
    assert op.feature_ids == oe.feature_ids == (["HX-BIG"] if expected > 0 else [])


@pytest.mark.postgis
def test_overlay_is_one_statement_for_all_layers(tmp_path):
    gen = make_store("postgis", tmp_path / "data")
    store = next(gen)
    try:
        _import(store, _five_boxes(tmp_path, "a.gpkg"), name="red")
        _import(store, _five_boxes(tmp_path, "b.gpkg"), name="farm", kind="basic_farmland")
        layers = list_layers(store=store)
        statements: list[str] = []
        sa.event.listen(store.engine, "before_cursor_execute",
                        lambda *args: statements.append(args[2]))
        site = to_crs(box(10, 10, 200, 20), GK39, CGCS2000)
        for _ in range(4):  # prepared once per connection, then one EXECUTE per call
            statements.clear()
            red, farm = overlay_postgis(site, gk3_epsg(site.centroid.x), layers, store=store)
            assert [s.split()[0] for s in statements if not s.startswith("PREPARE")] == [
                "EXECUTE"]
            prepared = len(statements) - 1
        assert prepared == 0  # the last call found its statement prepared
        assert red.feature_ids == farm.feature_ids == ["N-0", "N-1", "N-2"]
    finally:
        next(gen, None)


@pytest.mark.postgis
def test_removing_a_layer_keeps_its_pieces_for_past_reports(tmp_path):
    """Removal supersedes the current version: vetting stops seeing it, while its pieces
    stay for ``vet --as-of`` (and the catalogue's triggers forbid deleting them)."""
    from blueprint.layers.repository import layers_as_of, list_layers, remove_layer

    gen = make_store("postgis", tmp_path / "data")
    store = next(gen)
    try:
        _import(store, _five_boxes(tmp_path))
        at = datetime.now(UTC)
        before = layers_as_of(at, store=store)
        remove_layer("red", store=store, actor="test")
        assert list_layers(store=store) == []
        assert [v.id for v in layers_as_of(at, store=store)] == [before[0].id]
        assert _pieces(store, "red@v1") == _pieces_of(store, before[0].id)
        assert len(_pieces(store, "red@v1")) == 5
    finally:
        next(gen, None)


def _pieces_of(store, layer_id: int) -> list[tuple[str, int]]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT fid, ST_NPoints(geom) FROM layer_features_sub "
                                    "WHERE layer_id = :id ORDER BY 1, 2"), {"id": layer_id})
        return [(r[0], int(r[1])) for r in rows]


@pytest.mark.postgis
def test_a_schema_gets_its_own_blueprint_even_when_public_has_one(tmp_path):
    """Migrations keep their version table in the target schema, not in ``public``."""
    import uuid
    from urllib.parse import quote

    from blueprint.layers.store import open_store

    url = postgis_url()
    assert url is not None
    name = f"bp_iso_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = url.rsplit("/", 1)[0] + f"/{name}"
    try:
        open_store(base, tmp_path / "a").close()  # a blueprint in public
        engine = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg2://", 1))
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE SCHEMA city_b"))
        engine.dispose()
        second = open_store(f"{base}?options={quote('-csearch_path=city_b,public')}",
                            tmp_path / "b")
        with second.engine.connect() as conn:
            tables = set(conn.execute(sa.text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'city_b'")).scalars())
        second.close()
        assert {"layers", "layer_features", "audit_log", "alembic_version"} <= tables
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
