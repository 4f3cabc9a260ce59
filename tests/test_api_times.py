"""Every moment in the API's JSON is RFC 3339 in UTC with ``Z``, on both engines: the
models wrote ``…Z`` while the layer catalogue, the stored reports' layer versions and the
tracking records wrote ``…+00:00``. One renderer (``service/api/responses.py``) writes
them all; this walks the main GET endpoints over a project with a round, a quota hold, a
plan, a monthly report with a problem, a dispatch and an adjustment."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from projects_api_support import DCF, PROJECT, T0, Api, Clock, city_api, geojson

# what looks like a moment: a date then a time of day
LOOKS_LIKE_A_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


@pytest.fixture
def api(engine_name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[tuple[Api, Clock]]:
    yield from city_api(engine_name, tmp_path, monkeypatch)


def moments(doc: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string of a JSON document that looks like a moment, with where it is
    (``at_cn`` fields are China time for display, documented so: left out)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if not str(key).endswith("_cn"):
                yield from moments(value, f"{path}.{key}")
    elif isinstance(doc, list):
        for value in doc:
            yield from moments(value, f"{path}[]")
    elif isinstance(doc, str) and LOOKS_LIKE_A_MOMENT.match(doc):
        yield path, doc


def _populate(api: Api) -> str:
    code = api.ok("nr_dcf", "POST", "/projects",
                  PROJECT | {"site": geojson("01_park_clean.txt")})["code"]
    round_ = api.ok("nr_dcf", "POST", f"/projects/{code}/rounds", {})
    api.ok("dept_ee", "POST", f"/rounds/{round_['id']}/answers",
           {"answer": "agree", "text": "同意。", "condition": None})
    hold = api.client.post("/api/quota/holds", headers={
        "Authorization": f"Bearer {api.tokens['quota_city']}", "Idempotency-Key": "times"},
        json={"year": 2026, "county": DCF, "reason": "储备项目配置指标", "kind": "land",
              "project": code, "amount": "1"})
    assert hold.status_code == 200, hold.text
    api.ok("admin", "PUT", f"/tracking/projects/{code}/plan", {
        "milestones": [{"kind": "start", "planned_on": "2026-04-01",
                        "responsible_unit": "住房和城乡建设局"}],
        "investment": {"2026-03": "10"}})
    api.ok("admin", "POST", f"/tracking/projects/{code}/reports", {
        "month": "2026-02", "investment": "5",
        "problems": [{"text": "缺少施工用水", "owner_unit": "水务局"}]})
    api.ok("admin", "POST", "/tracking/dispatches", {
        "held_on": "2026-03-01", "attendees": ["住房和城乡建设局"], "projects": [code],
        "decisions": "加快推进"})
    api.ok("admin", "POST", "/tracking/adjustments", {
        "quarter": "2026-Q1", "decided_on": "2026-03-01",
        "items": [{"project": code, "action": "replan", "reason": "调整计划"}]})
    return code


def test_every_moment_in_the_api_is_utc_with_z(api: tuple[Api, Clock]) -> None:
    api_, _clock = api
    code = _populate(api_)
    paths = ["/layers", "/layers/ecological_redline", "/projects", f"/projects/{code}",
             "/projects/stale", "/rounds/1", "/quota/balances", "/quota/movements",
             "/quota/loans", "/audit", "/tracking/projects", f"/tracking/projects/{code}/plan",
             f"/tracking/projects/{code}/reports", "/tracking/dispatches",
             "/tracking/adjustments", "/tracking/late?month=2026-02", "/tracking/problems",
             "/tracking/figures?month=2026-02"]
    found: dict[str, str] = {}
    for path in paths:
        answer = api_.call("admin", "GET", path)
        assert answer.status_code == 200, (path, answer.text)
        found.update((f"GET {path.split('?')[0]}{where}", text)
                     for where, text in moments(answer.json()))
    inbox = api_.call("dept_ee", "GET", "/consultation/inbox")
    found.update((f"inbox{where}", text) for where, text in moments(inbox.json()))
    wrong = {where: text for where, text in found.items() if not RFC3339_UTC.fullmatch(text)}
    assert wrong == {}
    seen = set(found)
    for where in ("GET /layers[].imported_at", f"GET /projects/{code}.created_at",
                  f"GET /projects/{code}.report.report.layers[].imported_at",
                  "GET /quota/movements[].at", "GET /audit[].at",
                  f"GET /tracking/projects/{code}/reports[].reported_at",
                  "GET /tracking/dispatches[].recorded_at", "GET /tracking/problems[].raised_at",
                  "GET /tracking/adjustments[].recorded_at"):
        assert where in seen, sorted(seen)  # the walk reached the moments it is about
    created = found[f"GET /projects/{code}.created_at"]
    assert datetime.fromisoformat(created) == T0  # the same moment, written with Z
    layer = datetime.fromisoformat(found["GET /layers[].imported_at"])
    assert layer.utcoffset() == timedelta(0) and layer <= datetime.now(UTC)


# a user's text that reads exactly as a moment with an offset (the old renderer wrote it
# back as 2025-12-31T16:00:00Z)
AS_TYPED = "2026-01-01T00:00:00+08:00"


def test_users_text_that_reads_as_a_moment_comes_back_as_typed(api: tuple[Api, Clock]) -> None:
    """A project's name and a department's opinion are the user's text, whatever they read
    as: the record, the list, the round and the audit log give them back as typed, while the
    records' own moments are in UTC with Z."""
    api_, _clock = api
    code = api_.ok("nr_dcf", "POST", "/projects", PROJECT | {
        "name": AS_TYPED, "site": geojson("01_park_clean.txt")})["code"]
    round_ = api_.ok("nr_dcf", "POST", f"/projects/{code}/rounds", {})
    [waiting] = [r for r in api_.ok("dept_ee", "GET", "/consultation/inbox")
                 if r["round_id"] == round_["id"]]
    assert waiting["name"] == AS_TYPED, waiting
    api_.ok("dept_ee", "POST", f"/rounds/{round_['id']}/answers",
            {"answer": "agree", "text": AS_TYPED, "condition": None})
    one = api_.ok("admin", "GET", f"/projects/{code}")
    assert one["name"] == AS_TYPED and RFC3339_UTC.fullmatch(one["created_at"]), one
    [listed] = [p for p in api_.ok("admin", "GET", "/projects") if p["code"] == code]
    assert listed["name"] == AS_TYPED and listed["created_at"] == one["created_at"]
    [opinion] = [o for d in api_.ok("admin", "GET", f"/rounds/{round_['id']}")["departments"]
                 for o in d["opinions"]]
    assert opinion["text"] == AS_TYPED and RFC3339_UTC.fullmatch(opinion["at"]), opinion
    rows = api_.ok("admin", "GET", f"/audit?project={code}")
    created = next(r for r in rows if r["action"] == "project.create")
    assert created["detail"]["after"]["name"] == AS_TYPED
    assert all(RFC3339_UTC.fullmatch(r["at"]) for r in rows), rows
    answered = next(r for r in rows if r["action"] == "round.answer")
    assert answered["detail"]["after"]["text"] == AS_TYPED, answered


