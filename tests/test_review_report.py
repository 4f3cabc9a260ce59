"""The preliminary-review report (初审意见书): the printable page and its PDF.

The PDF is printed by the real headless Chromium and read back with poppler: page 1 is
turned into a PNG (kept in ``test-artifacts/``), its text must hold the Chinese verdict,
and the map must not be blank.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from matplotlib import image as mpimg
from projects_support import STAFF, city, park_project, site  # noqa: F401  (city: fixture)

from blueprint.analysis.projects import create_project, revise_project, vet_project
from blueprint.analysis.review.document import review_html, site_review
from blueprint.analysis.review.pdf import html_to_pdf
from blueprint.analysis.review.points import boundary_table
from blueprint.analysis.review.project import project_review
from blueprint.analysis.review.static_map import site_map_png
from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.store import Store
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SITES = REPO / "data" / "sample" / "sites"
ARTIFACTS = REPO / "test-artifacts"
TOOLS = all(shutil.which(t) for t in ("chromium", "pdftoppm", "pdftotext"))
needs_tools = pytest.mark.skipif(not TOOLS and not os.environ.get("CI"),
                                 reason="needs chromium and poppler-utils")
INDUSTRY = {"02_redline_conflict.txt": "commercial",
            "10_commercial_on_residential.geojson": "residential"}


def _report(store: Store, name: str):  # type: ignore[no-untyped-def]
    site = read_site(SITES / name)
    return vet_site(VetRequest(site=site, industry=INDUSTRY.get(name, "industrial")),
                    store=store)


def _variance(png: bytes) -> float:
    pixels = mpimg.imread(io.BytesIO(png), format="png")[..., :3]
    return float(np.var(pixels))


def _pdf_text_and_page(pdf: bytes, stem: str, tmp_path: Path) -> tuple[str, bytes]:
    path = tmp_path / f"{stem}.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(path), str(tmp_path / stem)], check=True)
    png = (tmp_path / f"{stem}.png").read_bytes()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"review-{stem}-page1.png").write_bytes(png)
    return text, png


def test_boundary_points_are_the_site_in_its_zone() -> None:
    """X north, Y east in zone 39 (EPSG:4548), rings closed on J1, and the points' area is
    the site's planar area."""
    site = read_site(SITES / "07_multi_parcel.txt").geometry
    table = boundary_table(site)
    assert (table.epsg, table.zone, table.central_meridian) == (4548, 39, 117)
    assert all(3_000_000 < p.x < 5_000_000 and 100_000 < p.y < 900_000 for p in table.points)
    parcels = {p.parcel for p in table.points}
    assert len(parcels) == shapely.get_num_geometries(site) > 1
    area = 0.0
    for parcel in parcels:
        for ring in {p.ring for p in table.points if p.parcel == parcel}:
            pts = [p for p in table.points if p.parcel == parcel and p.ring == ring]
            assert pts[0].name == pts[-1].name == "J1" and (pts[0].x, pts[0].y) == \
                (pts[-1].x, pts[-1].y)
            ring_area = abs(shapely.Polygon([(p.y, p.x) for p in pts]).area)
            area += ring_area if ring == 0 else -ring_area
    from blueprint.layers.crs import to_crs

    assert area == pytest.approx(to_crs(site, 4490, 4548).area, rel=1e-6)


def test_map_shows_layers_and_conflict(sample_store: Store) -> None:
    """The static map is not blank, and the conflict piece is drawn in red."""
    report = _report(sample_store, "02_redline_conflict.txt")
    review = site_review(report, store=sample_store, reviewer="测试")
    assert any(status == "conflict" for _, status in review.pieces)
    png = site_map_png(review.site, review.pieces, store=sample_store)
    pixels = mpimg.imread(io.BytesIO(png), format="png")[..., :3]
    assert _variance(png) > 0.005
    red = (pixels[..., 0] > 0.75) & (pixels[..., 1] < 0.35) & (pixels[..., 2] < 0.35)
    assert red.sum() > 500, "no conflict piece on the map"


