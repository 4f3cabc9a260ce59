"""One reading of a moment given as a date only: ``blueprint vet --as-of 2026-03-02`` and
``"as_of": "2026-03-02"`` of ``POST /api/vet`` (``/vet/points``, the form field of
``/vet/file``, ``/vet/report.html``) both mean the *end* of that day in China, so "the city
as drawn on 2 March" is the same answer on the command line and over HTTP; and the years
2000–2100 are counted in China whatever offset a time is written with.

The real command (``CliRunner``) and the real app on both engines. The layers are imported
now: the boundary ``county``, the red line ``red`` v1 over a quarter of the site, then
``red`` v2 off it, so the day of v2's import (in China) ends with v2 and began without it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from blueprint.layers.crs import to_crs
from blueprint.layers.errors import BadInput
from blueprint.layers.repository import layer_history
from blueprint.layers.store import Store
from blueprint.service.cli import app
from tests.helpers import GK39, frame, write
from tests.statements_support import vet_json_cli
from tests.test_vet_as_of_uploads import RED_V1, RED_V2, SITE, YEARS_ZH, _boundary, _red
from tests.test_web import _client

CHINA = timezone(timedelta(hours=8))  # written here, not taken from the code under test


@pytest.fixture
def site_file(tmp_path: Path) -> Path:
    return write(frame([SITE], name=["试验地块"]), tmp_path / "site.gpkg")


@pytest.fixture
def cli(store: Store, site_file: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``blueprint vet SITE --format json ARGS…`` on ``store``: the report, or the refusal."""
    return vet_json_cli(store, site_file, monkeypatch)


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with _client(store, tmp_path) as test_client:
        yield test_client


def _geometry() -> dict[str, Any]:
    return shapely.geometry.mapping(to_crs(SITE, GK39, 4490))


def _points() -> str:
    """The site's corners as a pasted table: X the northing, Y the easting (GK, metres)."""
    return "\n".join(f"J{i} {y:.3f} {x:.3f}" for i, (x, y) in enumerate(SITE.exterior.coords, 1))


def _versions(report: dict[str, Any]) -> dict[str, int]:
    return {x["name"]: x["version"] for x in report["layers"]}


def _red_ids(report: dict[str, Any]) -> list[str]:
    red = next((f for f in report["findings"] if f["layer"] == "red"), None)
    return [] if red is None else red["feature_ids"]


def _api_reports(client: TestClient, site_file: Path, as_of: str) -> dict[str, Any]:
    """The report of each way the API gives a site, vetted ``as_of``."""
    drawn = client.post("/api/vet", json={"site": _geometry(), "as_of": as_of})
    pasted = client.post("/api/vet/points", json={"points": _points(), "crs": f"EPSG:{GK39}",
                                                  "as_of": as_of})
    uploaded = client.post("/api/vet/file", data={"as_of": as_of},
                           files={"file": (site_file.name, site_file.read_bytes())})
    answers = {"/api/vet": drawn, "/api/vet/points": pasted, "/api/vet/file": uploaded}
    for path, answer in answers.items():
        assert answer.status_code == 200, (path, as_of, answer.text)
    return {path: answer.json() for path, answer in answers.items()}


