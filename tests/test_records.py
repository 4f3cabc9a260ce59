"""Records a bureau can trust (issue 12): append-only history tables, users whose identity
cannot be edited behind the code's back, and the audit log's hash chain, which
``audit verify`` checks. Both engines."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import pytest
import sqlalchemy as sa
from projects_support import STAFF, T0, city, dept_user, park_project, site

from blueprint.analysis.consultation import answer, start_round
from blueprint.analysis.projects import create_project, vet_project
from blueprint.layers.audit import verify_audit
from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import create_user, disable_user, list_users

__all__ = ["city"]


def _history(store: Store) -> str:
    code = create_project(park_project(), site=site("01_park_clean.txt"), user=STAFF,
                          store=store, at=T0).code
    vet_project(code, user=STAFF, store=store, at=T0)
    rnd = start_round(code, user=STAFF, store=store, at=T0)
    answer(rnd.id, user=dept_user("nr"), answer="agree", text="同意", store=store)
    return code


REFUSED = [
    "UPDATE audit_log SET actor = 'someone else'",
    "DELETE FROM audit_log",
    "UPDATE project_stages SET reason = 'edited'",
    "DELETE FROM project_stages",
    "UPDATE project_sites SET name = 'edited'",
    "UPDATE project_reports SET verdict = 'pass'",
    "DELETE FROM project_reports",
    "UPDATE opinions SET answer = 'disagree'",
    "DELETE FROM opinions",
    "UPDATE users SET role = 'admin'",
    "UPDATE users SET county = '371521'",
    "DELETE FROM users",
]


def test_records_refuse_edits(city: Store) -> None:
    """One store with a history (loading the sample city is slow), every edit tried."""
    _history(city)
    create_user("王科长", "county_quota_manager", "371502", store=city, actor="test")
    for statement in REFUSED:
        table = statement.split()[2 if statement.startswith("DELETE") else 1]
        count = f"SELECT count(*) FROM {table}"
        with city.engine.connect() as conn:
            before = conn.execute(sa.text(count)).scalar()
        assert before, table
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with city.engine.begin() as conn:
                conn.execute(sa.text(statement))
        with city.engine.connect() as conn:
            assert conn.execute(sa.text(count)).scalar() == before
    assert verify_audit(store=city).ok


def test_users_change_through_the_code_with_an_audit_row(store: Store) -> None:
    create_user("王科长", "viewer", None, store=store, actor="test")
    disable_user("王科长", store=store, actor="test")
    assert [u.active for u in list_users(store=store)] == [False]
    with store.engine.begin() as conn:  # the code's columns are not frozen
        conn.execute(sa.text("UPDATE users SET active = true"))
    with store.engine.connect() as conn:
        actions = conn.execute(sa.text("SELECT action FROM audit_log ORDER BY id")).scalars()
        assert list(actions) == ["user.create", "user.disable"]


def _write(store: Store, n: int, actor: str = "test") -> None:
    for i in range(n):
        with store.engine.begin() as conn:
            write_audit(conn, actor=actor, action="test.write", obj=f"thing:{i}",
                        detail={"i": i, "text": "审查意见"})


def _drop_triggers(store: Store) -> None:
    """What an attacker with database access does first."""
    with store.engine.begin() as conn:
        if store.engine.dialect.name == "postgresql":
            conn.execute(sa.text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))


def test_the_chain_holds_and_names_the_last_hash(store: Store) -> None:
    assert verify_audit(store=store).ok and verify_audit(store=store).rows == 0
    _write(store, 5)
    check = verify_audit(store=store)
    assert (check.ok, check.rows, len(check.last_hash)) == (True, 5, 64)
    assert verify_audit(store=store, expect_last=check.last_hash).ok
    # as pasted back from a mail: spaces around it, in capitals
    assert verify_audit(store=store, expect_last=f" {check.last_hash.upper()}\n").ok


@pytest.mark.parametrize("kept", ["abc", "", "g" * 64, "0" * 63, "0" * 65])
def test_a_kept_hash_that_is_no_hash_is_refused_not_called_rows_cut_off(
        store: Store, kept: str) -> None:
    """A --last-hash cut short in a copy, or some other value, had been reported as
    problem "truncated" (审计日志末尾的记录缺失, exit 1): a false alarm of tampering."""
    _write(store, 2)
    with pytest.raises(BadInput) as refused:
        verify_audit(store=store, expect_last=kept)
    assert refused.value.where == "last_hash" and "64 位十六进制数" in refused.value.message_zh


def test_an_edited_row_is_caught(store: Store) -> None:
    _write(store, 5)
    _drop_triggers(store)
    with store.engine.begin() as conn:
        third = conn.execute(sa.text("SELECT id FROM audit_log ORDER BY id")).scalars().all()[2]
        conn.execute(sa.text("UPDATE audit_log SET detail = :d WHERE id = :id"),
                     {"d": '{"i": 2, "text": "同意"}', "id": third})
    check = verify_audit(store=store)
    assert (check.ok, check.broken_id, check.problem) == (False, third, "edited")
    assert f"第 {third} 条" in check.message_zh


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(store: Store) -> None:
    from blueprint.layers.audit_chain import row_hash
    from blueprint.layers.schema import audit_log

    _write(store, 4)
    _drop_triggers(store)
    with store.engine.begin() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()
        second = rows[1]
        forged = row_hash(second.prev_hash, at=second.at, actor="someone else",
                          action=second.action, obj=second.object, project=second.project,
                          detail=second.detail)
        conn.execute(sa.text("UPDATE audit_log SET actor = 'someone else', hash = :h "
                             "WHERE id = :id"), {"h": forged, "id": second.id})
    check = verify_audit(store=store)
    assert (check.ok, check.broken_id, check.problem) == (False, rows[2].id, "missing")


def test_a_deleted_row_is_caught_and_a_cut_tail_with_the_kept_hash(store: Store) -> None:
    _write(store, 6)
    kept = verify_audit(store=store).last_hash
    _drop_triggers(store)
    with store.engine.begin() as conn:
        ids = conn.execute(sa.text("SELECT id FROM audit_log ORDER BY id")).scalars().all()
        conn.execute(sa.text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[3]})
    check = verify_audit(store=store)
    assert (check.ok, check.broken_id, check.problem) == (False, ids[4], "missing")
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_log WHERE id >= :id"), {"id": ids[3]})
    assert verify_audit(store=store).ok  # the chain alone cannot see a cut-off end …
    cut = verify_audit(store=store, expect_last=kept)  # … the kept last hash can
    assert (cut.ok, cut.problem) == (False, "truncated")


def test_concurrent_writers_keep_one_chain(store: Store) -> None:
    threads = [threading.Thread(target=_write, args=(store, 10, f"writer{i}"))
               for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check = verify_audit(store=store)
    assert (check.ok, check.rows) == (True, 60)


def test_audit_verify_command(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from blueprint.service.cli import app

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    _write(store, 3)
    runner = CliRunner()
    whole = runner.invoke(app, ["audit", "verify"])
    assert whole.exit_code == 0, whole.output
    kept = json.loads(whole.stdout)
    assert (kept["ok"], kept["rows"]) == (True, 3)
    listed = runner.invoke(app, ["audit", "--format", "json"])  # the listing is still there
    assert [r["object"] for r in json.loads(listed.stdout)] == [f"thing:{i}" for i in range(3)]
    _drop_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'x' WHERE object = 'thing:1'"))
    broken = runner.invoke(app, ["audit", "verify", "--last-hash", kept["last_hash"]])
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["problem"] == "edited"
    assert "被修改过" in json.loads(broken.stdout)["message_zh"]


# ----- identity: tokens that expire, the CLI's OS user on record -----

def test_expired_or_disabled_tokens_get_401_over_http(store: Store) -> None:
    from fastapi.testclient import TestClient

    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings

    fresh = create_user("fresh", "viewer", None, store=store, actor="test")
    stale = create_user("stale", "viewer", None, store=store, actor="test", token_days=-1 / 24)
    gone = create_user("gone", "viewer", None, store=store, actor="test")
    disable_user("gone", store=store, actor="test")
    app = create_app(Settings(database_url=store.database_url, data_dir=store.data_dir))
    with TestClient(app) as client:
        def get(token: str) -> object:
            return client.get("/api/quota/balances",
                              headers={"Authorization": f"Bearer {token}"})
        assert get(fresh).status_code == 200  # type: ignore[attr-defined]
        expired = get(stale)
        assert expired.status_code == 401  # type: ignore[attr-defined]
        assert "过期" in expired.text  # type: ignore[attr-defined]
        assert get(gone).status_code == 401  # type: ignore[attr-defined]


def test_token_expiry_follows_the_setting_and_the_cli_records_the_os_user(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass
    import json
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from typer.testing import CliRunner

    from blueprint.layers.audit import read_audit
    from blueprint.layers.users import token_expiry
    from blueprint.service.cli import app

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    monkeypatch.setenv("BLUEPRINT_ACTOR", "王主任")
    monkeypatch.setenv("BLUEPRINT_TOKEN_DAYS", "30")
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "李四", "--role", "viewer"])
    assert added.exit_code == 0, added.output
    expires = token_expiry("李四", store=store)
    assert expires is not None
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)
    beijing = expires.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert f"令牌有效期至 {beijing}（北京时间）" in added.stderr  # not the machine's zone
    monkeypatch.setenv("BLUEPRINT_TOKEN_DAYS", "7")
    rotated = runner.invoke(app, ["users", "rotate-token", "李四"])
    assert rotated.exit_code == 0 and "令牌有效期至" in rotated.stderr
    assert token_expiry("李四", store=store) < expires  # type: ignore[operator]
    rows = read_audit(store=store)
    assert [r.actor for r in rows] == ["王主任", "王主任"]
    assert {json.dumps(r.detail["origin"], sort_keys=True) for r in rows} == {json.dumps(
        {"via": "cli", "os_user": getpass.getuser(), "declared_actor": "王主任"},
        sort_keys=True)}
    create_user("direct", "viewer", None, store=store, actor="test")  # not through the CLI
    assert "origin" not in read_audit(store=store)[-1].detail
    assert "administrator's tool" in runner.invoke(app, ["--help"]).stdout


def test_superseded_layer_versions_cannot_change(store: Store, tmp_path) -> None:  # noqa: ANN001
    from helpers import box, frame, write

    from blueprint.layers.importer import ImportOptions, import_layer
    from blueprint.layers.repository import layer_history, list_layers, remove_layer

    for version, x in enumerate((0, 300)):
        path = write(frame([box(x, 0, 100, 100)], hxbh=[f"HX-{version}"]),
                     tmp_path / f"red{version}.gpkg")
        import_layer(path, ImportOptions(kind="ecological_redline", name="red"), store=store)
    old = layer_history("red", store=store)[0].id
    _all_refused(store, [f"UPDATE layers SET title = 'edited' WHERE id = {old}",
                         f"DELETE FROM layers WHERE id = {old}",
                         f"UPDATE layer_features SET klass = 'x' WHERE layer_id = {old}",
                         f"DELETE FROM layer_features WHERE layer_id = {old}"])
    current = layer_history("red", store=store)[-1].id
    _all_refused(store, [f"UPDATE layers SET title = 'edited' WHERE id = {current}",
                         f"UPDATE layers SET current = false WHERE id = {current}",  # no rename
                         f"UPDATE layers SET checksum = 'x', current = false, name = 'red@v2',"
                         f" superseded_at = imported_at WHERE id = {current}",
                         f"DELETE FROM layers WHERE id = {current}",
                         f"UPDATE layer_features SET klass = 'x' WHERE layer_id = {current}",
                         f"DELETE FROM layer_features WHERE layer_id = {current}"])
    if store.database_url:  # PostgreSQL: no TRUNCATE either
        _all_refused(store, [f"TRUNCATE {t} CASCADE" for t in ("layers", "layer_features")])
    assert [(v.version_number, v.current) for v in layer_history("red", store=store)] == [
        (1, False), (2, True)]
    remove_layer("red", store=store, actor="test")  # superseded: nothing is deleted
    assert list_layers(store=store) == []
    history = layer_history("red", store=store)
    assert [(v.version_number, v.current) for v in history] == [(1, False), (2, False)]
    assert history[1].superseded_at is not None and history[1].feature_count == 1
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM layer_features WHERE layer_id ="
                                    f" {current}")).scalar_one() == 1
    path = write(frame([box(600, 0, 100, 100)], hxbh=["HX-3"]), tmp_path / "red3.gpkg")
    import_layer(path, ImportOptions(kind="ecological_redline", name="red"), store=store)
    assert [v.version_number for v in layer_history("red", store=store)] == [1, 2, 3]
    assert [layer.version_number for layer in list_layers(store=store)] == [3]


def test_project_records_are_never_deleted_and_keep_their_identity(store: Store) -> None:
    """Projects, rounds, round departments and meeting items change state through the code
    (audited); in SQL their rows cannot be deleted nor their identity edited (0008)."""
    from blueprint.analysis.projects import exit_project

    code = _history(store)  # a vetted project, a round with its departments and an opinion
    with store.engine.connect() as conn:
        rnd = conn.execute(sa.text("SELECT id FROM consultation_rounds")).one()
    exit_project(code, user=STAFF, reason="投资意愿变更", store=store)  # state changes: allowed
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT stage FROM projects WHERE code = :c"),
                            {"c": code}).scalar_one() == "exited"
    refused = [f"UPDATE projects SET code = 'LC-2026-9999' WHERE code = '{code}'",
               f"UPDATE projects SET created_by = 'someone' WHERE code = '{code}'",
               f"UPDATE projects SET year = 2020 WHERE code = '{code}'",
               f"DELETE FROM projects WHERE code = '{code}'",
               f"UPDATE consultation_rounds SET started_by = 'x' WHERE id = {rnd.id}",
               f"DELETE FROM consultation_rounds WHERE id = {rnd.id}",
               f"UPDATE round_departments SET department = 'nr' WHERE round_id = {rnd.id}",
               f"DELETE FROM round_departments WHERE round_id = {rnd.id}"]
    _all_refused(store, refused)
    tables = ("projects", "consultation_rounds", "round_departments", "meeting_items")
    if store.database_url:
        _all_refused(store, [f"TRUNCATE {t} CASCADE" for t in tables])
    with store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM round_departments WHERE round_id ="
                                    f" {rnd.id}")).scalar_one() > 0
        triggers = _trigger_names(conn, bool(store.database_url))
    for table in tables:  # meeting items too (no row here to try)
        assert {f"{table}_no_delete", f"{table}_identity_fixed"} <= triggers


def _trigger_names(conn: sa.Connection, postgres: bool) -> set[str]:
    if postgres:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    return {r[0] for r in conn.execute(sa.text(query))}


def _all_refused(store: Store, statements: Iterable[str]) -> None:
    """Each statement, in its own transaction, is refused by an append-only trigger."""
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with store.engine.begin() as conn:
                conn.execute(sa.text(statement))
