"""The map as a person uses it: ``blueprint serve`` in a subprocess, Debian's Chromium driven
by Playwright. Every request the page makes is routed: anything not for 127.0.0.1 is
aborted and fails the test. Each test leaves a screenshot in ``test-artifacts/``.

Needs ``/usr/bin/chromium`` (Debian package ``chromium``); without it these tests are
skipped locally and fail under ``CI=true``. Run them alone with ``pytest -m browser``.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.a11y import assert_accessible
from tests.conftest import IN_CI, REPO, SAMPLE
from tests.live_server import PASSWORD, running_server

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def sign_in(page: Any, server: str, name: str, target: str) -> None:
    """Sign in through /login as ``name`` (a user of :func:`tests.live_server.serving_city`)
    and land on ``target``; a page with a header then names the user."""
    page.goto(f"{server}/login?next={target}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}{target}*")
    if target != "/":  # the map page has no page header
        assert name in page.locator("#bp-user").inner_text()


def asked_for(page: Any, held: list[Any], what: str, seconds: float = 10) -> None:
    """Wait until a request a route holds back (``held``, which the route's handler fills,
    as a slow network holds a script or an image) has been made: at most ``seconds``, then
    fail naming ``what``."""
    for _ in range(round(seconds * 10)):
        if held:
            return
        page.wait_for_timeout(100)
    assert held, f"{what} was never asked for"


def map_settled(page: Any, the_map: str = "blueprint.map") -> None:
    """Wait until the Leaflet map ``the_map`` (a JS expression) is still: no zoom or pan
    animation runs. Leaflet starts an animated zoom on the animation frame after it is
    asked for (two frames pass first), and ignores a view set while one runs
    (``_tryAnimatedZoom``); a popup panned into view, a point read for the mouse or a view
    set by a test is only right once the map is still."""
    page.evaluate("() => new Promise(r => { requestAnimationFrame(() => requestAnimationFrame(r));"
                  " setTimeout(r, 2000); })")  # never stuck where no frame comes
    page.wait_for_function(f"() => {{ const m = {the_map}; return !m._animatingZoom && "
                           "!(m._panAnim && m._panAnim._inProgress); }")


def _need_browser() -> Any:
    """Playwright's sync API, or skip (locally) / fail (CI) when the browser is missing."""
    problem = None if CHROMIUM.exists() else f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright Python package is missing"
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true: browser tests must run, but {problem}")
        pytest.skip(problem)
    return sync_playwright


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``blueprint serve`` on a free port, sample loaded into a fresh embedded store."""
    _need_browser()
    with running_server(tmp_path_factory.mktemp("serve")) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with _need_browser()() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


class Console:
    """Errors the page logs to the console. Chromium logs an HTTP error answer as one
    ("Failed to load resource: … status of 422"): a test expecting one says so."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[str] = []

    def expect(self, text: str) -> None:
        self.allowed.append(text)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(text in e for text in self.allowed)]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Any, server: str, console: Console,
         request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; fails the test on any request leaving 127.0.0.1, any script error or
    any error logged to the console."""
    context = browser.new_context(viewport={"width": 1400, "height": 900},
                                  accept_downloads=True, locale="zh-CN")
    tab = context.new_page()
    offsite: list[str] = []
    errors: list[str] = []

    def route(handle: Any) -> None:
        url = handle.request.url
        if urlparse(url).scheme in ("http", "https", "ws", "wss") and \
                urlparse(url).hostname != "127.0.0.1":
            offsite.append(url)
            handle.abort()
            return
        try:
            handle.continue_()
        except Exception:  # the page cancelled it (an aborted fetch while panning)
            pass

    context.route("**/*", route)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: console.errors.append(f"{msg.text} ({msg.location})")
           if msg.type == "error" else None)
    tab.goto(server + "/")
    yield tab
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()
    assert offsite == [], f"the page requested other hosts: {offsite}"
    assert errors == [], f"script errors: {errors}"
    assert console.unexpected() == [], f"console errors: {console.unexpected()}"


def _layers(server: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{server}/api/layers") as answer:
        return list(json.load(answer))


def test_map_shows_every_layer_in_its_control(page, server):
    layers = _layers(server)
    labels = page.locator(".leaflet-control-layers-overlays label")
    labels.first.wait_for()
    # wide enough: the control stays open, as the legend
    assert "leaflet-control-layers-expanded" in (
        page.locator(".leaflet-control-layers").get_attribute("class") or "")
    assert labels.count() == len(layers) == 9
    names = labels.all_inner_texts()
    for layer in layers:
        assert any(layer["title"] in name for name in names), layer["title"]
    # county boundaries came from the bbox API and carry their names
    page.locator(".bp-county-label", has_text="东昌府区").first.wait_for()
    counties = set(page.locator(".bp-county-label").all_inner_texts())
    assert {"东昌府区", "临清市", "阳谷县", "莘县", "东阿县", "冠县", "高唐县"} <= counties
    # the capacity raster: toggled on by its Chinese name, drawn with its colour scale
    labels.filter(has_text="环境容量").click()
    legend = page.locator(".bp-legend")
    legend.wait_for()
    assert "环境容量" in legend.inner_text()
    legend.locator("select").select_option("NOx")
    page.wait_for_function("document.querySelector('img.bp-raster') && "
                           "document.querySelector('img.bp-raster').src.includes('band=NOx') && "
                           "document.querySelector('img.bp-raster').naturalWidth > 0")


def test_plot_labels_wait_for_a_close_zoom(page):
    """The land-supply plots' labels (可供, 已供, 储备) would cover the county names at city
    scale: none at the opening zoom, a plot's label once zoomed in on it (label_min_zoom)."""
    import geopandas

    page.locator(".bp-county-label", has_text="东昌府区").first.wait_for()
    plots = geopandas.read_file(REPO / "data/sample/layers/land_supply.geojson")
    statuses = set(plots["status"])
    assert statuses == {"储备", "已供", "可供"}
    plot_labels = page.locator(".bp-label-min-13")
    plot_labels.first.wait_for(state="attached")  # the plots are on the map, their labels hidden
    shown = set(page.locator(".bp-map-label:visible").all_inner_texts())
    assert not shown & statuses, shown
    point = plots.geometry.iloc[0].representative_point()
    page.evaluate("([lat, lon]) => { blueprint.map.setView([lat, lon], 15); }", [point.y, point.x])
    page.locator(".bp-label-min-13", has_text=plots["status"].iloc[0]).first.wait_for()


