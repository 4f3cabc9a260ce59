"""The CLI's ``--format json`` says what the API says of the same object (one serialisation):
``projects list/show`` lacked ``key`` and ``preliminary_opinions``, ``users list`` lacked
``role_zh``, ``quota balances`` left ``available_mu`` out when it was null; ``projects show``
gave the report's text alone, the rounds' ids and ``stale`` beside them. Both engines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from projects_support import (  # noqa: F401  (city)
    SITES,
    STAFF,
    city,
    dept_user,
    park_project,
    site,
)
from typer.testing import CliRunner

from blueprint.analysis.consultation import add_department, answer, remove_department, start_round
from blueprint.analysis.projects import create_project, vet_project
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.cli import app
from tests.test_pages import _client
from tests.test_project_pages_reading import _revised_redline

PASSWORD = "a-long-password-1"


def test_cli_json_equals_the_apis(city: Store, tmp_path: Path,  # noqa: F811
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    token = create_user("市局管理员", "admin", None, store=city, actor="t", password=PASSWORD)
    api = {"Authorization": f"Bearer {token}"}
    code = create_project(park_project(), user=STAFF, store=city,
                          site=site("01_park_clean.txt")).code
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))

    def cli(*args: str) -> object:
        result = CliRunner().invoke(app, [*args, "--format", "json"])
        assert result.exit_code == 0, (result.output, result.exception)
        return json.loads(result.stdout)

    with _client(city, tmp_path) as client:
        def get(path: str) -> object:
            answer = client.get(path, headers=api)
            assert answer.status_code == 200, answer.text
            return answer.json()

        listed, api_listed = cli("projects", "list"), get("/api/projects")
        shown, api_shown = cli("projects", "show", code), get(f"/api/projects/{code}")
        users, api_users = cli("users", "list"), get("/api/users")
        balances, api_balances = cli("quota", "balances"), get("/api/quota/balances")
    assert isinstance(listed, list) and isinstance(api_listed, list)
    [one], [api_one] = listed, api_listed
    assert one["code"] == code and "is_key" in one["key"]
    for key in ("key", "code", "name", "county", "stage"):
        assert one[key] == api_one[key], key
    assert isinstance(shown, dict) and isinstance(api_shown, dict)
    assert shown["key"] == api_shown["key"]
    assert shown["preliminary_opinions"] == api_shown["preliminary_opinions"] == []
    assert isinstance(users, list) and isinstance(api_users, list)
    assert {u["name"]: u["role_zh"] for u in users} == \
        {u["name"]: u["role_zh"] for u in api_users}
    assert {u["name"]: u["role_zh"] for u in users}["市局管理员"] == "系统管理员"
    assert isinstance(balances, list) and isinstance(api_balances, list)
    assert [set(b) for b in balances] == [set(b) for b in api_balances]
    assert any(b["available_mu"] is None for b in balances)
    # the whole of each the same
    assert one == api_one
    assert users == api_users
    assert balances == api_balances


def _consulted(store: Store) -> tuple[str, int]:
    """A project vetted and consulted until the round agreed: 生态环境局 with a condition
    area across the site's edge, 招商 removed after it answered and added again (its first
    answer kept, not counted), then every department agreeing. Its code and round id."""
    import shapely

    park = site("01_park_clean.txt")
    code = create_project(park_project(), site=park, user=STAFF, store=store).code
    vet_project(code, user=STAFF, store=store)
    rnd = start_round(code, user=STAFF, store=store)
    answer(rnd.id, user=dept_user("invest"), answer="agree", text="同意。", store=store)
    remove_department(rnd.id, "invest", user=STAFF, reason="误删", store=store)
    add_department(rnd.id, "invest", user=STAFF, reason="恢复", store=store)
    minx, miny, maxx, maxy = park.geometry.bounds
    edge = shapely.box(maxx - 0.001, miny, maxx + 0.002, maxy)
    answer(rnd.id, user=dept_user("ee"), answer="conditional", text="西侧保留绿化隔离带。",
           condition=shapely.geometry.mapping(edge), store=store)
    for dept in sorted({a.department for a in rnd.active} - {"ee"}):
        answer(rnd.id, user=dept_user(dept), answer="agree", text="同意。", store=store)
    return code, rnd.id


def test_projects_show_json_is_the_apis_project(city: Store, tmp_path: Path,  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``projects show --format json`` printed the report's text alone (no id, verdict,
    vetting time or ``stale``), the rounds as their ids and ``stale`` beside them, where
    ``GET /api/projects/{code}`` has the stored report with ``stale`` in it and whole rounds
    (departments, answers, conditions): now the same document, of a project with a report,
    a round and a verdict made stale by a re-imported red line."""
    token = create_user("市局管理员", "admin", None, store=city, actor="t", password=PASSWORD)
    code, round_id = _consulted(city)
    import_layer(_revised_redline(tmp_path),
                 ImportOptions(kind="ecological_redline", name="ecological_redline"),
                 store=city)
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))
    result = CliRunner().invoke(app, ["projects", "show", code, "--format", "json"])
    assert result.exit_code == 0, (result.output, result.exception)
    shown = json.loads(result.stdout)
    with _client(city, tmp_path) as client:
        answered = client.get(f"/api/projects/{code}",
                              headers={"Authorization": f"Bearer {token}"})
    assert answered.status_code == 200, answered.text
    api_shown = answered.json()
    assert "stale" not in shown and shown["report"]["stale"] is True
    assert shown["report"]["verdict"] == "pass" and shown["report"]["vetted_by"] == "nr_city"
    [rnd] = shown["rounds"]
    assert (rnd["id"], rnd["status"], rnd["status_zh"]) == (round_id, "agreed", "会商通过")
    invest = next(d for d in rnd["departments"] if d["department"] == "invest")
    assert invest["removed_at"] is not None
    assert [o["counted"] for o in invest["opinions"]] == [False, True]
    ee = next(d for d in rnd["departments"] if d["department"] == "ee")
    [condition] = [o["condition"] for o in ee["opinions"]]
    assert condition["type"] == "Polygon"
    assert {o["department"] for o in shown["preliminary_opinions"]} == \
        {d["department"] for d in rnd["departments"]}
    assert set(shown) == set(api_shown)
    assert shown == api_shown


