# ruff: noqa: F811  (pytest fixtures imported from tests.test_browser)
"""Issue 9 on the map, in Debian's Chromium: the capacity legend, a random upload, popups in
Chinese, the scale bar, a named drawn site, the token message and the favicon."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.a11y import assert_accessible
from tests.conftest import SAMPLE
from tests.test_browser import (  # noqa: F401  (fixtures)
    PARK,
    _drag_rectangle,
    asked_for,
    browser,
    console,
    map_settled,
    page,
    server,
)

pytestmark = pytest.mark.browser


def test_capacity_switched_off_before_its_image_arrives_leaves_no_legend(page):
    held: list[Any] = []
    page.route("**/api/layers/*/image?*", lambda route: held.append(route))
    page.route("**/api/layers/*/image", lambda route: held.append(route))
    label = page.locator(".leaflet-control-layers-overlays label", has_text="环境容量")
    label.click()
    page.wait_for_function("() => true")
    asked_for(page, held, "the capacity image", seconds=5)
    label.click()  # off again, before the answer
    answered = "() => Number(window.blueprint.map.getContainer().dataset.rasterAnswers || 0)"
    before = page.evaluate(answered)
    for route in held:
        route.continue_()
    # the page has handled every held answer (drawn or dropped it): only then is the absence
    # of the legend a finding, not a look taken too early
    page.wait_for_function(f"n => ({answered})() >= n", arg=before + len(held))
    assert page.locator(".bp-legend").count() == 0 or page.locator(".bp-legend").is_hidden()
    assert page.locator("img.bp-raster").count() == 0
    # and switched on for good, the legend comes
    page.unroute("**/api/layers/*/image?*")
    page.unroute("**/api/layers/*/image")
    label.click()
    page.locator(".bp-legend").wait_for()


def test_a_random_text_upload_says_what_it_is_not(page, console, tmp_path):
    console.expect("status of 422")
    path = tmp_path / "会议纪要.txt"
    path.write_text("hello\nthis is not a site\n", encoding="utf-8")
    page.set_input_files("#bp-file", str(path))
    status = page.locator("#bp-status.bp-status-error")
    status.wait_for()
    assert "既不是界址点坐标文件" in status.inner_text()
    status.locator(".bp-en summary").click()  # the English, for support, folded
    text = status.inner_text()
    assert "neither a boundary-point coordinate file" in text
    assert "CSV:" not in text and "might help" not in text


def test_popups_show_chinese_labels_not_raw_fields_or_rule_codes(page):
    page.locator(".bp-county-label", has_text="东昌府区").first.wait_for()
    text = page.evaluate("""() => {
        const e = blueprint.layers.find(x => x.cfg.kind === 'admin_boundary');
        const l = e.geo.getLayers()[0];
        l.fire('click', {latlng: l.getBounds().getCenter()}, true);
        const text = document.querySelector('.leaflet-popup-content').innerText;
        blueprint.map.closePopup();
        return text; }""")
    assert "名称" in text
    for raw in ("cp", "childNum"):
        assert raw not in text, text
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "02_redline_conflict.txt"))
    page.locator("#bp-verdict").wait_for()
    findings = page.locator("#bp-findings").inner_text()
    assert "不得占用生态保护红线" in findings and "no_overlap" not in findings
    page.locator("tr.bp-finding[data-layer=ecological_redline]").click()
    popup = page.locator(".leaflet-popup-content").last
    popup.wait_for()
    assert "不得占用生态保护红线" in popup.inner_text()
    assert "ecological_redline" not in popup.inner_text()


def test_capacity_row_shows_no_area(page, tmp_path):
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "05_water_source_l1.txt"))
    page.locator("#bp-verdict").wait_for()
    page.locator("details.bp-more summary").click()
    page.fill("[data-pollutant=SO2]", "900")
    page.locator("tr.bp-finding[data-kind=env_capacity]").first.wait_for(timeout=15000)
    row = page.locator("tr.bp-finding[data-kind=env_capacity]").first.inner_text()
    assert "0.00 m²" not in row and "—" in row
    # each water-source level has its own row
    water = page.locator("tr.bp-finding[data-kind=water_source]").all_inner_texts()
    assert any("一级" in w for w in water) and any("二级" in w for w in water)


def test_scale_bar_is_metric_only(page):
    page.locator(".leaflet-control-scale-line").first.wait_for()
    lines = page.locator(".leaflet-control-scale-line").all_inner_texts()
    assert len(lines) == 1 and lines[0].strip().endswith(("m", "km")), lines


def test_a_drawn_site_can_be_named(page):
    page.locator(".bp-county-label").first.wait_for()
    page.evaluate("() => { blueprint.map.setView([36.4399, 116.0380], 16, {animate: false}); }")
    page.fill("#bp-site-name", "新能源项目一期")
    _drag_rectangle(page, *PARK)
    page.locator("#bp-verdict").wait_for()
    assert "新能源项目一期" in page.locator("#bp-site").inner_text()


def test_token_message_and_favicon(server, page, console):
    body = json.dumps({"site": {"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[116.0368, 36.4392], [116.0392, 36.4392],
                                            [116.0392, 36.4407], [116.0368, 36.4392]]]}},
        "demands": {"land": 1}}).encode()
    request = urllib.request.Request(server + "/api/vet", data=body,
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request)
    assert answer.value.code == 401
    error = json.loads(answer.value.read())
    assert "登录" not in error["message_zh"] and "管理员" in error["message_zh"]
    assert "Authorization: Bearer" in error["message_zh"]
    with urllib.request.urlopen(server + "/favicon.ico") as icon:
        assert icon.status == 200 and icon.headers["Content-Type"] == "image/x-icon"
        assert icon.read()[:4] == b"\x00\x00\x01\x00"
    page.goto(server + "/docs")  # no 404 for /favicon.ico in the console (page fixture)
    page.locator(".swagger-ui").first.wait_for()


def test_a_checked_site_downloads_as_a_coordinate_file_and_a_shapefile(page, tmp_path):
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "01_park_clean.txt"))
    page.locator("#bp-verdict").wait_for()
    links = page.locator("#bp-site-downloads [data-site-format]").all_inner_texts()
    assert links == ["界址点坐标文件", "GeoPackage", "GeoJSON", "Shapefile（zip）"]
    with page.expect_download() as caught:
        page.locator("[data-site-format=coordfile]").click()
    got = caught.value
    assert got.suggested_filename == "聊城经开区新能源汽车零部件项目.txt"
    data = Path(got.path()).read_bytes()
    assert "带号=39" in data.decode("gbk") and "聊城经开区".encode("gbk") in data
    with page.expect_download() as caught:
        page.locator("[data-site-format=shp]").click()
    assert caught.value.suggested_filename.endswith(".zip")
    assert Path(caught.value.path()).read_bytes()[:4] == b"PK\x03\x04"


def test_a_checked_site_of_two_touching_parcels_downloads_as_two(page, tmp_path):
    """下载地块 posts the parcels the check read, not its outline (in which two parcels
    sharing an edge are one polygon): the coordinate file holds two parcel blocks."""
    from blueprint.layers.coordfile import read_coordinate_file

    d, lon, lat = 0.004, 115.98, 36.43
    site = tmp_path / "两块相邻地块.geojson"
    site.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "相邻地块"}, "geometry": {
            "type": "Polygon", "coordinates": [[[lon + i * d, lat], [lon + (i + 1) * d, lat],
                                                [lon + (i + 1) * d, lat + d],
                                                [lon + i * d, lat + d], [lon + i * d, lat]]]}}
        for i in (0, 1)]}, ensure_ascii=False), encoding="utf-8")
    page.set_input_files("#bp-file", str(site))
    page.locator("#bp-verdict").wait_for()
    with page.expect_download() as caught:
        page.locator("[data-site-format=coordfile]").click()
    back = read_coordinate_file(Path(caught.value.path()).read_bytes())
    assert len(back.parcels) == 2
    areas = sorted(round(g.area) for g in back.parcels.geometry)
    assert areas[0] == pytest.approx(areas[1], rel=1e-3)


def test_a_checked_coordinate_files_parcels_keep_their_names_and_land_use(page):
    from blueprint.layers.coordfile import read_coordinate_file

    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "07_multi_parcel.txt"))
    page.locator("#bp-verdict").wait_for()
    with page.expect_download() as caught:
        page.locator("[data-site-format=coordfile]").click()
    back = read_coordinate_file(Path(caught.value.path()).read_bytes()).parcels
    assert list(back["parcel_name"]) == ["茌平铝材深加工项目一号地块", "茌平铝材深加工项目二号地块"]
    assert list(back["land_use"]) == ["工业用地", "工业用地"]


def test_find_a_site_draws_numbered_candidates_and_opens_their_reports(page):
    page.locator("#bp-search > summary").click()
    page.select_option("#bp-search-county", "371502")
    page.fill("#bp-search-area", "12")
    page.locator("#bp-search-run").click()
    page.locator(".bp-candidate-item").first.wait_for(timeout=60000)
    items = page.locator(".bp-candidate-item")
    assert items.count() >= 1
    assert page.locator("path.bp-allowed-pass").count() >= 1  # the allowed region, shaded
    labels = page.locator(".bp-candidate-label").all_inner_texts()
    assert labels[:2] == ["1", "2"][:len(labels[:2])]
    first = items.first.inner_text()
    assert "通过" in first and "公顷" in first
    items.first.locator("[data-act=report]").click()
    page.locator("#bp-verdict").wait_for()
    assert page.locator("#bp-verdict").inner_text() == "初审结论：通过"
    assert "找地块推荐地块 1" in page.locator("#bp-site").inner_text()
    assert page.locator("tr.bp-finding").count() >= 3
    with page.expect_download() as caught:
        items.first.locator("[data-act=download]").click()
    assert caught.value.suggested_filename.endswith(".txt")
    # 保存为项目 from a candidate: the new-project form (after sign-in) gets its site
    items.nth(1).locator("[data-act=project]").click()
    page.wait_for_url(re.compile(r"/login\?next=.*projects.*new"))
    saved = json.loads(page.evaluate("() => sessionStorage.getItem('bp-checked-site')"))
    assert saved["feature"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert saved["verdict_zh"] == "通过" and abs(saved["area_m2"] - 120_000) < 12_000


def test_county_labels_are_the_one_lists_names_else_the_layers(page, server):
    """The boundary layer's permanent labels take a county's name from ``countyNames`` (the
    ledger's one list, sent by the server: tests/test_quota_pages.py) and the layer's own
    name only for a code the list lacks. Here the list renames 茌平县 (371523) and lacks
    东昌府区 (371502)."""
    def renamed(route: Any) -> None:
        answer = route.fetch()
        body = answer.text()
        config = re.search(r'(<script id="bp-config" type="application/json">)(.*?)(</script>)',
                           body, re.S)
        assert config
        data = json.loads(config.group(2))
        names = data.get("countyNames", {})
        data["countyNames"] = {k: v for k, v in names.items() if k != "371502"} | {
            "371523": "茌平区"}
        route.fulfill(response=answer, body=body.replace(
            config.group(0), config.group(1) + json.dumps(data, ensure_ascii=False)
            .replace("<", "\\u003c") + config.group(3)))

    page.route(server + "/", renamed)
    page.goto(server + "/")
    labels = page.locator(".bp-county-label")
    labels.filter(has_text="茌平区").first.wait_for()
    texts = labels.all_inner_texts()
    assert "东昌府区" in texts and "阳谷县" in texts, texts  # lacking, and listed alike
    assert "茌平县" not in texts, texts


def test_the_map_controls_are_named_in_chinese(page):
    """Leaflet names its buttons in English ("Zoom in", "Layers", "Close popup"): a pointer's
    title and what a screen reader reads are Chinese here (web/static/draw-zh.js)."""
    page.locator(".bp-county-label").first.wait_for()
    zoom_in, zoom_out = page.locator(".leaflet-control-zoom-in"), page.locator(
        ".leaflet-control-zoom-out")
    assert zoom_in.get_attribute("title") == zoom_in.get_attribute("aria-label") == "放大"
    assert zoom_out.get_attribute("title") == zoom_out.get_attribute("aria-label") == "缩小"
    assert "interactive maps" not in (page.locator(
        ".leaflet-control-attribution a").first.get_attribute("title") or "")
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "02_redline_conflict.txt"))
    page.locator("tr.bp-finding[data-layer=ecological_redline]").click()
    page.locator(".leaflet-popup-content").wait_for()
    assert page.locator(".leaflet-popup-close-button").get_attribute("aria-label") == "关闭"
    # on a narrow screen the layer control folds into a button, named too
    page.set_viewport_size({"width": 1024, "height": 700})
    toggle = page.locator(".leaflet-control-layers-toggle")
    page.wait_for_function("!document.querySelector('.leaflet-control-layers')"
                           ".classList.contains('leaflet-control-layers-expanded')")
    assert toggle.get_attribute("title") == toggle.get_attribute("aria-label") == "图层"
    english = page.evaluate("""() => [...document.querySelectorAll('[title],[aria-label]')]
        .map(e => (e.getAttribute('title') || '') + ' ' + (e.getAttribute('aria-label') || ''))
        .filter(t => /Zoom|Layers|Close popup/.test(t))""")
    assert english == []


def test_a_refused_line_is_named_as_a_line(page, console):
    """A refusal of pasted points names the line as one reads it (第 3 行), not the API's
    粘贴的坐标:3."""
    console.expect("status of 422")
    page.locator(".bp-paste summary").click()
    page.fill("#bp-points", "J1,4034895.777,39413513.313\nJ2,4034983.100,39413924.135\n"
                            "J3,4034700.1,abc\nJ4,4034600,39413500")
    page.click("#bp-points-check")
    error = page.locator("#bp-status.bp-status-error")
    error.wait_for()
    assert "“abc”不是数字" in error.inner_text()
    assert page.locator(".bp-where").inner_text() == "位置：粘贴的坐标 第 3 行"


def test_a_pieces_popup_fits_a_phones_map_between_its_controls(page):
    """On a phone (390 × 844: the map is the top 55 %), a finding's popup is shown whole in
    the map and clear of its controls: it was as wide as the map, under the zoom and drawing
    buttons, its top cut off (opened during the move to the piece, it was not panned)."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.locator(".bp-county-label").first.wait_for()
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "05_water_source_l1.txt"))
    page.locator("#bp-verdict").wait_for()
    for kind in ("water_source", "zoning"):
        page.locator(f"tr.bp-finding[data-kind={kind}]").first.click()
        popup = page.locator(".leaflet-popup")
        popup.wait_for()
        map_settled(page)  # the popup panned into view
        boxes = page.evaluate("""() => Object.fromEntries(['.folium-map', '.leaflet-popup',
            '.leaflet-control-zoom', '.leaflet-draw', '.leaflet-control-layers'].map(s => {
              const b = document.querySelector(s).getBoundingClientRect();
              return [s, [b.left, b.top, b.right, b.bottom]]; }))""")
        left, top, right, bottom = boxes.pop(".leaflet-popup")
        mleft, mtop, mright, mbottom = boxes.pop(".folium-map")
        assert mleft <= left and mtop <= top and right <= mright and bottom <= mbottom, kind
        for name, (cl, ct, cr, cb) in boxes.items():
            assert cr <= left or right <= cl or cb <= top or bottom <= ct, (kind, name)
        page.evaluate("() => { blueprint.map.closePopup(); }")
        popup.wait_for(state="detached")


