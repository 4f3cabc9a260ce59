"""A password someone else chose is changed by its user first, on both engines.

An administrator who sets a user's password (/users, ``POST /api/users/{name}/password``,
``blueprint users set-password --temporary``, ``users add --password-prompt --temporary``)
knows it. Until the user changes it on /account, their sign-in lands on /account, every
other signed-in page and form goes there (303) and does nothing, and the lists say 待本人修改;
the user's own change (current password asked) lifts it, with its audit row. A password a
user sets without ``--temporary`` (the operator's own, at install) asks nothing."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from blueprint.analysis.projects import list_projects
from blueprint.layers.audit import read_audit
from blueprint.layers.errors import BadInput
from blueprint.layers.sessions import session_user, sign_in
from blueprint.layers.store import Store
from blueprint.layers.users import (
    create_user,
    reset_password,
    rotate_token,
    set_password,
    user_info,
)
from tests.test_pages import DCF, SITE, _client, _csrf, _login

ADMIN, CLERK = "市局管理员", "县局科员小李"
PASSWORD, TEMPORARY, OWN = "admin-password-1", "temporary-pw-22", "only-mine-333"


@pytest.fixture
def people(store: Store) -> Store:
    create_user(ADMIN, "admin", None, store=store, actor="test", password=PASSWORD)
    create_user(CLERK, "nr_staff", DCF, store=store, actor="test", password=PASSWORD)
    return store


def test_a_reset_password_opens_only_the_account_page_until_changed(people: Store,
                                                                     tmp_path: Path) -> None:
    store = people
    with _client(store, tmp_path) as admin:
        _login(admin, ADMIN, PASSWORD)
        csrf = _csrf(admin, "/users")
        assert admin.post("/users/actions", follow_redirects=False, data={
            "csrf": csrf, "action": "password", "name": CLERK, "password": TEMPORARY,
            "again": TEMPORARY}).status_code == 303
        assert "已设置（待本人修改）" in admin.get("/users").text
    assert user_info(CLERK, store=store).must_change_password
    reset = read_audit(store=store, action="user.set_password")[-1]
    assert reset.actor == ADMIN and reset.detail["after"]["password_must_change"] is True

    with _client(store, tmp_path) as clerk:
        signed = _login(clerk, CLERK, TEMPORARY)
        assert signed.status_code == 303 and signed.headers["location"] == "/account"
        account = clerk.get("/account")
        assert account.status_code == 200 and 'id="bp-must-change"' in account.text
        assert "请先修改密码" in account.text  # the header's link says it too
        for path in ("/projects", "/projects/new", "/quota", "/inbox", "/tracking"):
            moved = clerk.get(path, follow_redirects=False)
            assert (moved.status_code, moved.headers.get("location")) == (303, "/account"), path
        csrf = _csrf(clerk, "/account")
        sent = clerk.post("/projects/new", follow_redirects=False, data={  # a whole form
            "csrf": csrf, "site": json.dumps(SITE), "name": "不应保存的项目", "county": DCF,
            "industry": "industrial", "investment": "6", "responsible_unit": "聊城某公司",
            "origin": "attracted", "demand_new_construction_land": "1.5"})
        assert (sent.status_code, sent.headers.get("location")) == (303, "/account")
        assert list_projects(store=store) == []

        changed = clerk.post("/account/password", follow_redirects=False, data={
            "csrf": csrf, "current": TEMPORARY, "new": OWN, "again": OWN})
        assert changed.status_code == 303
        assert 'id="bp-must-change"' not in clerk.get("/account").text
        assert clerk.get("/projects", follow_redirects=False).status_code == 200
        saved = clerk.post("/projects/new", follow_redirects=False, data={
            "csrf": csrf, "site": json.dumps(SITE), "name": "修改密码后保存的项目",
            "county": DCF, "industry": "industrial", "investment": "6",
            "responsible_unit": "聊城某公司", "origin": "attracted",
            "demand_new_construction_land": "1.5"})
        assert saved.status_code == 303, saved.text  # the same form works now
    assert not user_info(CLERK, store=store).must_change_password
    own = read_audit(store=store, action="user.set_password")[-1]
    assert own.actor == CLERK and "password_must_change" not in own.detail["after"]


def test_the_api_reset_asks_for_a_change_and_says_so(people: Store, tmp_path: Path) -> None:
    store = people
    token = rotate_token(ADMIN, store=store, actor="test")
    with _client(store, tmp_path) as client:
        auth = {"Authorization": f"Bearer {token}"}
        path = f"/api/users/{quote(CLERK, safe='')}/password"
        answer = client.post(path, headers=auth, json={"password": TEMPORARY})
        assert answer.status_code == 200 and answer.json()["must_change_password"] is True
        listed = {u["name"]: u for u in client.get("/api/users", headers=auth).json()}
        assert listed[CLERK]["must_change_password"] is True
        assert listed[ADMIN]["must_change_password"] is False
    session_id, session = sign_in(CLERK, TEMPORARY, store=store, hours=1)
    assert session.must_change_password
    assert session_user(session_id, store=store).must_change_password


def test_the_command_line_sets_a_temporary_password_only_when_asked(
        people: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from blueprint.service.cli import app

    store = people
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    typed = f"{TEMPORARY}\n{TEMPORARY}\n"
    runner = CliRunner()
    done = runner.invoke(app, ["users", "set-password", CLERK, "--temporary"], input=typed)
    assert done.exit_code == 0, done.output
    assert "登录后须先修改密码" in done.output
    assert user_info(CLERK, store=store).must_change_password
    listed = json.loads(runner.invoke(app, ["users", "list", "--format", "json"]).output)
    assert {u["name"]: u["must_change_password"] for u in listed} == {ADMIN: False,
                                                                     CLERK: True}
    done = runner.invoke(app, ["users", "set-password", CLERK], input=typed)
    assert done.exit_code == 0 and not user_info(CLERK, store=store).must_change_password

    added = runner.invoke(app, ["users", "add", "新同事", "--role", "viewer",
                                "--password-prompt", "--temporary"], input=typed)
    assert added.exit_code == 0, added.output
    assert user_info("新同事", store=store).must_change_password
    assert read_audit(store=store, action="user.create")[-1].detail["after"][
        "password_must_change"] is True


def test_a_temporary_password_needs_a_password_and_an_admin_reset_is_temporary(
        people: Store) -> None:
    store = people
    before = read_audit(store=store)
    with pytest.raises(BadInput) as refused:
        create_user("无密码", "viewer", None, store=store, actor="test", must_change=True)
    assert refused.value.where == "password"
    assert read_audit(store=store) == before
    reset_password(CLERK, TEMPORARY, store=store, actor=ADMIN)
    assert user_info(CLERK, store=store).must_change_password
    set_password(CLERK, OWN, store=store, actor=CLERK)
    assert not user_info(CLERK, store=store).must_change_password


def test_behind_a_path_prefix_the_account_page_still_opens(people: Store,
                                                           tmp_path: Path) -> None:
    """Served under a root path (a proxy's /bp), the demand leads to /bp/account, and that
    page opens (no redirect loop)."""
    from fastapi.testclient import TestClient

    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings

    store = people
    reset_password(CLERK, TEMPORARY, store=store, actor=ADMIN)
    app = create_app(Settings(data_dir=tmp_path / "app"))
    with TestClient(app, base_url="https://testserver", root_path="/bp") as client:
        own, app.state.store = app.state.store, store
        try:
            assert _login(client, CLERK, TEMPORARY).headers["location"] == "/bp/account"
            moved = client.get("/projects", follow_redirects=False)
            assert (moved.status_code, moved.headers["location"]) == (303, "/bp/account")
            account = client.get("/account", follow_redirects=False)
            assert account.status_code == 200 and 'id="bp-must-change"' in account.text
        finally:
            app.state.store = own