def test_page_of_every_demo_site(sample_store: Store) -> None:
    """Every demo site gets a page with its verdict, areas, findings and corner table."""
    for path in sorted(SITES.iterdir()):
        if path.suffix not in (".txt", ".geojson"):
            continue
        report = _report(sample_store, path.name)
        html = review_html(site_review(report, store=sample_store, reviewer="王审查"),
                           store=sample_store)
        assert f"初审结论：{report.verdict_zh}" in html, path.name
        assert "公顷" in html and "亩" in html and "界址点坐标" in html and "王审查" in html
        assert "data:image/png;base64," in html
        assert "http://" not in html and "https://" not in html  # loads nothing
        for f in report.findings:
            assert f.title in html


@needs_tools
@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_pdf_of_every_demo_site(sample_store: Store, tmp_path: Path) -> None:
    """Chromium prints every demo site's report; the text is extractable Chinese and page
    one's map is not blank (PNG kept in test-artifacts/)."""
    for path in sorted(SITES.iterdir()):
        if path.suffix not in (".txt", ".geojson"):
            continue
        report = _report(sample_store, path.name)
        pdf = html_to_pdf(review_html(site_review(report, store=sample_store,
                                                  reviewer="王审查"), store=sample_store))
        assert pdf.startswith(b"%PDF")
        text, page1 = _pdf_text_and_page(pdf, path.stem, tmp_path)
        flat = "".join(text.split())
        assert "建设项目选址初审意见书" in flat, path.name
        assert f"初审结论：{report.verdict_zh}" in flat, path.name
        assert "界址点坐标" in flat and "王审查" in flat
        assert _variance(page1) > 0.01, f"page 1 of {path.name} looks blank"


def _run_cli(args: list[str], data_dir: Path, actor: str = "李审查"
             ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BLUEPRINT_DATA_DIR": str(data_dir), "BLUEPRINT_DATABASE_URL": "",
           "PYTHONPATH": str(REPO), "BLUEPRINT_ACTOR": actor}
    return subprocess.run([sys.executable, "-m", "blueprint.service", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)


@needs_tools
def test_cli_writes_pdf(tmp_path: Path) -> None:
    """``blueprint vet SITE --format pdf --output FILE``; without --output it exits 2."""
    data = tmp_path / "bp"
    assert _run_cli(["sample", "load"], data).returncode == 0
    site = str(SITES / "02_redline_conflict.txt")
    table = _run_cli(["vet", site, "--industry", "commercial"], data)
    assert "所在县区 东昌府区（371502）" in table.stdout, table.stdout  # named, not a bare code
    refused = _run_cli(["vet", site, "--format", "pdf"], data)
    assert refused.returncode == 2 and "--output" in refused.stderr
    out = tmp_path / "初审意见书.pdf"
    done = _run_cli(["vet", site, "--industry", "commercial", "--format", "pdf", "--output",
                     str(out)], data)
    assert done.returncode == 0, done.stderr
    assert "不通过" in done.stdout
    text, _ = _pdf_text_and_page(out.read_bytes(), "cli-02_redline_conflict", tmp_path)
    flat = "".join(text.split())
    assert "初审结论：不通过" in flat and "李审查" in flat and "生态保护红线" in flat
    # no BLUEPRINT_ACTOR: the command line's OS user, as a person reads it (not cli:NAME)
    page = tmp_path / "初审意见书.html"
    env_actor = _run_cli(["vet", site, "--format", "html", "--output", str(page)], data,
                         actor="")
    assert env_actor.returncode == 0, env_actor.stderr
    html = page.read_text(encoding="utf-8")
    assert "审查人：命令行（" in html and "cli:" not in html
    # an existing report is replaced only with --force (it was written over)
    again = _run_cli(["vet", site, "--format", "html", "--output", str(page),
                      "--reviewer", "王复核"], data)
    assert again.returncode == 2 and "已存在" in again.stderr and "--force" in again.stderr
    assert page.read_text(encoding="utf-8") == html
    forced = _run_cli(["vet", site, "--format", "html", "--output", str(page),
                       "--reviewer", "王复核", "--force"], data)
    assert forced.returncode == 0, forced.stderr
    assert "审查人：王复核" in page.read_text(encoding="utf-8")


@needs_tools
def test_api_report_pdf_and_html(sample_store: Store, tmp_path: Path) -> None:
    """``POST /api/vet/report.pdf`` and ``report.html`` take the body of ``POST /api/vet``."""
    import json

    feature = json.loads((SITES / "10_commercial_on_residential.geojson").read_text("utf-8"))
    body = {"site": feature, "industry": "residential"}
    app = create_app(Settings(data_dir=tmp_path / "app"))
    with TestClient(app) as client:
        own, app.state.store = app.state.store, sample_store
        try:
            verdict = client.post("/api/vet", json=body).json()["verdict_zh"]
            html = client.post("/api/vet/report.html", json=body)
            pdf = client.post("/api/vet/report.pdf", json=body)
            bad = client.post("/api/vet/report.pdf", json={"site": {"type": "Point"}})
        finally:
            app.state.store = own
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert f"初审结论：{verdict}" in html.text
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]
    text, _ = _pdf_text_and_page(pdf.content, "api-10_commercial_on_residential", tmp_path)
    assert f"初审结论：{verdict}" in "".join(text.split())
    assert bad.status_code == 422 and "message_zh" in bad.json()


