"""A project's whole life over HTTP on both engines, with balances read through the quota
API and the audit rows through ``/api/audit``:

create (vetted at once) → round 1 with a 不同意 → revise → round 2 all agree, one with a
condition area → 储备 with 预审意见 → quota held and allocated → 签约 → 开工 → exit with its
quotas reclaimed. Also: errors (409 in two languages, 404, 503 for a year the holiday
calendar does not cover) and the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import shapely
from projects_api_support import DCF, PROJECT, T0, Api, Clock, city_api, geojson

DEPARTMENTS = {"nr", "ee", "drc", "industry", "invest"}


@pytest.fixture
def api(engine_name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[tuple[Api, Clock]]:
    yield from city_api(engine_name, tmp_path, monkeypatch)


def _available(api: Api, kind: str) -> Decimal:
    rows = api.ok("quota_city", "GET", "/quota/balances", kind=kind, county=DCF, year=2026)
    (county,) = [r for r in rows if r["account"] == f"county:{DCF}"]
    return Decimal(str(county["available"]))


class Audit:
    """The project's audit rows via the API, handing out the new ones since the last look."""

    def __init__(self, api: Api, code: str) -> None:
        self.api, self.code, self.seen = api, code, 0

    def new(self) -> list[str]:
        """The new rows' actions; each of them, as the filter ``action``, finds exactly
        the project's rows of that action (an action the code writes is never refused as
        unknown: ``GET /api/audit?action=`` takes only those the audit log may hold)."""
        rows = self.api.ok("admin", "GET", "/audit", project=self.code)
        fresh, self.seen = rows[self.seen:], len(rows)
        assert all(r["project"] == self.code and r["actor"] for r in fresh)
        for action in {r["action"] for r in fresh}:
            same = self.api.ok("admin", "GET", "/audit", project=self.code, action=action)
            assert [r["id"] for r in same] == [r["id"] for r in rows if r["action"] == action]
        return [r["action"] for r in fresh]


def _quota(api: Api, path: str, key: str, **body: Any) -> Any:
    answer = api.client.post(f"/api/quota{path}", json={"year": 2026, "county": DCF,
                                                        "reason": "储备项目配置指标"} | body,
                             headers={"Authorization": f"Bearer {api.tokens['quota_city']}",
                                      "Idempotency-Key": key})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _answer(api: Api, round_id: int, dept: str, answer: str = "agree", text: str = "同意。",
            condition: Any = None) -> Any:
    return api.ok(f"dept_{dept}", "POST", f"/rounds/{round_id}/answers",
                  {"answer": answer, "text": text, "condition": condition})


