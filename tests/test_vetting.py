"""Site vetting rules and report, on both engines, with areas worked out by hand.

Layers are built in EPSG:4548 (metres) so that every expected overlap is simple
arithmetic on rectangles, independent of the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from blueprint.analysis.capacity import parse_emissions
from blueprint.analysis.report_geojson import report_geojson
from blueprint.analysis.rules import load_rules
from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, to_json, vet_site
from blueprint.layers.errors import BadInput
from blueprint.layers.importer import ImportOptions, import_layer
from tests.helpers import X0, Y0, box, frame, write

# Site A: 200 m × 100 m at (0,0)-(200,100) → 20,000 m².
SITE_A = box(0, 0, 200, 100)


@pytest.fixture
def city(store, tmp_path):
    """A tiny blueprint: every kind, laid out as rectangles in metres."""
    layers = {
        # red line covers x in [150, 400): 50 m × 100 m of site A = 5,000 m²
        "ecological_redline": frame([box(150, -50, 250, 300)], hxbh=["HX-1"]),
        # two farmland blocks, one touching site A at x in [0, 20), y in [0, 50) → 1,000 m²
        "basic_farmland": frame([box(-100, -100, 120, 150), box(-100, 500, 50, 50)],
                                tbbh=["NT-1", "NT-2"]),
        # urban boundary covers x in [0, 1000) fully
        "urban_boundary": frame([box(0, -500, 1000, 1500)], name=["城区"]),
        # zoning: industrial x in [0,100), residential x in [100, 1000)
        "zoning": frame([box(0, -500, 100, 1500), box(100, -500, 900, 1500)],
                        landuse=["1001", "07"]),
        # water source: level 1 far away, level 2 at x in [600, 700)
        "water_source": frame([box(800, 800, 50, 50), box(600, -500, 100, 1500)],
                              level=[1, 2], bh=["W1", "W2"]),
        "industrial_park": frame([box(2000, 2000, 100, 100)], name=["园区"]),
    }
    for kind, gdf in layers.items():
        path = write(gdf, tmp_path / f"{kind}.gpkg")
        import_layer(path, ImportOptions(kind=kind, name=kind, id_field=_id(gdf)), store=store)
    return store


def _id(gdf) -> str | None:
    return next((c for c in ("hxbh", "tbbh", "bh") if c in gdf.columns), None)


def _site_file(tmp_path: Path, geom, name: str = "site") -> Path:
    return write(frame([geom], name=["测试地块"]), tmp_path / f"{name}.gpkg")


def _vet_report(store, tmp_path, geom, **kw):
    """The typed report (analysis.report_schema.VetReport)."""
    site = read_site(_site_file(tmp_path, geom))
    return vet_site(VetRequest(site=site, **kw), store=store)


def _vet(store, tmp_path, geom, **kw):
    """The report's JSON form."""
    return _vet_report(store, tmp_path, geom, **kw).to_json()


def _finding(report, kind):
    return next(f for f in report["findings"] if f["kind"] == kind)


def test_conflicts_and_areas(city, tmp_path):
    report = _vet(city, tmp_path, SITE_A)
    assert report["site"]["area_m2"] == pytest.approx(20_000, abs=0.5)
    assert report["site"]["area_mu"] == pytest.approx(30.0, abs=0.01)
    assert report["site"]["area_crs"] == "EPSG:4548"
    red = _finding(report, "ecological_redline")
    assert red["status"] == "conflict" and red["feature_ids"] == ["HX-1"]
    assert red["overlap_m2"] == pytest.approx(5_000, abs=0.5)
    assert red["overlap_share"] == pytest.approx(0.25, abs=1e-4)
    assert "生态保护红线" in red["message"] and "不得占用" in red["message"]
    farm = _finding(report, "basic_farmland")
    assert farm["status"] == "conflict" and farm["feature_ids"] == ["NT-1"]
    assert farm["overlap_m2"] == pytest.approx(1_000, abs=0.5)
    assert report["verdict"] == "fail"
    assert {f["kind"] for f in report["findings"]} == {
        "ecological_redline", "basic_farmland", "urban_boundary", "zoning", "water_source",
        "industrial_park"}