def test_uploaded_coordinate_file_shows_the_red_conflict(page, tmp_path):
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "02_redline_conflict.txt"))
    verdict = page.locator("#bp-verdict")
    verdict.wait_for()
    assert verdict.inner_text() == "初审结论：不通过"
    assert "bp-verdict-fail" in (verdict.get_attribute("class") or "")
    assert "生态保护红线" in page.locator("#bp-summary").inner_text()
    red = page.locator("path.bp-piece-conflict")
    assert red.count() >= 1 and red.first.get_attribute("fill") == "#dc2626"
    assert page.locator("path.bp-site-outline").count() == 1
    row = page.locator("tr.bp-finding[data-layer=ecological_redline]")
    assert "冲突" in row.inner_text()
    row.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    for part in ("生态保护红线", "HX371502-001", "不得占用生态保护红线", "m²", "亩", "49.57%"):
        assert part in text, part
    # the popup opens once the map has moved to the piece, fading in: read it when shown
    page.wait_for_function("getComputedStyle(document.querySelector('.leaflet-popup'))"
                           ".opacity === '1'")
    assert_accessible(page)  # the map page with a report and a popup open
    with page.expect_download() as download:
        page.click("#bp-dl-json")
    report = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert report["verdict"] == "fail" and report["site"]["source"] == "02_redline_conflict.txt"
    with page.expect_download() as download:
        page.click("#bp-dl-geojson")
    fc = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert fc["type"] == "FeatureCollection" and fc["report"]["summary_zh"] == report["summary_zh"]
    assert any(f["properties"].get("status") == "conflict" for f in fc["features"])
    # picking another industry checks the same file again
    page.select_option("#bp-industry", "commercial")
    page.locator("#bp-site", has_text="商业服务业项目").wait_for()


def _click_until(page: Any, x: float, y: float, done: str) -> None:
    """Move to (x, y) and click, and click again if the map did not take it (as people do:
    Leaflet.draw ignores a click that follows the previous one within 50 ms)."""
    for _ in range(5):
        page.mouse.move(x, y, steps=10)
        page.mouse.click(x, y)
        try:
            page.wait_for_function(done, timeout=2000)
            return
        except Exception:  # playwright's TimeoutError: the click was ignored
            continue
    pytest.fail(f"the map did not take the click at {x:.0f},{y:.0f} ({done})")