def test_a_date_is_the_end_of_that_day_in_china_on_the_cli_and_the_api(
        store: Store, tmp_path: Path, cli: Any, client: TestClient, site_file: Path) -> None:
    """The day red v2 was imported (in China): vetted as of that date, the command and
    every API way of giving the site read v2 (the day's end), not what was current when
    the day began (the day's first moment, written as a time, still lacks v2)."""
    _boundary(store, tmp_path, {"990001": "甲县", "990002": "乙县"}, "county.gpkg")
    _red(store, tmp_path, RED_V1, "v1")
    assert _red_ids(cli()) == ["HX-v1"]  # v1 lies on the site, v2 will not
    _red(store, tmp_path, RED_V2, "v2")
    imported = layer_history("red", store=store)[-1].imported_at
    day = imported.astimezone(CHINA).date()  # the v2 import's day on a calendar in China
    start = cli("--as-of", f"{day}T00:00")  # the day's first moment: v2 not imported yet
    assert _versions(start).get("red") != 2, start["layers"]

    by_cli = cli("--as-of", day.isoformat())
    assert _versions(by_cli) == {"county": 1, "red": 2}
    assert _red_ids(by_cli) == []  # v2 is off the site
    for path, report in _api_reports(client, site_file, day.isoformat()).items():
        assert _versions(report) == _versions(by_cli), (path, report["layers"])
        assert report["findings"] == by_cli["findings"], path
        assert report["verdict"] == by_cli["verdict"], path
    page = client.post("/api/vet/report.html",
                       json={"site": _geometry(), "as_of": day.isoformat()})
    assert page.status_code == 200, page.text
    assert "<td>v2</td>" in page.text  # red v2 among the versions used

    before = (day - timedelta(days=1)).isoformat()  # the day before: nothing imported yet
    assert cli("--as-of", before)["layers"] == []
    for path, report in _api_reports(client, site_file, before).items():
        assert report["layers"] == [], path


# Each moment below lies on the other side of the range in China from the year it is written
# in, or at its very edge: 1999-12-31T23:00Z is 2000-01-01 07:00 in China.
INSIDE = ("1999-12-31T23:00Z", "1999-12-31T16:00:00+00:00", "2100-12-31T15:59:59Z",
          "2100-12-31", "2000-01-01", "2000-01-01T00:00")
OUTSIDE = ("1999-12-31T15:59:59Z", "2100-12-31T16:00Z", "2100-12-31T23:00-05:00",
           "1999-12-31", "1999-12-31T23:59", "2101-01-01T00:00", "2101-01-01T07:00+09:00")


def test_the_years_are_counted_in_china_on_the_cli_and_the_api(
        store: Store, tmp_path: Path, cli: Any, client: TestClient) -> None:
    """2000–2100 in China: a time with an offset is placed in China first, on the command
    line and over HTTP alike; a refusal keeps its words (the field named, the Chinese)."""
    _boundary(store, tmp_path, {"990001": "甲县", "990002": "乙县"}, "county.gpkg")
    for text in INSIDE:
        by_cli = cli("--as-of", text)
        assert not isinstance(by_cli, BadInput), (text, by_cli)
        by_api = client.post("/api/vet", json={"site": _geometry(), "as_of": text})
        assert by_api.status_code == 200, (text, by_api.text)
        assert by_api.json()["layers"] == by_cli["layers"], text
        later = text.startswith("2100")  # after the import: the boundary; 2000: nothing
        assert _versions(by_cli) == ({"county": 1} if later else {}), text
    for text in OUTSIDE:
        refused = cli("--as-of", text)
        assert isinstance(refused, BadInput), (text, refused)
        assert refused.where == "--as-of" and refused.message_zh == YEARS_ZH, text
        assert refused.message == f"--as-of {text!r} is not between 2000 and 2100"
        answer = client.post("/api/vet", json={"site": _geometry(), "as_of": text})
        assert answer.status_code == 422, (text, answer.text)
        body = answer.json()
        assert body["where"] == "body.as_of" and body["message_zh"] == YEARS_ZH, body
        assert body["message"] == f"body.as_of {text!r} is not between 2000 and 2100"
    for text in ("yesterday", "2026-13-01", 1772400000):  # no date or time: as pydantic said
        answer = client.post("/api/vet", json={"site": _geometry(), "as_of": text})
        assert answer.status_code == 422, (text, answer.text)
        said = answer.json()
        assert said["where"] == "body.as_of" and said["message_zh"].startswith(
            "请求参数有误（body.as_of）：须为"), said