def test_project_review_shows_the_site_its_report_vetted(city: Store) -> None:  # noqa: F811
    """A project vetted on the red line, then revised to the park but not vetted again: its
    初审意见书 states the stored report (不通过, the red line's area), so its map and its
    boundary points are the red-line site that report vetted, not the revised one."""
    first, revised = site("02_redline_conflict.txt"), site("01_park_clean.txt")
    code = create_project(park_project(), user=STAFF, store=city, site=first).code
    vet_project(code, user=STAFF, store=city)
    revise_project(code, user=STAFF, store=city, reason="避让生态保护红线", site=revised)
    review = project_review(code, store=city)
    assert review.report["verdict"] == "fail"
    assert review.report["site"]["area_m2"] == pytest.approx(first.area_m2, abs=0.1)
    assert shapely.equals_exact(review.site, first.geometry, 1e-9)
    assert any(status == "conflict" for _, status in review.pieces)  # the red line, drawn
    html = review_html(review, store=city)
    ours, theirs = boundary_table(first.geometry), boundary_table(revised.geometry)
    assert f"{ours.points[0].x:.3f}" in html
    assert f"{theirs.points[0].x:.3f}" not in html
    # and it says that report is out of date, as the project page does
    assert "本意见书依据的初审报告已过期（项目地块已修改），须重新初审。" in _page_text(html)


