"""Departments as data, department users, passwords (argon2), disable and token rotation."""

from __future__ import annotations

import pytest

from blueprint.layers.audit import read_audit
from blueprint.layers.departments import add_department, list_departments
from blueprint.layers.errors import BadInput, Conflict, NotAuthenticated, NotFound
from blueprint.layers.store import Store
from blueprint.layers.users import (
    authenticate,
    authenticate_password,
    create_user,
    disable_user,
    list_users,
    rotate_token,
    set_password,
)


def test_departments_are_seeded_and_can_be_added(store: Store) -> None:
    codes = {d.code: d.name_zh for d in list_departments(store=store)}
    assert codes["nr"] == "自然资源和规划局" and codes["ee"] == "生态环境局"
    assert {"drc", "water", "forestry", "housing", "transport"} <= set(codes)
    add_department("culture", "文化和旅游局", store=store, actor="test")
    assert list_departments(store=store)[-1].code == "culture"
    with pytest.raises(Conflict):
        add_department("culture", "文化和旅游局", store=store, actor="test")
    with pytest.raises(BadInput):
        add_department("Bad Code", "x", store=store, actor="test")


def test_a_department_user_belongs_to_one_known_department(store: Store) -> None:
    token = create_user("环保张", "department", None, department="ee", store=store, actor="t")
    assert authenticate(token, store=store).department == "ee"
    with pytest.raises(NotFound):
        create_user("x", "department", None, department="nosuch", store=store, actor="t")
    with pytest.raises(BadInput):
        create_user("y", "department", None, store=store, actor="t")
    with pytest.raises(BadInput):
        create_user("z", "nr_staff", None, department="ee", store=store, actor="t")


@pytest.mark.parametrize(("name", "county"), [
    ("", None), ("   ", None), ("two\nlines", None), (" 王科长", None), ("u" * 121, None),
    ("县级", "3715020000000"),  # wider than the column: PostgreSQL refused it with a 500
])
def test_a_user_has_a_name_on_one_line_that_fits(store: Store, name: str,
                                                   county: str | None) -> None:
    role = "county_quota_manager" if county else "viewer"
    with pytest.raises(BadInput) as refused:
        create_user(name, role, county, store=store, actor="t")
    assert refused.value.where == ("county" if county else "name")
    assert list_users(store=store) == [] and read_audit(store=store) == []
    create_user("u" * 120, "viewer", None, store=store, actor="t")


def test_passwords_are_argon2_and_there_is_no_default(store: Store) -> None:
    create_user("王科长", "nr_staff", None, store=store, actor="admin")
    with pytest.raises(NotAuthenticated):  # no password yet: none works, not even empty
        authenticate_password("王科长", "", store=store)
    with pytest.raises(BadInput):
        set_password("王科长", "short", store=store, actor="admin")
    set_password("王科长", "correct horse battery", store=store, actor="admin")
    assert authenticate_password("王科长", "correct horse battery", store=store).role == "nr_staff"
    for name, pw in (("王科长", "wrong password!"), ("nobody", "correct horse battery")):
        with pytest.raises(NotAuthenticated) as err:
            authenticate_password(name, pw, store=store)
        assert err.value.message_zh == "用户名或密码错误"
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM users").scalar_one()
    assert stored.startswith("$argon2id$") and "horse" not in stored


def test_list_disable_and_rotate(store: Store) -> None:
    old = create_user("a", "viewer", None, store=store, actor="admin",
                      password="0123456789ab")
    new = rotate_token("a", store=store, actor="admin")
    with pytest.raises(NotAuthenticated):
        authenticate(old, store=store)
    assert authenticate(new, store=store).name == "a"
    disable_user("a", store=store, actor="admin")
    with pytest.raises(NotAuthenticated):
        authenticate(new, store=store)
    with pytest.raises(NotAuthenticated):
        authenticate_password("a", "0123456789ab", store=store)
    (info,) = list_users(store=store)
    assert (info.name, info.active, info.has_password) == ("a", False, True)
    with pytest.raises(NotFound):
        disable_user("ghost", store=store, actor="admin")
    actions = [r.action for r in read_audit(store=store)]
    assert actions == ["user.create", "user.rotate_token", "user.disable"]


@pytest.mark.parametrize("name", ["system", "cli:root", "cli:"])
def test_names_the_records_use_for_the_system_and_the_command_line_are_reserved(
        store: Store, name: str) -> None:
    """``system`` and ``cli:…`` name what Blueprint and the command line do (pages read
    them 系统自动 and 命令行（…）): no user may take them, and nothing is written."""
    before = len(read_audit(store=store))
    with pytest.raises(BadInput) as refused:
        create_user(name, "nr_staff", None, store=store, actor="test")
    assert refused.value.where == "name" and "系统保留" in refused.value.message_zh
    assert [u.name for u in list_users(store=store)] == []
    assert len(read_audit(store=store)) == before
