"""The installed ``blueprint`` command exits with the status a command asks for: ``main``
runs the app without click's standalone mode (to print domain errors its own way), where
click returns a ``typer.Exit(N)`` code instead of exiting, and ``audit verify`` on a broken
or cut chain had exited 0 from the real command while ``CliRunner`` saw its 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from blueprint.layers.store import Store

REPO = Path(__file__).resolve().parent.parent


def _blueprint(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "BLUEPRINT_DATABASE_URL": store.database_url,
           "BLUEPRINT_DATA_DIR": str(store.data_dir)}
    return subprocess.run([sys.executable, "-m", "blueprint.service", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_audit_verify_exits_1_when_the_kept_hash_is_gone(store: Store) -> None:
    whole = _blueprint(store, "audit", "verify")
    assert whole.returncode == 0, whole.stderr
    assert json.loads(whole.stdout)["ok"] is True
    cut = _blueprint(store, "audit", "verify", "--last-hash", "0" * 64)
    assert json.loads(cut.stdout)["problem"] == "truncated"
    assert cut.returncode == 1, cut.stderr


def test_audit_of_an_action_no_code_writes_is_refused(store: Store) -> None:
    """``blueprint audit --action typo`` printed an empty table, as if nothing had happened;
    it is refused as ``GET /api/audit?action=typo`` is, naming the actions of its kind."""
    typo = _blueprint(store, "audit", "--action", "round.anwser")
    assert typo.returncode != 0 and typo.stdout == ""
    assert "没有操作类型“round.anwser”；round 类操作有：round.start、round.answer" in typo.stderr
    assert "--action" in typo.stderr
    found = _blueprint(store, "audit", "--action", "layer.import", "--format", "json")
    assert found.returncode == 0 and json.loads(found.stdout) == [], found.stderr
