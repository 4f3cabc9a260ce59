"""Sign-in lock-out (登录失败处理), on both engines: five wrong passwords in a row lock a name
for fifteen minutes, even against the right password; names that do not exist count and
lock alike (nothing tells who exists); a right password, an administrator's new password,
``users unlock`` and ``users enable`` clear the count; a wrong *current* password on
/account counts too; the page answers 429 with Retry-After; locking and unlocking write
audit rows; concurrent wrong passwords are all counted."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from blueprint.layers.audit import read_audit
from blueprint.layers.errors import BadInput, Conflict, NotAuthenticated, NotFound
from blueprint.layers.schema import sign_in_failures
from blueprint.layers.sessions import change_password, sign_in
from blueprint.layers.sign_in_guard import Lockout, SignInLocked, record_failure
from blueprint.layers.store import Store, now
from blueprint.layers.users import (
    create_user,
    disable_user,
    enable_user,
    set_password,
    unlock_user,
    user_info,
)
from blueprint.service.cli import app
from tests.test_pages import _client, _csrf, _login

PASSWORD, WRONG = "right-password-1", "wrong-password-2"
FIVE = Lockout(failures=5, minutes=15)


def _refusals(name: str, store: Store, times: int,
              at: datetime | None = None) -> list[NotAuthenticated]:
    said = []
    for _ in range(times):
        with pytest.raises(NotAuthenticated) as refused:
            sign_in(name, WRONG, store=store, hours=8, lockout=FIVE, at=at)
        said.append(refused.value)
    return said


def _count(store: Store, name: str) -> int | None:
    with store.read() as conn:
        return conn.execute(sa.select(sign_in_failures.c.failures)
                            .where(sign_in_failures.c.name == name)).scalar()


def test_five_wrong_passwords_lock_the_name_even_against_the_right_one(store: Store) -> None:
    create_user("王科长", "nr_staff", None, store=store, actor="admin", password=PASSWORD)
    said = _refusals("王科长", store, 5)
    assert [e.message_zh for e in said[:4]] == [
        f"用户名或密码错误；再错 {n} 次，该账户将锁定 15 分钟" for n in (4, 3, 2, 1)]
    assert isinstance(said[4], SignInLocked) and "连续 5 次密码错误" in said[4].message_zh
    assert abs((said[4].until - now()) - timedelta(minutes=15)) < timedelta(seconds=30)
    with pytest.raises(SignInLocked):  # the right password does not get in while locked
        sign_in("王科长", PASSWORD, store=store, hours=8, lockout=FIVE)
    locked = [r for r in read_audit(store=store) if r.action == "user.sign_in_locked"]
    assert len(locked) == 1 and locked[0].actor == "system"
    assert locked[0].object == "user:王科长" and locked[0].detail["failures"] == 5
    assert user_info("王科长", store=store).locked_until == said[4].until
    # after the lock's fifteen minutes the right password works and clears the count
    later = now() + timedelta(minutes=15, seconds=5)
    sign_in("王科长", PASSWORD, store=store, hours=8, lockout=FIVE, at=later)
    assert _count(store, "王科长") is None


def test_a_name_that_does_not_exist_is_refused_and_locked_alike(store: Store) -> None:
    create_user("王科长", "nr_staff", None, store=store, actor="admin", password=PASSWORD)
    known = [e.message_zh for e in _refusals("王科长", store, 6)]
    ghost = [e.message_zh for e in _refusals("nobody-here", store, 6)]
    strip = re.compile(r"请于 .*（北京时间）")  # the lock's end differs by the test's seconds
    assert [strip.sub("", m) for m in known] == [strip.sub("", m) for m in ghost]
    assert "已锁定" in ghost[-1]


def test_a_right_password_clears_the_count_and_old_failures_stop_counting(store: Store) -> None:
    create_user("王科长", "nr_staff", None, store=store, actor="admin", password=PASSWORD)
    _refusals("王科长", store, 4)
    sign_in("王科长", PASSWORD, store=store, hours=8, lockout=FIVE)
    assert _count(store, "王科长") is None
    said = _refusals("王科长", store, 4)
    assert not any(isinstance(e, SignInLocked) for e in said)
    # a fifth failure sixteen minutes later starts a new count: the four no longer count
    later = now() + timedelta(minutes=16)
    last = _refusals("王科长", store, 1, at=later)[0]
    assert not isinstance(last, SignInLocked) and "再错 4 次" in last.message_zh
    assert _count(store, "王科长") == 1


def test_stale_counts_of_sprayed_names_are_deleted(store: Store) -> None:
    for n in range(20):
        record_failure(f"spray-{n}", store=store, lockout=FIVE)
    record_failure("late", store=store, lockout=FIVE, at=now() + timedelta(minutes=16))
    with store.read() as conn:
        names = conn.execute(sa.select(sign_in_failures.c.name)).scalars().all()
    assert names == ["late"]


def test_unlock_new_password_and_enable_clear_the_lock_with_audit_rows(store: Store) -> None:
    create_user("王科长", "nr_staff", None, store=store, actor="admin", password=PASSWORD)
    with pytest.raises(Conflict):
        unlock_user("王科长", store=store, actor="admin")  # not locked
    with pytest.raises(NotFound):
        unlock_user("ghost", store=store, actor="admin")
    _refusals("王科长", store, 5)
    unlock_user("王科长", store=store, actor="admin")
    last = read_audit(store=store)[-1]
    assert (last.action, last.actor, last.object) == ("user.unlock", "admin", "user:王科长")
    assert last.detail["after"] == {"locked_until": None}
    sign_in("王科长", PASSWORD, store=store, hours=8, lockout=FIVE)

    _refusals("王科长", store, 5)
    set_password("王科长", "another-password-3", store=store, actor="admin")
    assert read_audit(store=store)[-1].detail["sign_in_unlocked"] is True
    sign_in("王科长", "another-password-3", store=store, hours=8, lockout=FIVE)

    _refusals("王科长", store, 5)
    disable_user("王科长", store=store, actor="admin")
    enable_user("王科长", store=store, actor="admin")
    assert read_audit(store=store)[-1].detail["sign_in_unlocked"] is True
    sign_in("王科长", "another-password-3", store=store, hours=8, lockout=FIVE)


def test_a_wrong_current_password_on_the_account_form_counts(store: Store) -> None:
    create_user("王科长", "nr_staff", None, store=store, actor="admin", password=PASSWORD)
    session_id = sign_in("王科长", PASSWORD, store=store, hours=8, lockout=FIVE)[0]
    for left in (4, 3, 2, 1):
        with pytest.raises(BadInput) as refused:
            change_password(session_id, WRONG, "new-password-44", store=store, lockout=FIVE)
        assert refused.value.message_zh == (f"当前密码不正确，密码未修改；再错 {left} 次，"
                                            "该账户将锁定 15 分钟")
    with pytest.raises(SignInLocked):
        change_password(session_id, WRONG, "new-password-44", store=store, lockout=FIVE)
    with pytest.raises(SignInLocked):  # now the right current password is refused too
        change_password(session_id, PASSWORD, "new-password-44", store=store, lockout=FIVE)
    with pytest.raises(SignInLocked):
        sign_in("王科长", PASSWORD, store=store, hours=8, lockout=FIVE)


def test_concurrent_wrong_passwords_are_all_counted(store: Store) -> None:
    lockout = Lockout(failures=100, minutes=15)
    errors: list[BaseException] = []

    def guess() -> None:
        try:
            for _ in range(5):
                record_failure("王科长", store=store, lockout=lockout)
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=guess) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and _count(store, "王科长") == 20


def test_the_sign_in_page_answers_429_and_the_cli_unlocks(store: Store, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            ) -> None:
    create_user("王科长", "nr_staff", None, store=store, actor="admin", password=PASSWORD)
    with _client(store, tmp_path, lockout_failures=3, lockout_minutes=10) as client:
        first = _login(client, "王科长", WRONG)
        assert first.status_code == 401 and "再错 2 次，该账户将锁定 10 分钟" in first.text
        _login(client, "王科长", WRONG)
        locked = _login(client, "王科长", WRONG)
        assert locked.status_code == 429 and "连续 3 次密码错误，该账户已锁定" in locked.text
        assert 590 <= int(locked.headers["Retry-After"]) <= 600
        right = _login(client, "王科长", PASSWORD)
        assert right.status_code == 429 and "bp_session" not in right.headers.get(
            "set-cookie", "")

        monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
        monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
        monkeypatch.setenv("COLUMNS", "250")
        runner = CliRunner()
        listed = runner.invoke(app, ["users", "list"])
        assert listed.exit_code == 0 and "启用（登录锁定至" in listed.output
        unlocked = runner.invoke(app, ["users", "unlock", "王科长"])
        assert unlocked.exit_code == 0, unlocked.output
        assert "已解除用户“王科长”的登录锁定" in unlocked.output
        again = runner.invoke(app, ["users", "unlock", "王科长"])
        assert isinstance(again.exception, Conflict) and "未被锁定" in again.exception.message_zh
        assert _login(client, "王科长", PASSWORD).status_code == 303
        assert "登录锁定" not in runner.invoke(app, ["users", "list"]).output
        audit = runner.invoke(app, ["audit", "--action", "user.sign_in_locked"]).output
        assert "登录失败锁定" in audit and "连续失败次数：3" in audit, audit
        assert "系统自动" in audit and "│ system" not in audit  # the actor as pages say it
        assert _csrf(client)  # signed in: the projects page has its forms