def test_one_finding_per_layer_even_without_overlap(city, tmp_path):
    report = _vet(city, tmp_path, box(300, 1200, 50, 50))  # outside everything
    water = _finding(report, "water_source")
    assert water["status"] == "ok" and water["overlap_m2"] == 0 and water["feature_ids"] == []
    assert _finding(report, "ecological_redline")["status"] == "ok"


def test_clean_industrial_site_in_zoning_passes_with_park_warning(city, tmp_path):
    report = _vet(city, tmp_path, box(30, 200, 50, 50))  # on 1001, inside urban
    assert _finding(report, "zoning")["status"] == "ok"
    park = _finding(report, "industrial_park")
    assert park["status"] == "warning" and "园区外" in park["message"]
    assert report["verdict"] == "pass"  # warnings never change the verdict


def test_urban_boundary_partly_and_outside(city, tmp_path):
    partly = _vet(city, tmp_path, box(900, 300, 200, 50), industry="commercial")
    urban = _finding(partly, "urban_boundary")
    assert urban["status"] == "conditional"
    assert urban["overlap_share"] == pytest.approx(0.5, abs=1e-4)
    outside = _vet(city, tmp_path, box(1500, 1200, 100, 100), industry="commercial")
    assert _finding(outside, "urban_boundary")["status"] == "conflict"
    assert outside["verdict"] == "fail"


def test_zoning_unsuitable_is_conditional_and_depends_on_industry(city, tmp_path):
    site = box(450, 300, 50, 50)  # residential (07), inside the urban boundary
    industrial = _vet(city, tmp_path, site, industry="industrial")
    zoning = _finding(industrial, "zoning")
    assert zoning["status"] == "conditional" and "居住用地" in zoning["message"]
    assert zoning["by_class_m2"] == {"07": pytest.approx(2_500, abs=0.5)}
    assert industrial["verdict"] == "conditional"
    residential = _vet(city, tmp_path, site, industry="residential")
    assert _finding(residential, "zoning")["status"] == "ok"
    assert residential["verdict"] == "pass"


def test_water_source_levels(city, tmp_path):
    level2 = _vet(city, tmp_path, box(650, 0, 100, 100))  # half in level 2
    water = _finding(level2, "water_source")
    assert water["status"] == "conditional" and water["rule"] == "water_source.level_2"
    assert water["by_level_m2"]["2"] == pytest.approx(5_000, abs=0.5)
    level1 = _vet(city, tmp_path, box(790, 790, 20, 20))
    water1 = _finding(level1, "water_source")
    assert water1["status"] == "conflict" and water1["feature_ids"] == ["W1"]
    assert water1["by_level_m2"]["1"] == pytest.approx(100, abs=0.05)


def test_linear_infrastructure_crossing_farmland_is_conditional(city, tmp_path):
    road = box(-90, 10, 30, 20)  # on farmland only, outside urban boundary
    report = _vet(city, tmp_path, road, industry="infrastructure_linear")
    assert _finding(report, "basic_farmland")["status"] == "conditional"
    assert _finding(report, "urban_boundary")["status"] == "ok"
    assert report["verdict"] == "conditional"
    assert _vet(city, tmp_path, road, industry="industrial")["verdict"] == "fail"


def test_sliver_below_one_square_metre_is_not_a_conflict(city, tmp_path):
    # touches the red line (x from 150) by 0.5 m × 1 m = 0.5 m²
    report = _vet(city, tmp_path, box(140, 0, 10.5, 1))
    assert _finding(report, "ecological_redline")["status"] == "ok"


