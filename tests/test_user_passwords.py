"""A user's password can be set again and a disabled user enabled again, each with an audit
row, on both engines: ``users set-password`` (an administrator resets a forgotten password:
every page session of the user ends), ``users enable`` (a new API token, the old one stays
dead, an active user is refused with their token untouched), and a signed-in user's own
change on /account (the current password asked, the new one twice; their other sessions
end, this one stays; a refusal changes nothing and never sends a password back)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from projects_support import city  # noqa: F401  (city: fixture)
from test_projects_cli import blueprint  # noqa: F401  (fixture)

from blueprint.layers.audit import read_audit
from blueprint.layers.errors import BadInput, Conflict, NotAuthenticated, NotFound
from blueprint.layers.sessions import change_password, session_user, sign_in
from blueprint.layers.store import Store
from blueprint.layers.users import (
    authenticate,
    authenticate_password,
    create_user,
    disable_user,
    enable_user,
    set_password,
)
from tests.test_pages import _client, _csrf, _login

OLD, NEW = "old-password-1", "new-password-22"


def _alive(session_id: str, store: Store) -> bool:
    try:
        session_user(session_id, store=store)
    except NotAuthenticated:
        return False
    return True


def test_a_reset_password_ends_every_session_of_the_user(store: Store) -> None:
    create_user("王科长", "nr_staff", None, store=store, actor="admin", password=OLD)
    create_user("李科长", "nr_staff", None, store=store, actor="admin", password=OLD)
    office, home = (sign_in("王科长", OLD, store=store, hours=8)[0] for _ in range(2))
    other = sign_in("李科长", OLD, store=store, hours=8)[0]
    set_password("王科长", NEW, store=store, actor="admin")
    assert not _alive(office, store) and not _alive(home, store) and _alive(other, store)
    assert authenticate_password("王科长", NEW, store=store).name == "王科长"
    with pytest.raises(NotAuthenticated):
        authenticate_password("王科长", OLD, store=store)
    last = read_audit(store=store)[-1]
    assert (last.action, last.actor, last.object) == ("user.set_password", "admin", "user:王科长")
    assert last.detail["sessions_ended"] == 2 and NEW not in str(last.detail)
    with pytest.raises(NotFound):
        set_password("ghost", NEW, store=store, actor="admin")
    with pytest.raises(BadInput):  # too short: nothing written, the sessions of 李 kept
        set_password("李科长", "short", store=store, actor="admin")
    assert _alive(other, store) and read_audit(store=store)[-1] == last


def test_a_disabled_user_is_enabled_with_a_new_token(store: Store) -> None:
    old = create_user("a", "viewer", None, store=store, actor="admin", password=OLD)
    with pytest.raises(Conflict) as active:  # active: refused, the working token untouched
        enable_user("a", store=store, actor="admin")
    assert "未被停用" in active.value.message_zh and authenticate(old, store=store).name == "a"
    disable_user("a", store=store, actor="admin")
    new = enable_user("a", store=store, actor="admin")
    with pytest.raises(NotAuthenticated):
        authenticate(old, store=store)
    assert authenticate(new, store=store).name == "a"
    assert authenticate_password("a", OLD, store=store).name == "a"
    with pytest.raises(NotFound):
        enable_user("ghost", store=store, actor="admin")
    actions = [r.action for r in read_audit(store=store)]
    assert actions == ["user.create", "user.disable", "user.enable"]
    assert new not in str(read_audit(store=store)[-1].detail)


def test_a_user_changes_their_own_password_and_keeps_this_session(store: Store) -> None:
    create_user("王科长", "nr_staff", None, store=store, actor="admin", password=OLD)
    here, elsewhere = (sign_in("王科长", OLD, store=store, hours=8)[0] for _ in range(2))
    before = len(read_audit(store=store))
    for current, new, where in ((NEW, "another-pass-3", "current"), (OLD, OLD, "new"),
                                (OLD, "short", "password")):
        with pytest.raises(BadInput) as refused:
            change_password(here, current, new, store=store)
        assert refused.value.where == where
    assert len(read_audit(store=store)) == before and _alive(elsewhere, store)
    assert authenticate_password("王科长", OLD, store=store).name == "王科长"
    with pytest.raises(NotAuthenticated):
        change_password("no-such-session", OLD, NEW, store=store)
    assert change_password(here, OLD, NEW, store=store).name == "王科长"
    assert _alive(here, store) and not _alive(elsewhere, store)
    assert authenticate_password("王科长", NEW, store=store).name == "王科长"
    last = read_audit(store=store)[-1]
    assert (last.action, last.actor, last.detail["sessions_ended"]) == (
        "user.set_password", "王科长", 1)


def test_the_commands_reset_a_password_and_enable_a_user(blueprint: Any,  # noqa: F811
                                                         city: Store) -> None:  # noqa: F811
    create_user("环保局张科长", "department", None, store=city, actor="admin",
                department="ee", password=OLD)
    session = sign_in("环保局张科长", OLD, store=city, hours=8)[0]
    reset = blueprint("users", "set-password", "环保局张科长",
                      input=f"{NEW}\nother-words-2\n{NEW}\n{NEW}\n")
    assert reset.exit_code == 0, reset.output
    assert "两次输入的密码不一致" in reset.output and "会话全部退出" in reset.output
    assert authenticate_password("环保局张科长", NEW, store=city).department == "ee"
    assert not _alive(session, city)
    ghost = blueprint("users", "set-password", "ghost", ok=False, input=f"{NEW}\n{NEW}\n")
    assert isinstance(ghost.exception, NotFound) and "密码" not in ghost.output  # not asked
    assert ghost.exception.message_zh == "用户“ghost”不存在"
    blueprint("users", "disable", "环保局张科长")
    enabled = blueprint("users", "enable", "环保局张科长")
    token = enabled.stdout.strip().splitlines()[-1]
    assert authenticate(token, store=city).name == "环保局张科长"
    again = blueprint("users", "enable", "环保局张科长", ok=False)
    assert isinstance(again.exception, Conflict) and "未被停用" in again.exception.message_zh
    assert authenticate(token, store=city).name == "环保局张科长"
    audit = blueprint("audit", "--action", "user.enable").stdout
    assert "重新启用用户" in audit


def test_the_account_page_changes_the_own_password(city: Store,  # noqa: F811
                                                   tmp_path: Path) -> None:
    create_user("nr", "nr_staff", None, store=city, actor="admin", password=OLD)
    other = sign_in("nr", OLD, store=city, hours=8)[0]
    with _client(city, tmp_path) as nr:
        _login(nr, "nr", OLD)
        assert 'id="bp-account-link" href="/account">修改密码</a>' in nr.get("/projects").text
        form = nr.get("/account").text
        assert 'id="bp-password-form"' in form and "至少 10 位" in form
        csrf = _csrf(nr, "/account")
        for data, said in (({"current": "wrong-password-9", "new": NEW, "again": NEW},
                            "当前密码不正确，密码未修改"),
                           ({"current": OLD, "new": NEW, "again": NEW + "x"},
                            "两次输入的新密码不一致，密码未修改"),
                           ({"current": OLD, "new": "short", "again": "short"},
                            "密码至少 10 位")):
            refused = nr.post("/account/password", data={"csrf": csrf, **data})
            assert refused.status_code == 422 and said in refused.text, refused.text[-2000:]
            assert OLD not in refused.text and NEW not in refused.text
        assert _alive(other, city)
        assert nr.post("/account/password", data={"current": OLD, "new": NEW, "again": NEW},
                       follow_redirects=False).status_code == 403  # no CSRF token
        done = nr.post("/account/password", follow_redirects=False,
                       data={"csrf": csrf, "current": OLD, "new": NEW, "again": NEW})
        assert done.status_code == 303 and done.headers["location"] == "/account?done=password"
        shown = nr.get(done.headers["location"]).text
        assert re.search(r'id="bp-password-done">密码已修改', shown)
        assert nr.get("/projects", follow_redirects=False).status_code == 200  # still in
    assert not _alive(other, city)
    assert authenticate_password("nr", NEW, store=city).name == "nr"
    with _client(city, tmp_path) as anonymous:
        away = anonymous.get("/account", follow_redirects=False)
        assert away.status_code in (302, 303, 307) and "/login" in away.headers["location"]