def test_the_capacity_scale_reads_alike_and_names_its_pollutants(page, server):
    """The capacity legend's three numbers have one number of decimals (they read 0.224,
    2.59, 4.953) and its pollutants are named as the panel names them (二氧化硫 SO2, not SO2)."""
    with urllib.request.urlopen(server + "/api/layers/env_capacity/image?band=SO2") as answer:
        meta = json.load(answer)
    page.locator(".leaflet-control-layers-overlays label", has_text="环境容量").click()
    labels = page.locator(".bp-ramp-labels span")
    labels.first.wait_for()
    texts = labels.all_inner_texts()
    decimals = {len(t.partition(".")[2]) for t in texts}
    assert len(decimals) == 1, texts
    shown = [float(t.replace(",", "")) for t in texts]
    assert shown[0] == pytest.approx(meta["min"], abs=0.01)
    assert shown[2] == pytest.approx(meta["max"], abs=0.01)
    options = page.locator(".bp-legend select option").all_inner_texts()
    assert options[0] == "二氧化硫 SO2" and "颗粒物 PM" in options, options
    page.locator(".bp-legend select").select_option("NOx")
    page.wait_for_function("document.querySelector('img.bp-raster') && "
                           "document.querySelector('img.bp-raster').src.includes('band=NOx')")
    assert page.locator(".bp-legend select").input_value() == "NOx"