def test_multi_parcel_site_is_vetted_as_one(city, tmp_path):
    path = write(frame([box(30, 200, 20, 20), box(160, 200, 20, 20)], name=["一号", "二号"]),
                 tmp_path / "two.gpkg")
    report = vet_site(VetRequest(site=read_site(path)), store=city).to_json()
    assert report["site"]["parcels"] == 2
    assert report["site"]["area_m2"] == pytest.approx(800, abs=0.1)
    assert _finding(report, "ecological_redline")["overlap_m2"] == pytest.approx(400, abs=0.1)


def test_unknown_industry_is_bad_input(city, tmp_path):
    with pytest.raises(BadInput, match="unknown industry"):
        _vet(city, tmp_path, SITE_A, industry="casino")


def test_rules_are_data_and_can_be_overridden(city, tmp_path):
    text = Path("analysis/rules.toml").read_text(encoding="utf-8")
    text = text.replace('[industries.industrial]\ntitle = "工业项目"\necological_redline = '
                        '"conflict"', '[industries.industrial]\ntitle = "工业项目"\n'
                        'ecological_redline = "warning"')
    (tmp_path / "rules.toml").write_text(text, encoding="utf-8")
    rules = load_rules(tmp_path / "rules.toml")
    site = read_site(_site_file(tmp_path, box(160, 200, 20, 20)))
    report = vet_site(VetRequest(site=site), store=city, rules=rules).to_json()
    assert _finding(report, "ecological_redline")["status"] == "warning"
    # the red line no longer fails it; only the residential zoning (07) makes it conditional
    assert report["verdict"] == "conditional"
    assert [f["kind"] for f in report["findings"] if f["status"] == "conditional"] == ["zoning"]
    (tmp_path / "bad.toml").write_text('[defaults]\nzoning_unsuitable = "maybe"\n')
    with pytest.raises(BadInput):
        load_rules(tmp_path / "bad.toml")


def test_geojson_output_has_site_and_overlap_pieces(city, tmp_path):
    fc = report_geojson(_vet_report(city, tmp_path, SITE_A))
    roles = [f["properties"]["role"] for f in fc["features"]]
    assert roles[0] == "site"
    pieces = {f["properties"]["layer"]: f for f in fc["features"][1:]}
    assert pieces["ecological_redline"]["properties"]["status"] == "conflict"
    assert pieces["ecological_redline"]["properties"]["area_m2"] == pytest.approx(5000, abs=0.5)
    json.dumps(fc)  # serialisable


def _capacity_raster(path: Path) -> Path:
    """100 m cells from (X0-100, Y0+300) down; band SO2 = 4 left of X0+100, 8 right of it."""
    so2 = np.full((6, 6), 4.0, "float32")
    so2[:, 2:] = 8.0
    nox = np.full((6, 6), 1.5, "float32")
    with rasterio.open(path, "w", driver="GTiff", width=6, height=6, count=2, dtype="float32",
                       crs="EPSG:4548", nodata=-9999,
                       transform=from_origin(X0 - 100, Y0 + 300, 100, 100)) as dst:
        dst.write(np.stack([so2, nox]))
        dst.set_band_description(1, "SO2")
        dst.set_band_description(2, "NOx")
    return path


def test_capacity_is_coverage_weighted(city, tmp_path):
    import_layer(_capacity_raster(tmp_path / "cap.tif"),
                 ImportOptions(kind="env_capacity", name="cap"), store=city)
    # site x in [50, 250): 50 m on value 4 (x < 100), 150 m on value 8 → mean 7
    site = box(50, 0, 200, 100)
    report = _vet(city, tmp_path, site, emissions=parse_emissions("SO2=3.5,NOx=2"))
    bands = {b["band"]: b for b in report["capacity"]["layers"][0]["bands"]}
    assert bands["SO2"]["mean"] == pytest.approx(7.0, abs=0.05)
    assert bands["SO2"]["min"] == pytest.approx(4.0)
    assert bands["SO2"]["fits"] is True
    assert bands["NOx"]["fits"] is False  # 2 t/yr > 1.5
    assert report["capacity"]["fits"] is False
    cap = _finding(report, "env_capacity")
    assert cap["status"] == "conditional" and "氮氧化物" in cap["message"]


