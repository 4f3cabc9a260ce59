"""The CLI's ``--format json`` says what the API says of the same object (one serialisation):
``projects list/show`` lacked ``key`` and ``preliminary_opinions``, ``users list`` lacked
``role_zh``, ``quota balances`` left ``available_mu`` out when it was null. Both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from projects_support import STAFF, city, park_project, site  # noqa: F401  (city)
from typer.testing import CliRunner

from blueprint.analysis.projects import create_project
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.cli import app
from tests.test_pages import _client

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
    # the whole of each the same (the CLI's project has its row id besides)
    assert {k: v for k, v in one.items() if k != "id"} == api_one
    assert users == api_users
    assert balances == api_balances