def test_a_whole_life_over_http(api: tuple[Api, Clock]) -> None:
    api_, clock = api
    land0, energy0 = _available(api_, "new_construction_land"), _available(api_, "energy")
    created = api_.ok("nr_dcf", "POST", "/projects",
                      PROJECT | {"site": geojson("02_redline_conflict.txt")})
    code = created["code"]
    audit = Audit(api_, code)
    assert code == "LC-2026-0001" and created["stage"] == "planned"
    assert created["key"]["is_key"]  # attracted, ≥ 5 亿元
    assert audit.new() == ["project.create", "project.vet"]
    assert api_.ok("viewer", "GET", f"/projects/{code}")["report"]["verdict"] == "fail"

    # round 1: natural resources disagree; the round stays open until staff close it
    r1 = api_.ok("nr_dcf", "POST", f"/projects/{code}/rounds", {})
    assert {d["department"] for d in r1["departments"]} == DEPARTMENTS
    assert {d["deadline"] for d in r1["departments"]} == {"2026-03-09"}
    assert [i["project"] for i in api_.ok("dept_ee", "GET", "/consultation/inbox")] == [code]
    _answer(api_, r1["id"], "nr", "disagree", "地块约一半位于东昌湖生态保护红线内，不同意。")
    first = _answer(api_, r1["id"], "ee", "conditional", "须落实总量来源。")
    amended = _answer(api_, r1["id"], "ee")
    assert amended["amends_id"] == first["id"]
    for dept in ("drc", "industry", "invest"):
        _answer(api_, r1["id"], dept)
    assert api_.ok("viewer", "GET", f"/rounds/{r1['id']}")["status"] == "open"
    assert audit.new() == ["project.stage", "round.start", "round.answer", "round.answer",
                           "round.amend", "round.answer", "round.answer", "round.answer"]
    api_.ok("nr_dcf", "POST", f"/rounds/{r1['id']}/close",
            {"outcome": "revise", "reason": "调整选址，避让生态保护红线"})
    assert audit.new() == ["project.stage", "round.rejected",
                           "tracking.problem"]  # the 不同意 is a tracking problem now

    # revise the site; a round is refused (409, both languages) until it is vetted again
    revised = api_.ok("nr_dcf", "POST", f"/projects/{code}/revise",
                      {"reason": "避让生态保护红线", "site": geojson("01_park_clean.txt")})
    assert revised["site_version"] == 2
    assert [s["project"] for s in api_.ok("viewer", "GET", "/projects/stale")] == [code]
    refused = api_.call("nr_dcf", "POST", f"/projects/{code}/rounds", {})
    assert refused.status_code == 409 and refused.json()["error"] == "illegal_transition"
    assert "vet" in refused.json()["message"] and "选址审查" in refused.json()["message_zh"]
    assert api_.ok("nr_dcf", "POST", f"/projects/{code}/vet")["verdict"] == "pass"
    assert api_.ok("viewer", "GET", "/projects/stale") == []
    assert audit.new() == ["project.revise", "project.vet"]

    # round 2 a week later: all agree, ecology with a condition area → 储备
    clock.at = T0 + timedelta(days=7)
    r2 = api_.ok("nr_dcf", "POST", f"/projects/{code}/rounds", {})
    assert r2["number"] == 2 and r2["site_version"] == 2
    minx, miny, maxx, maxy = shapely.geometry.shape(geojson("01_park_clean.txt")).bounds
    area = dict(shapely.geometry.mapping(shapely.box(minx, miny, minx + (maxx - minx) / 5,
                                                     maxy)))
    _answer(api_, r2["id"], "ee", "conditional", "西侧五分之一范围内不得布置排放口。", area)
    for dept in ("drc", "industry", "invest", "nr"):
        assert api_.ok("viewer", "GET", f"/projects/{code}")["stage"] == "consulting"
        _answer(api_, r2["id"], dept)
    detail = api_.ok("viewer", "GET", f"/projects/{code}")
    assert detail["stage"] == "reserve"
    assert [r["status"] for r in detail["rounds"]] == ["rejected", "agreed"]
    assert {o["department"] for o in detail["preliminary_opinions"]} == DEPARTMENTS
    (conditional,) = [o for o in detail["preliminary_opinions"] if o["condition"]]
    assert conditional["answer_zh"] == "有条件同意"
    assert shapely.geometry.shape(conditional["condition"]).equals_exact(
        shapely.geometry.shape(area), 1e-9)
    assert audit.new() == ["project.stage", "round.start"] + ["round.answer"] * 5 + [
        "tracking.problem.close",  # nr, who objected in round 1, agrees now: 销号
        "project.stage", "round.agreed"]

    # quota through the quota API: 12.6 ha held then allocated, 3000 tce of energy
    _quota(api_, "/holds", "life-hold", kind="land", project=code, amount="12.6")
    assert _available(api_, "new_construction_land") == land0 - Decimal("12.6")
    _quota(api_, "/allocations", "life-land", kind="land", project=code, amount="12.6")
    _quota(api_, "/allocations", "life-energy", kind="energy", project=code, amount="3000")
    assert _available(api_, "new_construction_land") == land0 - Decimal("12.6")
    assert _available(api_, "energy") == energy0 - 3000
    assert audit.new() == ["quota.hold", "quota.allocate", "quota.allocate"]

    # 签约, 开工; skipping a stage is 409 in English and Chinese
    api_.ok("nr_dcf", "POST", f"/projects/{code}/advance", {"to": "signed", "reason": "签约"})
    skip = api_.call("nr_dcf", "POST", f"/projects/{code}/advance",
                     {"to": "producing", "reason": "跳过开工"})
    assert skip.status_code == 409
    assert "cannot move to producing" in skip.json()["message"]
    assert "不能转为“投产”" in skip.json()["message_zh"]
    api_.ok("nr_dcf", "POST", f"/projects/{code}/advance", {"to": "started", "reason": "开工"})
    assert audit.new() == ["project.stage", "project.stage"]

    # exit: every quota back in the same transaction
    out = api_.ok("nr_dcf", "POST", f"/projects/{code}/exit", {"reason": "投资方不再实施"})
    assert out["project"]["stage"] == "exited" and out["reclaim"] is not None
    assert _available(api_, "new_construction_land") == land0
    assert _available(api_, "energy") == energy0
    # no problem left open to close: round 1's 不同意 was closed by round 2's agreement
    assert audit.new() == ["project.stage", "quota.reclaim", "project.reclaim"]
    history = api_.ok("viewer", "GET", f"/projects/{code}")["history"]
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "planned"), ("planned", "consulting"), ("consulting", "planned"),
        ("planned", "consulting"), ("consulting", "reserve"), ("reserve", "signed"),
        ("signed", "started"), ("started", "exited")]
    again = api_.call("nr_dcf", "POST", f"/projects/{code}/exit", {"reason": "再次调出"})
    assert again.status_code == 409 and "已调出" in again.json()["message_zh"]