def test_emissions_parsing():
    assert parse_emissions("SO2=12.5, nox=30,NH3N=1") == {"SO2": 12.5, "NOx": 30.0, "NH3-N": 1.0}
    for bad in ("SO2", "SO2=abc", "XYZ=1", "SO2=-1"):
        with pytest.raises(BadInput):
            parse_emissions(bad)


def test_report_is_plain_json(city, tmp_path):
    report = to_json(_vet_report(city, tmp_path, SITE_A))
    text = json.dumps(report, ensure_ascii=False)
    assert set(report) >= {"verdict", "site", "findings", "capacity", "warnings"}
    assert "初审结论：不通过" in report["summary_zh"]
    assert "_overlaps" not in text
    for f in report["findings"]:
        assert set(f) >= {"layer", "kind", "rule", "status", "overlap_m2", "overlap_share",
                          "feature_ids", "message"}


@pytest.mark.parametrize("text, level", [
    ("1", "1"), ("一级", "1"), ("一级保护区", "1"), ("Ⅰ", "1"), (None, "1"), ("?", "1"),
    ("2", "2"), ("二级", "2"), ("2级", "2"), ("Ⅱ", "2"), ("II级", "2"), ("二级保护区", "2"),
    ("准保护区", "2"),
])
def test_water_source_level_spellings(text, level):
    from blueprint.analysis.vetting import _water_level

    assert _water_level(text) == level


def test_empty_store_never_passes(store, tmp_path):
    report = _vet(store, tmp_path, SITE_A)
    assert report["verdict"] == "conditional"
    missing = {f["kind"] for f in report["findings"] if f["rule"] == "layer.missing"}
    assert missing == {"ecological_redline", "basic_farmland", "water_source", "urban_boundary"}
    assert any("没有行政区划图层" in w for w in report["warnings"])


def test_site_outside_the_city_is_conditional(city, tmp_path):
    import_layer(write(frame([box(-1000, -1000, 3000, 3000)], name=["东昌府区"], id=["371502"]),
                       tmp_path / "admin.gpkg"),
                 ImportOptions(kind="admin_boundary", name="admin"), store=city)
    inside = _vet(city, tmp_path, box(30, 200, 50, 50))
    assert _finding(inside, "admin_boundary")["status"] == "ok"
    assert inside["county"] == "371502"
    # 100 m × 100 m, half of it east of the city's edge at x = 2000
    straddling = _vet(city, tmp_path, box(1950, 200, 100, 100), industry="agriculture")
    admin = _finding(straddling, "admin_boundary")
    assert admin["status"] == "conditional" and "行政区划范围外" in admin["message"]
    assert admin["overlap_m2"] == pytest.approx(5_000, abs=0.5)
    assert straddling["verdict"] == "conditional"


def test_emissions_where_the_capacity_raster_has_no_data_are_conditional(city, tmp_path):
    import_layer(_capacity_raster(tmp_path / "cap.tif"),
                 ImportOptions(kind="env_capacity", name="cap"), store=city)
    # the raster covers x in [-100, 500) and y in [-300, 300); this site straddles its east edge
    site = box(450, 0, 100, 100)
    report = _vet(city, tmp_path, site, industry="residential",
                  emissions=parse_emissions("SO2=0.1"))
    so2 = next(b for b in report["capacity"]["layers"][0]["bands"] if b["band"] == "SO2")
    assert so2["covered_share"] == pytest.approx(0.5, abs=0.01) and so2["fits"] is None
    gap = next(f for f in report["findings"] if f["rule"] == "env_capacity.data")
    assert gap["status"] == "conditional" and "二氧化硫" in gap["message"]
    inside = _vet(city, tmp_path, box(300, 0, 100, 100), industry="residential",
                  emissions=parse_emissions("SO2=0.1"))
    assert not [f for f in inside["findings"] if f["kind"] == "env_capacity"]


