"""``--format json`` writes every moment as ISO 8601 with its UTC offset, the same text on
both engines: SQLite reads stored moments back naive (they were written in UTC), and
``json.dumps(default=str)`` had printed them as ``2026-12-02 00:02:13.403287`` there and
``… +00:00`` on PostGIS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.cli import app


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
        assert "T" in text and datetime.fromisoformat(text).utcoffset() == timedelta(0), text
    assert before <= datetime.fromisoformat(user["created_at"]) <= datetime.now(UTC)