def test_errors_map_to_http(api: tuple[Api, Clock]) -> None:
    api_, clock = api
    missing = api_.call("viewer", "GET", "/projects/LC-2026-9999")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert api_.call("nr_dcf", "POST", "/rounds/999/close",
                     {"outcome": "revise", "reason": "x"}).status_code == 404
    code = api_.ok("nr_dcf", "POST", "/projects",
                   PROJECT | {"site": geojson("01_park_clean.txt")})["code"]
    # 28 December 2027: five working days reach into 2028, two years past the calendar
    # package's last notice (2026) → 503, nothing changes
    clock.at = datetime(2027, 12, 28, 2, 0, tzinfo=UTC)
    late = api_.call("nr_dcf", "POST", f"/projects/{code}/rounds", {})
    assert late.status_code == 503 and late.json()["error"] == "calendar_unavailable"
    assert api_.ok("viewer", "GET", f"/projects/{code}")["stage"] == "planned"
    # 28 December 2026: five working days reach into 2027, the year after the last notice:
    # counted from the statutory holidays (元旦 1/1) and marked provisional
    clock.at = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)
    started = api_.call("nr_dcf", "POST", f"/projects/{code}/rounds", {})
    assert started.status_code in (200, 201), started.text
    deadlines = {a["deadline"]: a["deadline_provisional"]
                 for a in started.json()["departments"]}
    assert deadlines == {"2027-01-05": True}
    bad = api_.call("nr_dcf", "POST", "/projects", PROJECT | {"investment": "-1"})
    assert bad.status_code == 422
    assert api_.call(None, "GET", "/projects").status_code == 401


def test_an_exited_project_s_plan_is_refused_409(api: tuple[Api, Clock]) -> None:
    """A project taken out of the library (调出) is managed no more: a new tracking plan
    for it is 409 in English and Chinese, no plan stored (the plan is still none)."""
    api_, _ = api
    code = api_.ok("nr_dcf", "POST", "/projects",
                   PROJECT | {"site": geojson("01_park_clean.txt")})["code"]
    api_.ok("nr_dcf", "POST", f"/projects/{code}/exit", {"reason": "投资方不再实施"})
    plan = {"milestones": [{"kind": "start", "planned_on": "2026-05-01",
                            "responsible_unit": "住房和城乡建设局"}],
            "investment": {"2026-05": "500"}}
    refused = api_.call("nr_dcf", "PUT", f"/tracking/projects/{code}/plan", plan)
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"] == "illegal_transition" and body["where"] == "project"
    assert body["message_zh"] == f"项目“{code}”已调出项目库，不能制定跟踪计划（倒排工期）"
    assert "has exited the library" in body["message"]
    assert api_.call("viewer", "GET", f"/tracking/projects/{code}/plan").status_code == 404


def test_the_openapi_document_describes_the_new_endpoints(api: tuple[Api, Clock]) -> None:
    api_, _ = api
    doc = api_.client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for name in ("ProjectIn", "ProjectOut", "ProjectDetailOut", "RoundOut", "AnswerIn",
                 "DecideIn", "AuditOut", "InboxOut"):
        assert name in schemas, name
    answer = doc["paths"]["/api/rounds/{round_id}/answers"]["post"]
    assert answer["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AnswerIn")


def test_a_vetting_overtaken_by_a_revision_is_409(api: tuple[Api, Clock],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Another user revises the project's industry while its site is vetted
    (``POST /api/projects/{code}/vet``): the report, of the industry that is no more, is
    refused with nothing stored. It was 422 (a ``BadInput``, as if the request were
    wrong): it is a conflict with another's write, 409 as 项目已被他人修改 is, the Chinese
    message kept. Vetted again, it is stored. The OpenAPI document lists the 409."""
    from projects_support import park_project

    from blueprint.analysis.projects import latest_report, revise_project
    from blueprint.analysis.projects import reports as vetting
    from blueprint.layers.users import User

    api_, _ = api
    code = api_.ok("nr_dcf", "POST", "/projects",
                   PROJECT | {"site": geojson("01_park_clean.txt")})["code"]
    stored = latest_report(code, store=api_.store)
    real = vetting.vet_only

    def revised_meanwhile(project: Any, **kwargs: Any) -> Any:
        done = real(project, **kwargs)  # the vetting read the industrial project …
        revise_project(code, user=User("nr_dcf", "nr_staff", DCF), store=api_.store,
                       reason="改为物流仓储", data=park_project(industry="logistics"))
        return done  # … now a logistics one

    monkeypatch.setattr(vetting, "vet_only", revised_meanwhile)
    refused = api_.call("nr_dcf", "POST", f"/projects/{code}/vet")
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert (body["error"], body["where"], body["message_zh"]) == (
        "conflict", "project", "审查期间项目已修改，请重新审查"), body
    assert "was revised while it was vetted" in body["message"]
    assert latest_report(code, store=api_.store) == stored  # nothing stored
    monkeypatch.setattr(vetting, "vet_only", real)
    again = api_.ok("nr_dcf", "POST", f"/projects/{code}/vet")
    assert again["report"]["industry"] == "logistics"
    assert stored is not None and stored.report["industry"] == "industrial"
    assert latest_report(code, store=api_.store).id == again["id"] != stored.id
    doc = api_.client.get("/openapi.json").json()
    assert "409" in doc["paths"]["/api/projects/{code}/vet"]["post"]["responses"]