def test_the_capacity_table_answers_its_question(page):
    """The capacity table's last column asks 是否满足 and answers 满足 or 不满足 (it answered
    with a finding's words, 符合 and 有条件通过); a pollutant without a demand has a dash."""
    page.click("details.bp-more summary")
    page.fill("[data-pollutant=SO2]", "5000")
    page.fill("[data-pollutant=NOx]", "0.001")
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "01_park_clean.txt"))
    page.locator("#bp-verdict").wait_for()
    rows = {row.split("\t")[0]: row.split("\t") for row in
            page.locator("#bp-capacity tr").all_inner_texts()}
    assert rows["污染物"][-1] == "是否满足"
    assert rows["二氧化硫 SO2"][-1] == "不满足", rows
    assert rows["氮氧化物 NOx"][-1] == "满足", rows
    assert rows["化学需氧量 COD"][-1] == "—", rows


def test_a_findings_pieces_are_located_by_keyboard(page):
    """点击一行可在地图上定位重叠部分: the rows took a click only; the name of a layer with pieces
    on the map is a button, reached with Tab and pressed with Enter (a layer without pieces
    has none: it would locate nothing)."""
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "02_redline_conflict.txt"))
    page.locator("#bp-verdict").wait_for()
    buttons = page.locator("#bp-findings button.bp-locate")
    layers = [b.evaluate("b => b.closest('tr').dataset.layer") for b in buttons.all()]
    assert "ecological_redline" in layers and "basic_farmland" not in layers, layers
    page.locator("#bp-dl-pdf").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('bp-locate')"):
            break
    assert page.evaluate("document.activeElement.closest('tr').dataset.layer") == layers[0]
    page.keyboard.press("Enter")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert page.locator(f"tr.bp-finding[data-layer={layers[0]}] td").first.inner_text() \
        in popup.inner_text()


