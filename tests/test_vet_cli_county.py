"""``blueprint vet --county`` (and ``POST /api/vet``'s ``county``) resolves the county
among the layers the vetting reads.

``--as-of`` vets against the layer versions current then; the county (a code or a name) is
one of the administrative boundary layer's counties *then*, not of its current version (a
county since renamed, merged or recoded is still the one the past vetting knew). Without
``--as-of``, the command lists the layers once: the catalogue it checked for being empty
is the one the county is resolved in, and the one the vetting reads. The real command
(``CliRunner``) and the API on both engines, the boundary layer imported twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import shapely
import sqlalchemy as sa
from typer.testing import CliRunner

from blueprint.layers.crs import to_crs
from blueprint.layers.errors import BadInput
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from blueprint.service.cli import app
from tests.helpers import GK39, box, frame, write
from tests.statements_support import vet_json_cli
from tests.test_web import _client


def _two_versions(store: Store, tmp_path: Path) -> str:
    """v1 then v2 of the layer ``county`` (the second box recoded and renamed, 990002 乙县
    → 990003 丁县, the first renamed 甲县 → 丙县); a moment between the two imports."""
    _boundary(store, tmp_path, {"990001": "甲县", "990002": "乙县"}, "v1.gpkg")
    time.sleep(0.05)
    then = datetime.now(UTC).isoformat()  # after v1's import, before v2's
    time.sleep(0.05)
    _boundary(store, tmp_path, {"990001": "丙县", "990003": "丁县"}, "v2.gpkg")
    return then


def _boundary(store: Store, tmp_path: Path, names: dict[str, str], file: str) -> None:
    """Import (or re-import: a new version of) the layer ``county``: one 900 m box per
    code, the i-th at x = i × 1000 m."""
    layer = write(frame([box(i * 1000, 0, 900, 900) for i in range(len(names))],
                        code=list(names), name=list(names.values())), tmp_path / file)
    import_layer(layer, ImportOptions(kind="admin_boundary", name="county", id_field="code"),
                 store=store)


@pytest.fixture
def vet(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``blueprint vet SITE --format json ARGS…`` on ``store``: the report, or the refusal
    (:class:`BadInput`, which ``main`` prints as one line, exit 2). The site lies in the
    second box (x 1100–1300 m)."""
    site = write(frame([box(1100, 100, 200, 200)], name=["试验地块"]), tmp_path / "site.gpkg")
    return vet_json_cli(store, site, monkeypatch)


def _admin_status(report: dict[str, Any]) -> str:
    return next(f["status"] for f in report["findings"] if f["kind"] == "admin_boundary")


def test_vet_as_of_resolves_the_county_among_the_versions_current_then(
        store: Store, tmp_path: Path, vet: Any) -> None:
    then = _two_versions(store, tmp_path)
    for given in ("乙县", "990002"):  # the county the site lay in then, by name and code
        report = vet("--county", given, "--as-of", then)
        assert not isinstance(report, BadInput), report.message_zh
        assert report["county"] == "990002" and _admin_status(report) == "ok"
        assert [x["version"] for x in report["layers"]] == [1]
    # a county of the current version only was not a county then: refused, listing v1's
    refused = vet("--county", "丁县", "--as-of", then)
    assert isinstance(refused, BadInput) and refused.where == "--county"
    assert "可选：990001（甲县）、990002（乙县）" in refused.message_zh
    # without --as-of, the current version: 乙县 is no more, 丁县 is where the site lies
    refused = vet("--county", "乙县")
    assert isinstance(refused, BadInput)
    assert "可选：990001（丙县）、990003（丁县）" in refused.message_zh
    report = vet("--county", "丁县")
    assert report["county"] == "990003" and _admin_status(report) == "ok"


def test_the_api_resolves_the_county_among_the_versions_current_then(
        store: Store, tmp_path: Path) -> None:
    then = _two_versions(store, tmp_path)
    site = shapely.geometry.mapping(to_crs(box(1100, 100, 200, 200), GK39, 4490))
    with _client(store, tmp_path) as client:
        def vet(county: str, **at: str) -> Any:
            answer = client.post("/api/vet", json={"site": site, "county": county, **at})
            assert answer.status_code in (200, 422), answer.text
            return answer.json()

        for given in ("乙县", "990002"):
            report = vet(given, as_of=then)
            assert report.get("county") == "990002", report
            assert _admin_status(report) == "ok"
        refused = vet("丁县", as_of=then)
        assert "可选：990001（甲县）、990002（乙县）" in refused["message_zh"], refused
        assert vet("丁县")["county"] == "990003"  # the current version without as_of