def _shape(value: object) -> object:
    """What a JSON document holds, its values left out: each object's keys (with the shape
    of what each holds), each array's length and items, each value's JSON type."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def test_consult_and_vet_json_are_the_apis_answers(city: Store, tmp_path: Path,  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``consult start/add-dept/remove-dept/close --format json`` printed a shorter round
    than the API's (each department's code, deadline, removed and current answer alone: no
    name_zh, how, why, removed_at, deadline_provisional or opinions), ``consult answer`` the
    condition as true/false where the API gives the area as GeoJSON, and ``projects vet``
    the report's text alone where ``POST /api/projects/{code}/vet`` answers the stored
    report (id, verdict, stale, when, by whom). Now each is the API's answer: the very
    document ``GET`` then gives of the same round or project, and of the same shape as the
    API's answer to the same act on a twin project (the same site, the same acts)."""
    import shapely

    admin = create_user("市局管理员", "admin", None, store=city, actor="t", password=PASSWORD)
    tokens = {dept: create_user(f"dept_{dept}", "department", None, department=dept,
                                store=city, actor="t")
              for dept in ("nr", "ee", "drc", "water", "forestry", "housing", "transport",
                           "industry", "invest", "approval")}
    park = site("01_park_clean.txt")
    mine, twin = (create_project(park_project(), site=park, user=STAFF, store=city).code
                  for _ in range(2))
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))

    def cli(*args: str) -> dict[str, Any]:
        result = CliRunner().invoke(app, [*args, "--format", "json"])
        assert result.exit_code == 0, (args, result.output, result.exception)
        said = json.loads(result.stdout)
        assert isinstance(said, dict)
        return said

    with _client(city, tmp_path) as client:
        def api(path: str, body: dict[str, Any] | None = None, *, token: str = admin,
                status: int = 200) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"}
            answered = client.get(path, headers=headers) if body is None else \
                client.post(path, json=body, headers=headers)
            assert answered.status_code == status, answered.text
            said = answered.json()
            assert isinstance(said, dict)
            return said

        vetted = cli("projects", "vet", mine)
        api_vetted = api(f"/api/projects/{twin}/vet", {})
        assert vetted == api(f"/api/projects/{mine}")["report"]
        assert (vetted["verdict"], vetted["stale"], vetted["site_version"]) == ("pass", False, 1)
        assert vetted["report"]["verdict_zh"] == api_vetted["report"]["verdict_zh"] == "通过"
        assert _shape(vetted) == _shape(api_vetted)
        api(f"/api/projects/{mine}/vet", {})  # the twin's report: vetted as often as mine

        started = cli("consult", "start", mine)
        api_started = api(f"/api/projects/{twin}/rounds", {}, status=201)
        rid, twin_rid = started["id"], api_started["id"]
        assert started == api(f"/api/rounds/{rid}")
        assert started["report_id"] == api(f"/api/projects/{mine}")["report"]["id"]
        ee = next(d for d in started["departments"] if d["department"] == "ee")
        assert (ee["name_zh"], ee["how"], ee["opinions"]) == ("生态环境局", "rule", [])
        assert ee["why"] and isinstance(ee["deadline_provisional"], bool)
        assert _shape(started) == _shape(api_started)

        text = "西侧保留绿化隔离带。"
        said = cli("consult", "answer", str(rid), "--answer", "conditional", "--text", text,
                   "--user", "dept_ee", "--condition", str(SITES / "01_park_clean.txt"))
        api_said = api(f"/api/rounds/{twin_rid}/answers",
                       {"answer": "conditional", "text": text,
                        "condition": shapely.geometry.mapping(park.geometry)},
                       token=tokens["ee"], status=201)
        [stored] = next(d["opinions"] for d in api(f"/api/rounds/{rid}")["departments"]
                        if d["department"] == "ee")
        assert said == stored
        assert (said["answer_zh"], said["text"], said["counted"]) == ("有条件同意", text, True)
        area = shapely.geometry.shape(said["condition"])  # the file's area, as the API's
        assert area.symmetric_difference(park.geometry).area < 1e-12 * park.geometry.area
        assert area.equals(shapely.geometry.shape(api_said["condition"]))
        assert _shape(said) == _shape(api_said)

        reason = {"reason": "误删"}
        removed = cli("consult", "remove-dept", str(rid), "invest", "--reason", "误删")
        api_removed = api(f"/api/rounds/{twin_rid}/departments/invest/remove", reason)
        assert removed == api(f"/api/rounds/{rid}")
        invest = next(d for d in removed["departments"] if d["department"] == "invest")
        assert invest["removed"] is True and invest["removed_reason"] == "误删"
        assert _shape(removed) == _shape(api_removed)

        added = cli("consult", "add-dept", str(rid), "invest", "--reason", "恢复")
        api_added = api(f"/api/rounds/{twin_rid}/departments",
                        {"department": "invest", "reason": "恢复"})
        assert added == api(f"/api/rounds/{rid}")
        invest = next(d for d in added["departments"] if d["department"] == "invest")
        assert invest["removed"] is False and invest["removed_at"] is not None
        assert _shape(added) == _shape(api_added)

        cli("consult", "answer", str(rid), "--answer", "disagree", "--text", "不同意。",
            "--user", "dept_nr")
        api(f"/api/rounds/{twin_rid}/answers", {"answer": "disagree", "text": "不同意。"},
            token=tokens["nr"], status=201)
        closed = cli("consult", "close", str(rid), "--outcome", "revise", "--reason", "调整选址")
        api_closed = api(f"/api/rounds/{twin_rid}/close",
                         {"outcome": "revise", "reason": "调整选址"})
        assert closed == api(f"/api/rounds/{rid}")
    assert (closed["status"], closed["close_reason"]) == (api_closed["status"], "调整选址")
    assert closed["closed_at"] is not None
    assert _shape(closed) == _shape(api_closed)