def test_world_file_raster_is_stored_self_contained(store, tmp_path):
    from blueprint.layers.repository import get_layer

    src = _capacity_raster(tmp_path / "placed.tif")
    with rasterio.open(src) as placed:
        a, b, c, d, e, f = placed.transform[:6]
        data, descriptions = placed.read(), placed.descriptions
    bare = tmp_path / "bare.tif"
    with rasterio.open(bare, "w", driver="GTiff", width=6, height=6, count=2,
                       dtype="float32") as dst:  # no geotransform, no CRS: a .tfw places it
        dst.write(data)
        for i, text in enumerate(descriptions, start=1):
            dst.set_band_description(i, text)
    bare.with_suffix(".tfw").write_text("\n".join(str(v) for v in (a, d, b, e, c + a / 2,
                                                                   f + e / 2)) + "\n")
    import_layer(bare, ImportOptions(kind="env_capacity", name="cap", crs="EPSG:4548"),
                 store=store)
    stored = Path(get_layer("cap", store=store).raster_path)
    assert not stored.with_suffix(".tfw").exists()
    with rasterio.open(stored) as copy, rasterio.open(src) as original:
        assert copy.transform == original.transform and copy.crs == original.crs
    report = _vet(store, tmp_path, box(50, 0, 200, 100), emissions=parse_emissions("SO2=3"))
    assert report["capacity"]["layers"][0]["bands"][0]["mean"] == pytest.approx(7.0, abs=0.05)


def test_raster_crs_option_must_agree_with_the_file(store, tmp_path):
    from blueprint.layers.errors import UnknownCRS

    with pytest.raises(UnknownCRS, match="declares"):
        import_layer(_capacity_raster(tmp_path / "cap.tif"),
                     ImportOptions(kind="env_capacity", name="cap", crs="EPSG:4547"), store=store)


@pytest.mark.parametrize("lon, zone_epsg", [(115.40, 4547), (115.49, 4547), (115.51, 4548),
                                             (116.40, 4548)])
def test_areas_are_in_the_zone_of_the_site_centroid(store, lon, zone_epsg):
    """Liaocheng straddles 3° zones 38 (CM 114°E) and 39 (CM 117°E) at 115.5°E."""
    from pyproj import Geod

    from blueprint.analysis.site import site_from_geojson

    ring = [[lon - 0.004, 36.4], [lon + 0.004, 36.4], [lon + 0.004, 36.405],
            [lon - 0.004, 36.405], [lon - 0.004, 36.4]]
    site = site_from_geojson({"type": "Polygon", "coordinates": [ring]})
    report = vet_site(VetRequest(site=site), store=store).to_json()
    assert report["site"]["area_crs"] == f"EPSG:{zone_epsg}"
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    ellipsoidal = abs(Geod(ellps="GRS80").polygon_area_perimeter(lons, lats)[0])
    # GK scale error within 1.5° of the central meridian stays below ~0.05 %
    assert report["site"]["area_m2"] == pytest.approx(ellipsoidal, rel=5e-4)


def test_a_site_across_the_zone_boundary_uses_its_centroid_zone(store):
    from blueprint.analysis.site import site_from_geojson

    west_heavy = {"type": "Polygon", "coordinates": [[[115.40, 36.4], [115.52, 36.4],
                                                      [115.52, 36.41], [115.40, 36.41],
                                                      [115.40, 36.4]]]}
    report = vet_site(VetRequest(site=site_from_geojson(west_heavy)), store=store).to_json()
    assert report["site"]["area_crs"] == "EPSG:4547"  # centroid 115.46°E, west edge 115.40