def test_the_zoning_layer_says_which_colour_is_which_class(page):
    """用途分区 is drawn in one colour per land-use class, while its legend entry had one
    green swatch: shown, it brings a legend of its classes by name and colour (the rules'
    landuse_names), and its popups name the class; hidden, the legend goes."""
    page.locator(".bp-county-label").first.wait_for()
    assert page.locator(".bp-class-legend").count() == 0  # the layer is off at first
    page.locator(".leaflet-control-layers-overlays label", has_text="用途分区").click()
    legend = page.locator(".bp-class-legend[data-layer=zoning]")
    legend.wait_for()
    rows = legend.locator("li").all_inner_texts()
    assert "商业服务业用地 09" in rows and "居住用地 07" in rows, rows
    assert not any("1001" in row for row in rows), rows  # 工业用地 has the colour of 10
    # the legend's swatch is the colour of kinds.toml, as the features are drawn
    from blueprint.layers.catalogue import get_kind

    colour = get_kind("zoning").web["class_styles"]["09"]["fillColor"]
    rgb = "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))
    swatch = legend.locator("li", has_text="商业服务业用地").locator(".bp-class-swatch")
    assert swatch.evaluate("s => getComputedStyle(s).backgroundColor") == rgb
    assert_accessible(page)
    # the features of the new view: a load finished after the move (the one asked for when
    # the layer was shown may have come, or been cancelled by the move, before)
    loads = page.evaluate("""() => {
        const n = blueprint.layers.find(e => e.cfg.kind === 'zoning').loaded || 0;
        blueprint.map.setView([36.45, 115.99], 13, {animate: false});
        return n; }""")
    page.wait_for_function("n => (blueprint.layers.find(e => e.cfg.kind === 'zoning').loaded"
                           " || 0) > n", arg=loads)
    text = page.evaluate("""() => {
        const e = blueprint.layers.find(x => x.cfg.kind === 'zoning');
        const l = e.geo.getLayers().find(x => x.feature.properties._class === '09');
        l.fire('click', {latlng: l.getBounds().getCenter()}, true);
        return document.querySelector('.leaflet-popup-content').innerText; }""")
    assert "商业服务业用地" in text, text
    drawn = page.evaluate("""() => blueprint.layers.find(x => x.cfg.kind === 'zoning').geo
        .getLayers().find(x => x.feature.properties._class === '09').options.fillColor""")
    assert drawn == colour
    page.locator(".leaflet-control-layers-overlays label", has_text="用途分区").click()
    legend.wait_for(state="detached")


