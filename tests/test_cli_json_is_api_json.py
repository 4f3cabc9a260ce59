"""The CLI's ``--format json`` says what the API says of the same object (one serialisation):
``projects list/show`` lacked ``key`` and ``preliminary_opinions``, ``users list`` lacked
``role_zh``, ``quota balances`` left ``available_mu`` out when it was null; ``projects show``
gave the report's text alone, the rounds' ids and ``stale`` beside them. Both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from projects_support import (  # noqa: F401  (city)
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