def test_the_renderer_writes_text_as_given() -> None:
    """The renderer rewrites no string: text that reads as a moment (a user's) stays as
    sent; moments are written as moments where they are known to be (the core's iso_utc,
    the models' Moment). Not finite: null, as FastAPI's own serializer writes it."""
    from blueprint.service.api.responses import ApiJSONResponse

    sent = {"a": "2026-03-02T10:00:00+08:00", "b": "2026-03-02", "c": "2026-03-02 10:00:00",
            "d": "开会：2026-03-02T10:00:00+00:00", "e": ["2026-03-02T02:00:00.5+00:00"]}
    body = ApiJSONResponse(sent | {"h": float("nan")}).body
    assert json.loads(body) == sent | {"h": None}


def test_a_models_moment_is_written_in_utc_with_z() -> None:
    """A response model's moment (responses.Moment) is written in UTC with Z whatever it
    was given: naive (SQLite reads stored moments back so, in UTC), another offset, or the
    core's text."""
    from pydantic import TypeAdapter

    from blueprint.service.api.responses import Moment

    written = TypeAdapter(Moment)
    for given in (datetime(2026, 3, 2, 2, 0), datetime.fromisoformat("2026-03-02T10:00+08:00"),
                  "2026-03-02T02:00:00Z", "2026-03-02T02:00:00+00:00"):
        assert written.dump_json(written.validate_python(given)) == b'"2026-03-02T02:00:00Z"'


