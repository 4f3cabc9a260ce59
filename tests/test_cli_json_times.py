"""``--format json`` writes every moment as the API does, RFC 3339 in UTC with ``Z``, the
same text on both engines (SQLite reads stored moments back naive, in UTC: ``json.dumps
(default=str)`` had printed them as ``2026-12-02 00:02:13.403287`` there and ``… +00:00`` on
PostGIS; the core's dicts then wrote ``+00:00`` while the API wrote ``Z``). A user's text
that reads as a moment is printed as typed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from projects_support import SITES, city
from typer.testing import CliRunner

from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.cli import app

__all__ = ["city"]
RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
AS_TYPED = "2026-01-01T00:00:00+08:00"  # a project's name that reads as a moment


def test_users_list_json_times_are_iso_utc(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    before = datetime.now(UTC)
    create_user("王科长", "county_quota_manager", "371502", store=store, actor="test")
    done = CliRunner().invoke(app, ["users", "list", "--format", "json"])
    assert done.exit_code == 0, done.output
    [user] = json.loads(done.stdout)
    for field in ("created_at", "token_expires_at"):
        text = user[field]
        assert RFC3339_UTC.fullmatch(text), text
        assert datetime.fromisoformat(text).utcoffset() == timedelta(0), text
    assert before <= datetime.fromisoformat(user["created_at"]) <= datetime.now(UTC)


@pytest.fixture
def blueprint(city: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))
    monkeypatch.setenv("BLUEPRINT_ACTOR", "cli-operator")
    monkeypatch.setenv("COLUMNS", "250")  # rich tables: whole values on one line
    runner = CliRunner()

    def run(*args: str, format: str = "json") -> Any:
        done = runner.invoke(app, [*args, "--format", format])
        assert done.exit_code == 0, (args, done.output, done.exception)
        return json.loads(done.stdout) if format == "json" else done.stdout

    yield run


def test_printed_moments_end_with_z_as_the_apis(blueprint: Any) -> None:
    """The layer catalogue, the quota movements, a project (its stored report's layer stamps
    and stage history) and the audit log print their moments in UTC with Z; the project's
    name, which reads as a moment, is printed as typed, in the audit log too."""
    layers = blueprint("layers", "list")
    assert layers and all(RFC3339_UTC.fullmatch(x["imported_at"]) for x in layers), layers
    moves = blueprint("quota", "movements")
    assert moves and all(RFC3339_UTC.fullmatch(m["at"]) for m in moves), moves[:2]
    created = blueprint("projects", "create", "--name", AS_TYPED, "--county", "371502",
                        "--industry", "industrial", "--investment", "12.5", "--unit",
                        "聊城新材料有限公司", "--origin", "attracted", "--demand", "land=12.6",
                        "--site", str(SITES / "01_park_clean.txt"))
    code = created["code"]
    assert created["name"] == AS_TYPED and RFC3339_UTC.fullmatch(created["created_at"])
    shown = blueprint("projects", "show", code)
    assert shown["name"] == AS_TYPED and RFC3339_UTC.fullmatch(shown["created_at"]), shown
    assert RFC3339_UTC.fullmatch(shown["report"]["vetted_at"]), shown["report"]
    stamps = shown["report"]["report"]["layers"]  # the stored report's, as the API's
    assert stamps and all(RFC3339_UTC.fullmatch(s["imported_at"]) for s in stamps), stamps
    assert shown["history"] and all(RFC3339_UTC.fullmatch(h["at"]) for h in shown["history"])
    rows = blueprint("audit", "--project", code)
    assert rows and all(RFC3339_UTC.fullmatch(r["at"]) for r in rows), rows
    made = next(r for r in rows if r["action"] == "project.create")
    assert made["detail"]["after"]["name"] == AS_TYPED, made
    vetted = next(r for r in rows if r["action"] == "project.vet")
    assert all(RFC3339_UTC.fullmatch(s["imported_at"]) for s in vetted["detail"]["layers"])
    # the audit table shows moments in China time by their keys, a name as typed
    shown_table = blueprint("audit", "--project", code, format="table")
    assert f"名称：{AS_TYPED}" in shown_table, shown_table
    assert "2026-01-01 00:00" not in shown_table and "+00:00" not in shown_table