def test_site_drawn_with_the_mouse_is_vetted(page):
    page.locator(".bp-county-label").first.wait_for()
    # go to 聊城经济技术开发区, as a person would pan and zoom there
    page.evaluate("() => { blueprint.map.setView([36.4399, 116.0380], 16, {animate: false}); }")
    corners = page.evaluate("""() => {
        const map = blueprint.map, box = map.getContainer().getBoundingClientRect();
        return [[36.4392, 116.0368], [36.4392, 116.0392], [36.4407, 116.0392],
                [36.4407, 116.0368]].map(ll => {
            const p = map.latLngToContainerPoint(ll); return [box.left + p.x, box.top + p.y]; });
    }""")
    page.click("#bp-draw")
    vertices = "document.querySelectorAll('.leaflet-editing-icon').length"
    for n, (x, y) in enumerate(corners, start=1):
        _click_until(page, x, y, f"{vertices} >= {n}")
    # clicking the first corner again closes the polygon, and the check starts
    _click_until(page, *corners[0], "document.body.dataset.bpState !== 'idle'")
    verdict = page.locator("#bp-verdict")
    verdict.wait_for()
    assert verdict.inner_text() == "初审结论：通过"
    assert "bp-verdict-pass" in (verdict.get_attribute("class") or "")
    site = page.locator("#bp-site").inner_text()
    assert "地图上绘制的地块" in site and "东昌府区" in site
    assert page.locator("path.bp-piece-conflict").count() == 0


def test_a_file_chosen_before_the_scripts_ran_is_checked(page, server):
    """The panel shows before the page's deferred scripts have run (on a slow network they
    come later): a site file chosen by then is checked once they run, not left unchecked."""
    held: list[Any] = []  # check.js, held as a slow network does (app.js runs after it)
    page.route("**/static/check.js", lambda route: held.append(route))
    page.goto(server + "/", wait_until="commit")
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "02_redline_conflict.txt"))
    asked_for(page, held, "check.js")
    assert page.evaluate("!window.blueprint")  # chosen before the scripts ran
    for route in held:
        route.continue_()
    verdict = page.locator("#bp-verdict")
    verdict.wait_for()
    assert verdict.inner_text() == "初审结论：不通过"
    assert "02_redline_conflict.txt" in page.locator("#bp-site").inner_text()


def test_bad_file_shows_a_readable_chinese_error(page, console, tmp_path):
    console.expect("status of 422")  # the answer to the broken file
    bad = tmp_path / "坏地块.txt"
    bad.write_text("[属性描述]\n带号=39\n[地块坐标]\n4,1.0,1,坏地块,面,,,,@\n"
                   "J1,1,4035000.0\n", encoding="utf-8")
    page.set_input_files("#bp-file", str(bad))
    status = page.locator("#bp-status.bp-status-error")
    status.wait_for()
    text = status.inner_text()
    assert "无法完成审查" in text and "界址点行有 3 个字段" in text
    assert "位置：坏地块.txt 第 5 行" in text  # the line of the file, as a reader says it
    assert "Traceback" not in text
    assert page.locator("#bp-result").is_hidden()
    # the English message is for support, folded: a reader sees Chinese only
    english = status.locator(".bp-en p[lang=en]")
    assert english.count() == 1 and not english.is_visible()
    status.locator(".bp-en summary").click()
    assert english.is_visible() and english.inner_text()
    assert_accessible(page)  # the error, its English fold open


def _container_point(page: Any, lat: float, lon: float) -> tuple[float, float]:
    x, y = page.evaluate("""([lat, lon]) => {
        const map = blueprint.map, box = map.getContainer().getBoundingClientRect();
        const p = map.latLngToContainerPoint([lat, lon]);
        return [box.left + p.x, box.top + p.y]; }""", [lat, lon])
    return x, y


def _drag_rectangle(page: Any, south_west: tuple[float, float],
                    north_east: tuple[float, float]) -> None:
    """The rectangle tool: press, drag, release (as its tooltip says)."""
    page.click(".leaflet-draw-draw-rectangle")
    start, end = _container_point(page, *south_west), _container_point(page, *north_east)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()


PARK = ((36.4392, 116.0368), (36.4407, 116.0392))  # in 聊城经济技术开发区: passes