def test_inbox_and_overdue_json_are_the_apis(city: Store, tmp_path: Path,  # noqa: F811
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``consult inbox`` and ``consult overdue --format json`` printed the core's rows
    without ``deadline_provisional``, which the API's response models added: now both call
    json_view's inbox_json and overdue_json. A round started on 28 December 2026 (five
    working days reach 5 January 2027, a year the calendar package has no notice for yet:
    provisional), read on 20 January 2027 with 生态环境局 unanswered and overdue."""
    from datetime import UTC, datetime

    from projects_api_support import Clock

    clock = Clock(monkeypatch, datetime(2026, 12, 28, 2, 0, tzinfo=UTC))
    admin = create_user("市局管理员", "admin", None, store=city, actor="t", password=PASSWORD)
    ee = create_user("dept_ee", "department", None, department="ee", store=city, actor="t")
    code = create_project(park_project(), site=site("01_park_clean.txt"), user=STAFF,
                          store=city).code
    vet_project(code, user=STAFF, store=city)
    rnd = start_round(code, user=STAFF, store=city)
    answer(rnd.id, user=dept_user("nr"), answer="agree", text="同意。", store=city)
    clock.at = datetime(2027, 1, 20, 2, 0, tzinfo=UTC)
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))

    def cli(*args: str) -> Any:
        result = CliRunner().invoke(app, [*args, "--format", "json"])
        assert result.exit_code == 0, (args, result.output, result.exception)
        return json.loads(result.stdout)

    inbox, overdue = cli("consult", "inbox", "--user", "dept_ee"), cli("consult", "overdue")
    with _client(city, tmp_path) as client:
        def get(path: str, token: str) -> Any:
            answered = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert answered.status_code == 200, answered.text
            return answered.json()

        api_inbox = get("/api/consultation/inbox", ee)
        api_overdue = get("/api/consultation/overdue", admin)
    mine = next(r for r in inbox if r["round_id"] == rnd.id)
    assert (mine["deadline"], mine["deadline_provisional"], mine["overdue"]) == \
        ("2027-01-05", True, True)
    assert [r["round_id"] for r in overdue["ee"]].count(rnd.id) == 1
    assert rnd.id not in [r["round_id"] for r in overdue.get("nr", [])]  # it answered
    assert all(r["deadline_provisional"] is True for rows in overdue.values() for r in rows
               if r["round_id"] == rnd.id)
    assert inbox == api_inbox
    assert overdue == api_overdue
