"""A project listed without its parcels (``list_projects(parcels=False)``) is told apart
from one that kept none: ``site_parcels`` None (not read) against ``()`` (none kept), and
its ``to_dict()`` leaves the field out rather than say null. What serialises a project
(the HTTP API, ``blueprint projects list|show --format json``) reads the parcels, so its
``site_parcels`` is null exactly for a project without a site and for a site stored
before the parcels were kept (``0017_project_parcels``; here its column set back to NULL,
as such a row holds), and the API's schema says so. Both engines.

Three projects: one with the two named parcels of ``tests/test_project_parcels.py``, one
without a site, one whose site's parcels were not kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from projects_support import STAFF, park_project, site

from blueprint.analysis.projects import create_project, get_project, list_projects
from blueprint.analysis.site import read_site
from blueprint.layers.schema import projects
from blueprint.layers.store import Store
from tests.test_project_parcels import NAMES, api, json_cli, write_parcels  # noqa: F401


@pytest.fixture
def three(store: Store, tmp_path: Path) -> dict[str, str]:
    """The codes of the three projects: ``kept`` (two parcels), ``bare`` (no site),
    ``before`` (a site whose parcels were not kept)."""
    kept = create_project(park_project(), site=read_site(write_parcels(tmp_path)),
                          user=STAFF, store=store).code
    bare = create_project(park_project(name="尚无地块的项目"), user=STAFF, store=store).code
    before = create_project(park_project(name="早先保存地块的项目"),
                            site=site("01_park_clean.txt"), user=STAFF, store=store).code
    with store.engine.begin() as conn:  # as a site stored before 0017 holds it
        conn.execute(projects.update().where(projects.c.code == before)
                     .values(site_parcels=None))
    return {"kept": kept, "bare": bare, "before": before}


def _names(parcels: Any) -> list[str]:
    return [f["properties"]["parcel_name"] for f in parcels["features"]]


def test_a_list_without_parcels_says_not_read_not_none_kept(
        store: Store, three: dict[str, str]) -> None:
    unread = {p.code: p for p in list_projects(store=store)}
    assert {c: p.site_parcels for c, p in unread.items()} == dict.fromkeys(
        three.values(), None)
    assert all("site_parcels" not in p.to_dict() for p in unread.values())
    assert unread[three["kept"]].to_dict()["site"]["type"] == "Polygon"  # the outline read

    read = {p.code: p for p in list_projects(store=store, parcels=True)}
    assert read[three["bare"]].site_parcels == () and read[three["before"]].site_parcels == ()
    assert [p.attributes["parcel_name"] for p in read[three["kept"]].site_parcels] == NAMES
    said = {c: p.to_dict()["site_parcels"] for c, p in read.items()}
    assert said[three["bare"]] is None and said[three["before"]] is None
    assert _names(said[three["kept"]]) == NAMES
    for code in three.values():  # one project read whole says as the list read with them
        assert get_project(code, store=store).to_dict()["site_parcels"] == said[code]


def test_the_api_says_null_only_for_no_site_or_none_kept(api: TestClient,  # noqa: F811
                                                         three: dict[str, str]) -> None:
    got = api.get("/api/projects")
    assert got.status_code == 200, got.text
    listed = {p["code"]: p for p in got.json()}
    assert all("site_parcels" in p for p in listed.values())
    assert listed[three["bare"]]["site_parcels"] is None and listed[three["bare"]]["site"] is None
    assert listed[three["before"]]["site_parcels"] is None
    assert listed[three["before"]]["site"]["type"] == "Polygon"
    assert _names(listed[three["kept"]]["site_parcels"]) == NAMES
    for code, project in listed.items():
        shown = api.get(f"/api/projects/{code}").json()
        assert shown["site_parcels"] == project["site_parcels"]

    schema = api.get("/openapi.json").json()["components"]["schemas"]["ProjectOut"]
    assert "site_parcels" in schema["required"]  # never left out: always read
    said = schema["properties"]["site_parcels"]["description"]
    assert "no site" in said and "0017_project_parcels" in said and "Null exactly" in said


def test_the_cli_json_says_null_only_for_no_site_or_none_kept(
        store: Store, three: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:


    cli_json = json_cli(store, monkeypatch)
    listed = {p["code"]: p for p in cli_json("projects", "list")}
    assert sorted(listed) == sorted(three.values())
    assert all("site_parcels" in p for p in listed.values())
    assert listed[three["bare"]]["site_parcels"] is None
    assert listed[three["before"]]["site_parcels"] is None
    assert listed[three["before"]]["site"]["type"] == "Polygon"
    assert _names(listed[three["kept"]]["site_parcels"]) == NAMES
    for code, project in listed.items():
        assert cli_json("projects", "show", code)["site_parcels"] == project["site_parcels"]