def _level_one_overlap_m2(site_name: str) -> float:
    """The site's overlap with the level-1 zone, from the source files with geopandas, in
    the site's Gauss-Krüger zone 39 (EPSG:4548), not through the product."""
    import geopandas as gpd

    from blueprint.layers.coordfile import read_coordinate_file

    site = read_coordinate_file(SAMPLE / "sites" / site_name).parcels.to_crs(4548)
    zones = gpd.read_file(SAMPLE / "layers" / "water_source.shp").to_crs(4548)
    level = next(c for c in zones.columns if zones[c].astype(str).str.contains("一级").any())
    one = zones[zones[level].astype(str).str.contains("一级")]
    return float(site.geometry.iloc[0].intersection(one.geometry.union_all()).area)


def test_a_level_one_water_source_piece_says_its_own_facts(page):
    """The popup of a 一级 piece read the finding's whole text: the 二级 part's overlap of
    34,560 m² included. Now its own level, area and the rule sentence, shortly."""
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "05_water_source_l1.txt"))
    page.locator("#bp-verdict").wait_for()
    page.locator("tr.bp-finding[data-layer=water_source]").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "饮用水水源一级保护区" in text and "二级" not in text, text
    assert "不得占用饮用水水源一级保护区" in text, text
    shown = re.search(r"本图斑重叠面积\s*([\d,.]+) m²", text)
    assert shown and float(shown.group(1).replace(",", "")) == pytest.approx(
        _level_one_overlap_m2("05_water_source_l1.txt"), abs=0.05), text
    assert "平方米（" not in text  # the facts are the table's, not a sentence again


def test_find_a_site_writes_hectares_as_a_planner_does(page):
    """找地块 for 100,000 公顷 said 容纳不下 100000.0000 公顷; the candidates 12.00 公顷."""
    page.locator(".bp-county-label").first.wait_for()
    page.locator("#bp-search > summary").click()
    page.select_option("#bp-search-county", "371502")
    page.fill("#bp-search-area", "100000")
    page.locator("#bp-search-run").click()
    summary = page.locator("#bp-search-summary")
    page.wait_for_function("document.querySelector('#bp-search-summary').textContent"
                           ".includes('公顷')", timeout=60000)
    text = summary.inner_text()
    assert "100,000 公顷" in text and "100000" not in text and ".0000" not in text, text
    page.fill("#bp-search-area", "12")
    page.locator("#bp-search-run").click()
    page.locator(".bp-candidate-item").first.wait_for(timeout=60000)
    heads = page.locator(".bp-candidate-head").all_inner_texts()
    assert all(re.search(r"，\d+(\.\d{1,2})? 公顷，", h) for h in heads), heads
    assert any("，12 公顷，" in h for h in heads), heads  # LC-GD-001 is 12 ha