def test_findings_carry_the_servers_chinese_labels(city, tmp_path):
    """status_zh / rule_zh come from analysis.messages, for every finding and water level."""
    from blueprint.analysis import messages as msg

    report = _vet(city, tmp_path, box(650, 0, 100, 100))
    parts = [p for f in report["findings"] for p in [f, *f.get("by_level", [])]]
    assert any("by_level" in f and f["by_level"] for f in report["findings"])
    for part in parts:
        assert part["status_zh"] == msg.STATUS_ZH[part["status"]]
        assert part["rule_zh"] == msg.RULE_ZH.get(part["rule"], msg.OTHER_RULE_ZH)
    water = _finding(report, "water_source")
    assert water["rule_zh"] == "饮用水水源二级保护区管控"
    assert water["status_zh"] == "有条件通过"


def test_report_matches_its_documented_model(city, tmp_path):
    """The JSON report validates against analysis.report_schema.VetReport (the OpenAPI schema)."""
    from blueprint.analysis.report_schema import VetReport

    report = _vet(city, tmp_path, box(650, 0, 100, 100))
    model = VetReport.model_validate(report)
    assert model.model_dump(exclude_unset=True) == report


def test_the_next_check_sees_every_catalogue_change(city, tmp_path):
    """The catalogue is kept between checks (issue 14) but never outlives a change: an
    import, a re-import and a removal are each seen by the very next check."""
    from blueprint.layers.repository import remove_layer

    def redline(report):
        return _finding(report, "ecological_redline")

    before = _vet(city, tmp_path, SITE_A)
    assert redline(before)["overlap_m2"] == pytest.approx(5_000, abs=0.5)
    assert not [f for f in before["findings"] if f["kind"] == "admin_boundary"]
    import_layer(write(frame([box(-1000, -1000, 3000, 3000)], name=["东昌府区"], id=["371502"]),
                       tmp_path / "admin.gpkg"),
                 ImportOptions(kind="admin_boundary", name="admin"), store=city)
    assert _vet(city, tmp_path, SITE_A)["county"] == "371502"
    # the red line again, now covering x in [100, 400): 10,000 m² of site A
    import_layer(write(frame([box(100, -50, 300, 350)], hxbh=["HX-2"]),
                       tmp_path / "redline2.gpkg"),
                 ImportOptions(kind="ecological_redline", name="ecological_redline",
                               id_field="hxbh"), store=city)
    again = _vet(city, tmp_path, SITE_A)
    assert redline(again)["overlap_m2"] == pytest.approx(10_000, abs=0.5)
    assert redline(again)["feature_ids"] == ["HX-2"]
    remove_layer("admin", store=city, actor="test")
    after = _vet(city, tmp_path, SITE_A)
    assert after["county"] is None
    assert "admin" not in {x["name"] for x in after["layers"]}


def test_a_write_after_the_files_settled_is_seen(city, tmp_path):
    """On the embedded engine the catalogue's marker is not queried while the database
    files are as they were (size, modification time) and had been still for a while
    (layers.catalogue_cache); a write then still reaches the very next check. The files'
    times are set back here to stand for "still for a while"."""
    import os
    import time

    from blueprint.layers.repository import remove_layer

    def settle() -> None:  # as if the last write were a minute old
        past = time.time() - 60
        for path in city.data_dir.glob("blueprint.db*"):
            os.utime(path, (past, past))

    settle()
    assert _vet(city, tmp_path, SITE_A)["county"] is None
    settle()
    assert _vet(city, tmp_path, SITE_A)["county"] is None  # the stamp now stands
    import_layer(write(frame([box(-1000, -1000, 3000, 3000)], name=["东昌府区"], id=["371502"]),
                       tmp_path / "admin.gpkg"),
                 ImportOptions(kind="admin_boundary", name="admin"), store=city)
    assert _vet(city, tmp_path, SITE_A)["county"] == "371502"
    settle()
    assert _vet(city, tmp_path, SITE_A)["county"] == "371502"
    remove_layer("admin", store=city, actor="test")
    assert _vet(city, tmp_path, SITE_A)["county"] is None