def test_a_newer_site_wins_over_a_slow_answer_for_an_older_one(page):
    """Upload a file whose check is slow, then draw another site before it answers: the panel
    shows the drawn site, and the older check is cancelled, never shown over it."""
    held: list[Any] = []

    def hold_first(route: Any) -> None:
        if not held:
            held.append(route)  # answered only at the end, if at all
            return
        route.continue_()

    page.route("**/api/vet/file", hold_first)
    page.locator(".bp-county-label").first.wait_for()
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "02_redline_conflict.txt"))
    page.wait_for_function("document.body.dataset.bpState === 'busy' && "
                           "document.querySelector('#bp-status').textContent"
                           ".includes('02_redline_conflict')")
    page.evaluate("() => { blueprint.map.setView([36.4399, 116.0380], 16, {animate: false}); }")
    with page.expect_event("requestfailed", timeout=15_000,
                           predicate=lambda r: "/api/vet/file" in r.url) as cancelled:
        _drag_rectangle(page, *PARK)
    assert cancelled.value.failure  # the page cancelled the older check
    verdict = page.locator("#bp-verdict")
    verdict.wait_for()
    assert verdict.inner_text() == "初审结论：通过"
    try:
        held[0].continue_()  # the old answer, if the page still wanted it
    except Exception:  # playwright: the request was cancelled by the page
        pass
    page.wait_for_function("document.body.dataset.bpState === 'done'")
    assert verdict.inner_text() == "初审结论：通过"
    assert "地图绘制" in page.locator("#bp-site").inner_text()


def test_changing_emissions_checks_the_site_again(page):
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "01_park_clean.txt"))
    page.locator("#bp-verdict").wait_for()
    assert "1,234.500" not in page.locator("#bp-capacity").inner_text()
    heads = page.locator("#bp-capacity th").all_inner_texts()  # the numbers' unit is said
    assert heads[1:4] == ["平均剩余（吨/年）", "最小剩余（吨/年）", "拟排放（吨/年）"], heads
    page.click("details.bp-more summary")
    so2 = page.locator("input[data-pollutant=SO2]")

    def sends_so2(request: Any) -> bool:
        return "/api/vet/file" in request.url and b"SO2=1234.5" in (
            request.post_data_buffer or b"")

    with page.expect_request(sends_so2, timeout=15_000):
        so2.press_sequentially("1234.5")  # one check after the typing, not one per key
    page.locator("#bp-capacity", has_text="1,234.500").wait_for()


def test_upload_crs_choice_is_sent_with_the_file(page, console, tmp_path):
    console.expect("status of 422")  # the first try, without a CRS
    from tests.helpers import zipped_site_without_crs

    packed = zipped_site_without_crs(tmp_path)
    assert page.locator("#bp-crs").input_value() == ""  # 自动识别
    page.set_input_files("#bp-file", str(packed))
    error = page.locator("#bp-status.bp-status-error")
    error.wait_for()
    assert "坐标系" in error.inner_text()

    def sends_crs(request: Any) -> bool:
        body = request.post_data_buffer or b""
        return "/api/vet/file" in request.url and b'name="crs"' in body and \
            b"EPSG:4490" in body

    with page.expect_request(sends_crs):
        page.select_option("#bp-crs", "EPSG:4490")  # checks the same file again
    verdict = page.locator("#bp-verdict")
    verdict.wait_for()
    assert verdict.inner_text() == "初审结论：通过"


def test_layer_control_folds_away_on_a_narrow_screen(page):
    control = page.locator(".leaflet-control-layers")
    control.wait_for()
    page.set_viewport_size({"width": 1024, "height": 700})
    page.reload()
    control.wait_for()
    folded = "!document.querySelector('.leaflet-control-layers')" \
             ".classList.contains('leaflet-control-layers-expanded')"
    page.wait_for_function(folded)
    assert page.locator(".leaflet-control-layers-list").is_hidden()
    # a piece's popup is not under the control
    page.set_input_files("#bp-file", str(SAMPLE / "sites" / "02_redline_conflict.txt"))
    page.locator("tr.bp-finding[data-layer=ecological_redline]").click()
    popup = page.locator(".leaflet-popup-content-wrapper")
    popup.wait_for()
    map_settled(page)  # the popup's place once the map has panned it into view
    box, covered = popup.bounding_box(), control.bounding_box()
    assert box and covered
    assert box["x"] + box["width"] <= covered["x"] or box["y"] >= covered["y"] + covered["height"] \
        or box["x"] >= covered["x"] + covered["width"] or box["y"] + box["height"] <= covered["y"]
    # the layers are a hover away, and the control opens again on a wide screen
    control.hover()
    page.wait_for_function(f"!({folded})")
    page.locator(".leaflet-control-layers-overlays label", has_text="生态保护红线").wait_for()
    page.mouse.move(10, 650)
    page.wait_for_function(folded)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.wait_for_function(f"!({folded})")
