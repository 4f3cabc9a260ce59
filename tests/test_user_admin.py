"""An administrator helps users from the web (/users, 用户管理, and /api/users), on both
engines: the list shows who is locked until when; a lock is lifted; a user is disabled (not
oneself); a forgotten password is set anew (not one's own: that needs the current one),
which ends the user's sessions and lifts a lock. Every change has its audit row naming the
administrator; a refusal says why and changes nothing; nobody but an administrator sees the
page. (Every role × county against the policy: tests/test_projects_policy.py and
tests/test_pages_policy.py.)"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest

from blueprint.layers.audit import read_audit
from blueprint.layers.errors import NotAuthenticated
from blueprint.layers.sessions import session_user, sign_in
from blueprint.layers.sign_in_guard import Lockout, record_failure
from blueprint.layers.store import Store
from blueprint.layers.users import authenticate_password, create_user, user_info
from tests.test_pages import _client, _csrf, _login

ADMIN, CLERK = "市局管理员", "县局科员小李"
PASSWORD, NEW = "admin-password-1", "new-password-22"


def _lock(name: str, store: Store) -> None:
    for _ in range(5):
        record_failure(name, store=store, lockout=Lockout())


@pytest.fixture
def people(store: Store) -> Store:
    create_user(ADMIN, "admin", None, store=store, actor="test", password=PASSWORD)
    create_user(CLERK, "nr_staff", None, store=store, actor="test", password=PASSWORD)
    return store


def test_the_users_page_lifts_a_lock_and_sets_a_password(people: Store,
                                                          tmp_path: Path) -> None:
    store = people
    clerk_session = sign_in(CLERK, PASSWORD, store=store, hours=8)[0]
    _lock(CLERK, store)
    with _client(store, tmp_path) as admin:
        _login(admin, ADMIN, PASSWORD)
        listed = admin.get("/users")
        assert listed.status_code == 200 and '<a href="/users">用户管理</a>' in listed.text
        row = re.search(rf"<tr id=\"bp-user-\d+\" class=\"bp-locked\">\s*<td>{CLERK}</td>"
                        r".*?</tr>", listed.text, re.S)
        assert row and "登录已锁定" in row.group(0) and "解除锁定" in row.group(0)
        assert "本人（修改密码见右上角）" in listed.text  # no actions on one's own row
        csrf = _csrf(admin, "/users")

        done = admin.post("/users/actions", follow_redirects=False,
                          data={"csrf": csrf, "action": "unlock", "name": CLERK})
        assert done.status_code == 303
        shown = admin.get(done.headers["location"]).text
        assert f"已解除“{CLERK}”的登录锁定" in shown and "bp-locked" not in shown
        assert user_info(CLERK, store=store).locked_until is None
        last = read_audit(store=store)[-1]
        assert (last.action, last.actor, last.object) == ("user.unlock", ADMIN, f"user:{CLERK}")

        before = read_audit(store=store)[-1]
        typo = admin.post("/users/actions", data={
            "csrf": csrf, "action": "password", "name": CLERK, "password": NEW,
            "again": NEW + "x"})
        assert typo.status_code == 422 and "两次输入的新密码不一致" in typo.text
        assert NEW not in typo.text and "<details class=\"bp-more\" open>" in typo.text
        assert read_audit(store=store)[-1] == before

        _lock(CLERK, store)
        reset = admin.post("/users/actions", follow_redirects=False, data={
            "csrf": csrf, "action": "password", "name": CLERK, "password": NEW, "again": NEW})
        assert reset.status_code == 303
        assert "并解除其登录锁定" in admin.get(reset.headers["location"]).text
    assert authenticate_password(CLERK, NEW, store=store).name == CLERK
    with pytest.raises(NotAuthenticated):
        session_user(clerk_session, store=store)  # signed in with the old password: ended
    last = read_audit(store=store)[-1]
    assert (last.action, last.actor) == ("user.set_password", ADMIN)
    assert last.detail["sign_in_unlocked"] is True and NEW not in str(last.detail)


def test_refusals_say_why_and_change_nothing(people: Store, tmp_path: Path) -> None:
    store = people
    with _client(store, tmp_path) as admin:
        _login(admin, ADMIN, PASSWORD)
        csrf = _csrf(admin, "/users")
        before = read_audit(store=store)[-1]
        for form, status, said in (
                ({"action": "disable", "name": ADMIN}, 409, "不能停用自己的账户"),
                ({"action": "password", "name": ADMIN, "password": NEW, "again": NEW}, 409,
                 "不能重设自己的账户（修改自己的密码请用页面右上角的“修改密码”"),
                ({"action": "unlock", "name": CLERK}, 409, f"用户“{CLERK}”未被锁定"),
                ({"action": "disable", "name": "ghost"}, 404, "用户“ghost”不存在"),
                ({"action": "teleport", "name": CLERK}, 403, "无权"),
                ({"action": "password", "name": CLERK, "password": "short",
                  "again": "short"}, 422, "密码至少 10 位")):
            got = admin.post("/users/actions", data={"csrf": csrf, **form})
            assert got.status_code == status and said in got.text, (form, got.text[-1500:])
            assert "Traceback" not in got.text
        assert read_audit(store=store)[-1] == before
        assert user_info(ADMIN, store=store).active and user_info(CLERK, store=store).active

    with _client(store, tmp_path) as clerk:  # not an administrator: no page, no link
        _login(clerk, CLERK, PASSWORD)
        page = clerk.get("/users")
        assert page.status_code == 403 and "无权" in page.text
        assert "用户管理</a>" not in clerk.get("/projects").text


def test_the_api_lists_locks_and_acts_for_the_admin_only(people: Store,
                                                         tmp_path: Path) -> None:
    from blueprint.layers.users import rotate_token

    store = people
    token = rotate_token(ADMIN, store=store, actor="test")
    clerk_token = rotate_token(CLERK, store=store, actor="test")
    _lock(CLERK, store)
    with _client(store, tmp_path) as client:
        auth = {"Authorization": f"Bearer {token}"}
        users = {u["name"]: u for u in client.get("/api/users", headers=auth).json()}
        assert users[CLERK]["locked_until"] is not None
        assert users[CLERK]["role_zh"] == "自然资源局工作人员"
        assert users[ADMIN]["locked_until"] is None and "token_hash" not in users[ADMIN]
        assert client.get("/api/users", headers={
            "Authorization": f"Bearer {clerk_token}"}).status_code == 403
        path = f"/api/users/{quote(CLERK, safe='')}"
        assert client.post(f"{path}/unlock", headers=auth).json()["locked_until"] is None
        assert client.post(f"{path}/unlock", headers=auth).status_code == 409
        own = client.post(f"/api/users/{quote(ADMIN, safe='')}/password", headers=auth,
                          json={"password": NEW})
        assert own.status_code == 409 and "修改密码" in own.json()["message_zh"]
        gone = client.post(f"{path}/disable", headers=auth)
        assert gone.status_code == 200 and gone.json()["active"] is False
        assert client.get("/api/users", headers={
            "Authorization": f"Bearer {clerk_token}"}).status_code == 401  # disabled