def test_movements_until_a_date_include_that_day_on_the_cli_and_the_api(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """``until`` a date is that day included (China), through ``blueprint quota movements
    --until`` and ``GET /api/quota/movements?until=`` alike; ``since`` a date from its
    start. Grants at 01:00 and 23:30 on 6 May in China and at 10:00 on 7 May: until 6 May
    finds the first two (two entries each: the pool's share and the county reserve)."""
    from datetime import UTC, datetime

    from quota_support import CITY, Y

    from blueprint.analysis import quota
    from blueprint.layers.users import create_user
    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings

    moments = {"early": datetime(2026, 5, 5, 17, 0, tzinfo=UTC),  # 6 May 01:00 in China
               "late": datetime(2026, 5, 6, 15, 30, tzinfo=UTC),  # 6 May 23:30 in China
               "next": datetime(2026, 5, 7, 2, 0, tzinfo=UTC)}  # 7 May 10:00 in China
    for key, at in moments.items():
        quota.grant(year=Y, kind="land", county="371502", amount="10", reason="下达",
                    user=CITY, key=key, store=store, at=at)
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    monkeypatch.delenv("BLUEPRINT_READ_DATABASE_URL", raising=False)

    def by_cli(*args: str) -> list[int]:
        done = CliRunner().invoke(app, ["quota", "movements", "--format", "json", *args])
        assert done.exit_code == 0, (args, done.output, done.exception)
        return sorted(r["id"] for r in json.loads(done.stdout))

    token = create_user("viewer", "viewer", None, store=store, actor="test")
    api = create_app(Settings(database_url=store.database_url, data_dir=store.data_dir))
    with TestClient(api) as client:
        def by_api(**params: str) -> list[int]:
            answer = client.get("/api/quota/movements", params=params,
                                headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, (params, answer.text)
            return sorted(r["id"] for r in answer.json())

        every = by_api()
        assert len(every) == 6
        first_two = every[:4]  # ids grow with the posting
        assert by_cli("--until", "2026-05-06") == by_api(until="2026-05-06") == first_two
        assert by_cli("--since", "2026-05-06", "--until", "2026-05-06") == first_two
        assert by_api(since="2026-05-06", until="2026-05-06") == first_two
        assert by_cli("--since", "2026-05-07") == by_api(since="2026-05-07") == every[4:]
        assert by_cli("--until", "2026-05-05") == by_api(until="2026-05-05") == []
        # a time stays exact, whatever its offset; the years are China's
        assert by_cli("--until", "2026-05-06T23:00") == by_api(until="2026-05-06T23:00") \
            == every[:2]
        assert by_cli("--since", "1999-12-31T23:00Z") == by_api(since="1999-12-31T23:00Z") \
            == every
        refused = client.get("/api/quota/movements", params={"until": "2100-12-31T16:00Z"},
                             headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 422 and refused.json()["where"] == "until", refused.text
        assert refused.json()["message_zh"] == YEARS_ZH
        # since after until matches nothing: refused, naming since, on both (was an empty list
        # from the API while the command refused it)
        backwards = client.get("/api/quota/movements",
                               params={"since": "2026-05-07", "until": "2026-05-06"},
                               headers={"Authorization": f"Bearer {token}"})
        assert backwards.status_code == 422, backwards.text
        assert backwards.json()["where"] == "since"
        assert backwards.json()["message_zh"] == (
            "since 2026-05-07 晚于 until 2026-05-06，不会有任何结果")
        done = CliRunner().invoke(app, ["quota", "movements", "--since", "2026-05-07",
                                        "--until", "2026-05-06"])
        assert isinstance(done.exception, BadInput), done.output  # main prints it, exit 2
        assert done.exception.message_zh == (
            "--since 2026-05-07 晚于 --until 2026-05-06，不会有任何结果")


def test_the_command_checks_as_of_before_it_reads_the_site(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A moment out of range is refused before the site file is read, as the API refuses
    it before the upload (``test_vet_as_of_uploads``): a junk site file with ``--as-of
    1999-12-31`` is told about the date, not about the file."""
    junk = tmp_path / "site.geojson"
    junk.write_text("not a site", encoding="utf-8")
    run = vet_json_cli(store, junk, monkeypatch)
    about_file = run()
    assert isinstance(about_file, BadInput) and about_file.where != "--as-of"
    refused = run("--as-of", "1999-12-31")
    assert isinstance(refused, BadInput) and refused.where == "--as-of", refused
    assert refused.message_zh == YEARS_ZH