def _page_text(html: str) -> str:
    import re

    body = re.sub(r"<style>.*?</style>|data:image/png;base64,[^\"]+", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_units_are_written_in_chinese(sample_store: Store) -> None:
    """The quota and capacity tables name their units as the summary does (公顷, 吨标准煤,
    吨/年), every amount with its unit: no ``ha``, ``tce`` or ``t/a`` on the page."""
    from decimal import Decimal

    request = VetRequest(site=read_site(SITES / "01_park_clean.txt"), year=2026,
                         emissions={"SO2": 0.1, "NOx": 50.0},
                         demands={"new_construction_land": Decimal("12.6"),
                                  "energy": Decimal("3000")})
    report = vet_site(request, store=sample_store)
    assert report.quota is not None and report.capacity.layers
    text = _page_text(review_html(site_review(report, store=sample_store, reviewer="王审查"),
                                  store=sample_store))
    assert "新增建设用地指标 12.6 公顷 " in text and "能耗指标 3000 吨标准煤 " in text
    land = next(q for q in report.quota.items if q.kind == "new_construction_land")
    assert f"{land.county_available} 公顷 {land.pool_available} 公顷" in text
    so2 = next(b for b in report.capacity.layers[0].bands if b.band == "SO2")
    assert f"二氧化硫（SO2） {so2.mean:.3f} 吨/年" in text and " 50 吨/年 不满足" in text
    for english in (" ha ", "tce", "t/a"):
        assert english not in text, english


def test_points_round_a_hole_are_numbered_on_from_the_outer_ring(sample_store: Store) -> None:
    """Within a parcel every corner has its own number, as in the coordinate file the site
    came in (J1…J4 outside, J5…J8 round the hole): no two corners both called J1."""
    site = read_site(SITES / "08_with_hole.txt")
    table = boundary_table(site.geometry)
    outer = [p.name for p in table.points if p.ring == 0]
    hole = [p.name for p in table.points if p.ring == 1]
    assert outer == ["J1", "J2", "J3", "J4", "J1"] and hole == ["J5", "J6", "J7", "J8", "J5"]
    text = _page_text(review_html(site_review(_report(sample_store, "08_with_hole.txt"),
                                              store=sample_store, reviewer="王审查"),
                                  store=sample_store))
    assert "1 内环 1 J5 " in text and "1 内环 1 J1 " not in text


def test_project_review_states_the_demands_of_the_project(city: Store) -> None:  # noqa: F811
    """A project's stored report checks no balances; its 初审意见书 does not say that no
    demand was declared, it states the project's demands (as its record has them)."""
    code = create_project(park_project(), user=STAFF, store=city,
                          site=site("01_park_clean.txt")).code
    vet_project(code, user=STAFF, store=city)
    text = _page_text(review_html(project_review(code, store=city), store=city))
    assert "未申报要素指标需求" not in text
    assert "已过期" not in text  # vetted on its current site and layers
    assert "新增建设用地指标 12.6 公顷（189.00 亩）" in text and "能耗指标 3000 吨标准煤" in text
    bare = create_project(park_project(demands={}), user=STAFF, store=city,
                          site=site("01_park_clean.txt")).code
    vet_project(bare, user=STAFF, store=city)
    assert "未申报要素指标需求" in _page_text(review_html(project_review(bare, store=city),
                                                        store=city))


def _square(x: float, y: float, d: float = 0.005) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d],
                                                [x, y + d], [x, y]]]}


def test_points_are_listed_parcel_by_parcel_as_given(sample_store: Store,
                                                     tmp_path: Path) -> None:
    """Two parcels sharing an edge stay two in the table (地块数 2), not their union; the
    parcels of a coordinate file come in its order, each from its own J1."""
    import re

    parcels = [{"type": "Feature", "properties": {"name": name}, "geometry": _square(x, 36.43)}
               for name, x in (("甲", 115.98), ("乙", 115.985))]
    body = {"site": {"type": "FeatureCollection", "features": parcels}}
    app = create_app(Settings(data_dir=tmp_path / "app"))
    with TestClient(app) as client:
        own, app.state.store = app.state.store, sample_store
        try:
            page = client.post("/api/vet/report.html", json=body)
        finally:
            app.state.store = own
    assert page.status_code == 200, page.text
    rows = re.findall(r"<tr><td>(\d+)</td><td>外环</td><td>(J\d+)</td>", page.text)
    assert [p for p, _ in rows] == ["1"] * 5 + ["2"] * 5, rows
    # a coordinate file's parcels, its order and its corners (read here independently)
    path = SITES / "07_multi_parcel.txt"
    given = [(float(x), float(y) - 39_000_000) for x, y in re.findall(
        r"^J\d+,1,([\d.]+),([\d.]+)\s*$", path.read_text("utf-8-sig"), flags=re.M)]
    site = read_site(path)
    review = site_review(vet_site(VetRequest(site=site), store=sample_store),
                         store=sample_store, reviewer="王审查", parcels=site.parcel_geometries)
    text = _page_text(review_html(review, store=sample_store))
    listed = re.findall(r" \d 外环 J\d+ ([\d.]+) ([\d.]+)", text)
    assert len(listed) == len(given) == 10
    assert [float(v) for xy in listed for v in xy] == pytest.approx(
        [v for xy in given for v in xy], abs=0.0015)
