"""Every vetting report names the layer versions it used (issue 12): the JSON report, the
table ``blueprint vet`` prints and the 初审意见书 (HTML; the PDF prints the same page) give
each layer's name, version and import time — for ``--as-of``, the versions current then."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from blueprint.analysis.clock import CST
from blueprint.analysis.review.document import review_html, site_review
from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.layer_info import iso_utc
from blueprint.layers.repository import layer_history
from blueprint.layers.store import Store
from blueprint.service.cli import app
from tests.helpers import box, frame, write


def _two_versions(store: Store, tmp_path: Path) -> datetime:
    """A red line imported twice; returns a moment between the two imports."""
    between = None
    for version, x in enumerate((0, 300)):
        if version:
            between = datetime.now(UTC)
        path = write(frame([box(x, 0, 100, 100)], hxbh=[f"HX-{version}"]),
                     tmp_path / f"red{version}.gpkg")
        import_layer(path, ImportOptions(kind="ecological_redline", name="red"), store=store)
    assert between is not None
    return between


def _china(at: datetime) -> str:
    return at.astimezone(CST).strftime("%Y-%m-%d %H:%M")


def test_reports_name_the_versions_they_used(store: Store, tmp_path: Path) -> None:
    between = _two_versions(store, tmp_path)
    v1, v2 = layer_history("red", store=store)
    site_file = write(frame([box(50, 0, 100, 100)], name=["测试地块"]), tmp_path / "site.gpkg")
    site = read_site(site_file)
    now = vet_site(VetRequest(site=site), store=store)
    then = vet_site(VetRequest(site=site, as_of=between), store=store)
    assert [(x.name, x.version, x.checksum) for x in now.layers] == [("red", 2, v2.checksum)]
    assert [(x.name, x.version, x.checksum) for x in then.layers] == [("red", 1, v1.checksum)]
    assert then.to_json()["layers"][0]["imported_at"] == iso_utc(v1.imported_at)
    html = review_html(site_review(then, store=store, reviewer="审查员"), store=store)
    table = html.split('id="bp-layers"')[1].split("</table>")[0]
    assert "<td>v1</td>" in table and "v2" not in table
    assert _china(v1.imported_at) in table
    # the kind in Chinese, the layer's code kept in a small column, not the kind's code
    assert "<td>生态保护红线</td>" in table and '<td class="small">red</td>' in table, table
    assert "ecological_redline" not in table
    engine = {"embedded": "内置引擎（SQLite）", "postgis": "PostGIS 数据库"}[store.engine_name]
    assert f"规则生成，计算引擎：{engine}。" in html
    assert f"计算引擎：{store.engine_name}" not in html
    assert then.to_json()["engine"] == store.engine_name  # the JSON report keeps its field


def test_the_vet_table_lists_the_versions(store: Store, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    between = _two_versions(store, tmp_path)
    v1, v2 = layer_history("red", store=store)
    site_file = write(frame([box(50, 0, 100, 100)], name=["测试地块"]), tmp_path / "site.gpkg")
    runner = CliRunner()
    shown = runner.invoke(app, ["vet", str(site_file)])
    assert shown.exit_code == 0, shown.output
    assert "所用图层版本" in shown.stdout and "v2" in shown.stdout
    assert _china(v2.imported_at) in shown.stdout
    old = runner.invoke(app, ["vet", str(site_file), "--as-of", between.isoformat()])
    assert "v1" in old.stdout and _china(v1.imported_at) in old.stdout
    as_json = json.loads(runner.invoke(app, ["vet", str(site_file), "--format", "json"]).stdout)
    assert [(x["name"], x["version"]) for x in as_json["layers"]] == [("red", 2)]


def _fill_pixels(html: str) -> int:
    """Pixels of the map in the document drawn in the red line's fill (#d7191c at 30 % over
    white), outside any overlap piece (drawn at 75 %)."""
    import base64
    import io

    import matplotlib.image as mpimg
    import numpy as np

    data = html.split("data:image/png;base64,")[1].split('"')[0]
    pixels = mpimg.imread(io.BytesIO(base64.b64decode(data)), format="png")[..., :3]
    fill = 0.3 * np.array([0xd7, 0x19, 0x1c]) / 255 + 0.7
    return int((np.abs(pixels - fill) < 0.04).all(axis=-1).sum())


def test_a_reports_map_draws_the_versions_it_was_vetted_on(store: Store,
                                                           tmp_path: Path) -> None:
    """A report vetted before a layer was replaced keeps its map: the map of its 初审意见书,
    drawn today, shows the version its findings were measured against, not the new one."""
    for version, x in enumerate((0, 5000)):  # the new version far out of the map's frame
        path = write(frame([box(x, 0, 100, 100)], hxbh=[f"HX-{version}"]),
                     tmp_path / f"red{version}.gpkg")
        import_layer(path, ImportOptions(kind="ecological_redline", name="red"), store=store)
        if not version:
            site = read_site(write(frame([box(50, 0, 100, 100)], name=["测试地块"]),
                                 tmp_path / "site.gpkg"))
            before = vet_site(VetRequest(site=site), store=store)
    assert [(x.name, x.version) for x in before.layers] == [("red", 1)]
    assert before.findings[0].status != "ok"  # the site half in the old red line
    then = review_html(site_review(before, store=store, reviewer="审查员"), store=store)
    now = review_html(site_review(vet_site(VetRequest(site=site), store=store), store=store,
                                  reviewer="审查员"), store=store)
    # the old red line's part outside the site (50 m × 100 m) is drawn in its fill colour;
    # today's red line is 5 km away and nothing of it is in today's map
    assert _fill_pixels(then) > 500, _fill_pixels(then)
    assert _fill_pixels(now) < 50, _fill_pixels(now)