def test_moments_stored_naive_are_shown_in_utc_with_z(api: tuple[Api, Clock],
                                                      engine_name: str) -> None:
    """Audit rows and stored reports written on SQLite before moments were written with
    their offset hold naive text (UTC): the audit row's ``at`` and the layer stamps'
    ``imported_at`` (in a vetting's audit detail and in the stored report) are shown as the
    same moment with ``Z``, and so is any detail's moment by its key (a token's expiry in
    ``after``, a session's ``expires_at``); other text of a detail that merely looks like a
    time is not guessed at."""
    import sqlalchemy as sa

    from blueprint.layers.schema import audit_log, project_reports

    api_, _clock = api
    code = api_.ok("nr_dcf", "POST", "/projects",
                   PROJECT | {"site": geojson("01_park_clean.txt")})["code"]
    naive = "2026-03-01T01:00:00.500000"
    stamp = {"id": 1, "name": "zoning", "kind": "zoning", "version": 1, "imported_at": naive}
    with api_.store.engine.begin() as conn:
        conn.execute(sa.insert(audit_log).values(
            # naive on SQLite, as it was written there; PostgreSQL's column keeps the offset
            at=datetime(2026, 3, 1, 1, 0) if engine_name == "embedded" else
            datetime(2026, 3, 1, 1, 0, tzinfo=UTC),
            actor="nr_dcf", action="project.vet", object=f"project:{code}", project=code,
            detail=json.dumps({"layers": [stamp], "note": naive})))
        conn.execute(sa.insert(audit_log).values(  # any detail's moments, by their keys
            at=datetime(2026, 3, 1, 1, 0, tzinfo=UTC), actor="admin", action="user.create",
            object="user:王科长", detail=json.dumps({
                "after": {"role": "department", "department": AS_TYPED,
                          "token_expires_at": naive},
                "expires_at": "2026-03-01T09:00:00.5+08:00", "reason": AS_TYPED})))
        old = conn.execute(sa.select(project_reports).order_by(
            project_reports.c.id.desc()).limit(1)).one()._asdict()
        report = json.loads(old["report"])
        report["layers"] = [{**s, "imported_at": naive} for s in report["layers"]]
        del old["id"]
        conn.execute(sa.insert(project_reports).values(
            old | {"report": json.dumps(report), "layers": json.dumps([stamp])}))
    row = api_.ok("admin", "GET", f"/audit?project={code}")[-1]
    assert row["at"] == "2026-03-01T01:00:00Z"
    assert row["detail"]["layers"][0]["imported_at"] == "2026-03-01T01:00:00.500000Z"
    assert row["detail"]["note"] == naive  # not known to be a moment: left as stored
    user = api_.ok("admin", "GET", "/audit?action=user.create")[-1]["detail"]
    assert user == {"after": {"role": "department", "department": AS_TYPED,
                              "token_expires_at": "2026-03-01T01:00:00.500000Z"},
                    "expires_at": "2026-03-01T01:00:00.500000Z", "reason": AS_TYPED}
    shown = api_.ok("admin", "GET", f"/projects/{code}")["report"]["report"]["layers"]
    assert shown and {s["imported_at"] for s in shown} == {"2026-03-01T01:00:00.500000Z"}