@contextmanager
def _catalogue_lists() -> Iterator[list[str]]:
    """The statements reading the current catalogue's rows (``list_layers``), of every
    engine opened inside the block (the command opens its own store)."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        flat = " ".join(statement.split())
        if flat.startswith("SELECT layers.id") and "WHERE layers.current IS" in flat:
            seen.append(flat)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def test_vet_with_a_county_lists_the_layers_once(store: Store, tmp_path: Path,
                                                 vet: Any) -> None:
    _boundary(store, tmp_path, {"990001": "甲县", "990002": "乙县"}, "v1.gpkg")
    with _catalogue_lists() as seen:
        report = vet("--county", "乙县")
    assert report["county"] == "990002" and _admin_status(report) == "ok"
    assert len(seen) == 1, seen


def test_vet_points_as_of_checks_the_city_the_versions_current_then_drew(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``vet --points --as-of``: the points must lie in the city as the boundary layer's
    versions current then drew it (those the vetting reads), not as it is drawn now."""
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    monkeypatch.delenv("BLUEPRINT_READ_DATABASE_URL", raising=False)
    _boundary(store, tmp_path, {"990001": "甲县", "990002": "乙县"}, "v1.gpkg")
    time.sleep(0.05)
    then = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    _boundary(store, tmp_path, {"990001": "丙县"}, "v2.gpkg")  # the second box is gone
    corners = box(1100, 100, 200, 200).exterior.coords  # in v1's second box only
    table = tmp_path / "points.txt"
    table.write_text("\n".join(f"J{i} {y:.3f} {x:.3f}"  # X the northing, Y the easting
                               for i, (x, y) in enumerate(corners, 1)), encoding="utf-8")

    def run(*args: str) -> Any:
        done = CliRunner().invoke(app, ["vet", str(table), "--points", "--crs",
                                        f"EPSG:{GK39}", "--format", "json", *args])
        if isinstance(done.exception, BadInput):
            return done.exception
        assert done.exit_code == 0, (args, done.output, done.exception)
        return json.loads(done.stdout)

    report = run("--as-of", then)
    assert not isinstance(report, BadInput), report.message_zh
    assert report["county"] == "990002" and _admin_status(report) == "ok"
    assert [x["version"] for x in report["layers"]] == [1]
    refused = run()  # now the points lie outside the city
    assert isinstance(refused, BadInput) and "不在本市行政区划范围内" in refused.message_zh


def test_the_review_page_vets_as_of_the_moment_the_body_gives(
        store: Store, tmp_path: Path) -> None:
    """``POST /api/vet/report.html`` takes ``as_of`` as ``POST /api/vet`` does: the layer
    versions current then, the county among the counties the boundary layer named then
    (named on the page by the one rule: 乙县 is in no current version, but was in v1), and
    the same refusal of a time that is not one."""
    then = _two_versions(store, tmp_path)
    site = shapely.geometry.mapping(to_crs(box(1100, 100, 200, 200), GK39, 4490))
    with _client(store, tmp_path) as client:
        def page(**body: Any) -> Any:
            return client.post("/api/vet/report.html", json={"site": site, **body})

        report = client.post("/api/vet", json={"site": site, "county": "乙县",
                                               "as_of": then}).json()
        shown = page(county="乙县", as_of=then)
        assert shown.status_code == 200, shown.text
        assert f"初审结论：{report['verdict_zh']}" in shown.text
        assert "乙县（990002）" in shown.text and "<td>v1</td>" in shown.text
        assert "<td>v2</td>" not in shown.text  # the versions current then, not now
        refused = page(county="丁县", as_of=then)  # not a county then
        assert refused.status_code == 422
        assert "可选：990001（甲县）、990002（乙县）" in refused.json()["message_zh"]
        assert page(county="乙县").status_code == 422  # now 乙县 is no more
        for wrong in ("yesterday", "0001-01-01T00:00"):  # the second: before UTC's year 1
            bad = page(as_of=wrong)
            api_bad = client.post("/api/vet", json={"site": site, "as_of": wrong})
            assert bad.status_code == api_bad.status_code, (bad.text, api_bad.text)
            assert bad.status_code == 422 and bad.json() == api_bad.json()


def test_the_vet_table_names_the_county_of_a_past_version(
        store: Store, tmp_path: Path, vet: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``vet --as-of`` (table): the county the site lay in then is named by the one rule,
    the older boundary versions included (乙县 is in v1 only), not shown as a bare code."""
    then = _two_versions(store, tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    site = tmp_path / "site.gpkg"  # the ``vet`` fixture's site, in the second box
    done = CliRunner().invoke(app, ["vet", str(site), "--as-of", then])
    assert done.exit_code == 0, done.output
    assert "所在县区 乙县（990002）" in done.stdout, done.stdout


def test_vet_refuses_an_as_of_outside_the_years(store: Store, tmp_path: Path,
                                               vet: Any) -> None:
    """``--as-of`` before 2000 or after 2100 is refused naming the option, as the API's
    ``as_of`` is (0001-01-01 in China lies before UTC's first moment)."""
    _boundary(store, tmp_path, {"990001": "甲县", "990002": "乙县"}, "v1.gpkg")
    for wrong in ("0001-01-01T00:00", "1999-12-31", "9999-12-31"):
        refused = vet("--as-of", wrong)
        assert isinstance(refused, BadInput) and refused.where == "--as-of", (wrong, refused)
