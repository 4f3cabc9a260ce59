"""The typed vetting report: one model, one JSON form, valid against the API's own schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest
from fastapi.testclient import TestClient

from blueprint.analysis.report_geojson import report_geojson
from blueprint.analysis.report_schema import SiteOverlay, VetReport
from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.store import Store
from tests.conftest import SAMPLE
from tests.test_web import _client

SITES = SAMPLE / "sites"


@pytest.fixture
def client(sample_store: Store, tmp_path: Path) -> Iterator[TestClient]:
    with _client(sample_store, tmp_path) as test_client:
        yield test_client


def _validator(client: TestClient) -> jsonschema.Draft202012Validator:
    """A validator for the report schema the API shows in its OpenAPI document."""
    spec = client.get("/openapi.json").json()
    ok = spec["paths"]["/api/vet"]["post"]["responses"]["200"]["content"]["application/json"]
    root = {"$ref": ok["schema"]["$ref"], "components": spec["components"]}
    return jsonschema.Draft202012Validator(root)


def test_json_form_validates_against_the_openapi_schema(client, sample_store, store):
    schema = _validator(client)
    reports = []
    for name in ("05_water_source_l1.txt", "04_partly_outside_boundary.geojson",
                 "10_commercial_on_residential.geojson", "02_redline_conflict.txt"):
        for fmt in ("json", "geojson"):
            upload = {"file": (name, (SITES / name).read_bytes())}
            form = {"format": fmt, "industry": "commercial", "emissions": "SO2=100,NOx=0.1,COD=1"}
            answer = client.post("/api/vet/file", files=upload, data=form)
            assert answer.status_code == 200, answer.text
            reports.append(answer.json() if fmt == "json" else answer.json()["report"])
    site = read_site(SITES / "01_park_clean.txt")
    with_quota = vet_site(VetRequest(site=site, demands={"land": Decimal("12.6")}),
                          store=sample_store).to_json()
    empty = vet_site(VetRequest(site=site), store=store).to_json()  # missing-layer findings
    reports += [with_quota, empty]
    kinds = set()
    for report in reports:
        schema.validate(json.loads(json.dumps(report)))
        kinds |= {k for f in report["findings"] for k in f if f.get(k) is not None}
    assert {"by_level", "by_class_m2", "unsuitable_classes"} <= kinds
    assert "quota" in with_quota and all(f["layer"] is None for f in empty["findings"])
    # the schema could fail: an unknown key of the report, a status it does not know
    for key, value in (("_overlaps", []), ("findings", [{**with_quota["findings"][0],
                                                         "status": "maybe"}])):
        with pytest.raises(jsonschema.ValidationError):
            schema.validate({**json.loads(json.dumps(with_quota)), key: value})


def test_geometry_rides_along_but_stays_out_of_the_json_form(sample_store):
    report = vet_site(VetRequest(site=read_site(SITES / "02_redline_conflict.txt"),
                                 industry="commercial"), store=sample_store)
    assert isinstance(report, VetReport) and isinstance(report.overlay, SiteOverlay)
    assert report.overlay.geometry.equals(read_site(SITES / "02_redline_conflict.txt").geometry)
    assert {o.layer.name for o in report.overlay.overlaps} >= {"ecological_redline"}
    form = report.to_json()
    assert "overlay" not in form and "_overlaps" not in json.dumps(form, ensure_ascii=False)
    red = next(f for f in report.findings if f.kind == "ecological_redline")
    assert (red.status, red.status_zh, red.rule_zh) == ("conflict", "冲突", "不得占用生态保护红线")
    # the JSON form read back is the same report, without geometry to draw
    again = VetReport.model_validate(form)
    assert again.to_json() == form and again.overlay is None
    with pytest.raises(ValueError, match="no geometry"):
        report_geojson(again)
    assert report_geojson(report)["report"] == form


def test_optional_details_are_left_out_when_absent(sample_store):
    report = vet_site(VetRequest(site=read_site(SITES / "01_park_clean.txt")),
                      store=sample_store).to_json()
    assert "quota" not in report
    red = next(f for f in report["findings"] if f["kind"] == "ecological_redline")
    assert not {"by_level", "by_class_m2", "unsuitable_m2"} & set(red)
    assert list(red)[-2:] == ["status_zh", "rule_zh"]  # the JSON form's key order is kept


def test_site_summary_is_typed(sample_store):
    report = vet_site(VetRequest(site=read_site(SITES / "07_multi_parcel.txt")),
                      store=sample_store)
    assert report.site.parcels >= 2 and report.site.area_crs.startswith("EPSG:45")
    assert report.to_json()["site"] == report.site.model_dump()
    assert report.verdict_zh == {"pass": "通过", "conditional": "有条件通过",
                                 "fail": "不通过"}[report.verdict]
