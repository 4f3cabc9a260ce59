"""The audit log page (/audit, 审计日志), on both engines: city-level administrators, natural
resources staff and quota managers read every change newest first, 50 a page, by action and
project, in Chinese (系统自动, 登录失败锁定, what changed line by line); a filter nothing could
match is said and dropped; the hash chain is checked on request and a row edited behind the
product's back is found; county staff and departments are refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from projects_support import (
    STAFF,
    T0,
    city,  # noqa: F401  (city: fixture)
    dept_user,
    park_project,
    site,
)

from blueprint.layers.schema import audit_log
from blueprint.layers.sign_in_guard import Lockout, record_failure
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.test_pages import _client, _login
from tests.test_records import _drop_triggers

PASSWORD = "right-password-1"


def _ids(html: str) -> list[int]:
    body = html.split('id="bp-audit"', 1)[1].split("</table>", 1)[0]
    return [int(i) for i in re.findall(r"<tr><td>(\d+)</td>", body)]


def test_the_audit_page_reads_the_log_newest_first(store: Store, tmp_path: Path) -> None:
    create_user("市局小王", "nr_staff", None, store=store, actor="admin", password=PASSWORD)
    create_user("县局小李", "nr_staff", "371502", store=store, actor="admin", password=PASSWORD)
    create_user("环保局小张", "department", None, department="ee", store=store, actor="admin",
                password=PASSWORD)
    for n in range(52):
        create_user(f"用户{n:02d}", "viewer", None, store=store, actor="cli:root")
    for _ in range(5):
        record_failure("用户07", store=store, lockout=Lockout())
    with store.read() as conn:
        newest = conn.execute(sa.select(sa.func.max(audit_log.c.id))).scalar_one()
    with _client(store, tmp_path) as client:
        _login(client, "市局小王", PASSWORD)  # a sign-in is on record too
        first = client.get("/audit")
        assert first.status_code == 200 and '<a href="/audit">审计日志</a>' in first.text
        ids = _ids(first.text)
        assert len(ids) == 50 and ids == sorted(ids, reverse=True) and ids[0] == newest + 1
        assert "共 57 条记录，第 1 / 2 页" in first.text  # 55 users, a lock, a sign-in
        assert "<td>登录</td>" in first.text and "<td>登录失败锁定</td>" in first.text
        assert "<td>系统自动</td>" in first.text and "连续失败次数：5" in first.text
        second = client.get("/audit?page=2")
        # what changed in Chinese: fields and coded values by their names, not as stored
        both = first.text + second.text
        # a department by its name in the store's departments table, not its code
        assert "角色：会商部门" in both and "角色：只读用户" in both and "部门：生态环境局" in both
        assert "部门：ee" not in both
        assert "已设置密码：否" in both and "已设置密码：是" in both and "令牌有效期至：" in both
        assert not re.search(r"\b(role|password|token_expires_at|failures): ", both)
        assert _ids(second.text) == list(range(ids[-1] - 1, 0, -1))
        assert "命令行（root）" in first.text + second.text  # the 操作人 column

        locked = client.get("/audit?action=user.sign_in_locked")
        assert _ids(locked.text) == [newest] and "共 1 条记录" in locked.text
        refused = client.get("/audit?action=user.teleport")
        assert refused.status_code == 400 and "没有操作类型“user.teleport”" in refused.text
        assert len(_ids(refused.text)) == 50  # the filter dropped, the log shown
        assert "没有符合条件的记录" in client.get("/audit?project=LC-2099-0001").text

        whole = client.get("/audit?verify=1")
        assert "审计链完整：已校验全部 57 条记录" in whole.text
        _drop_triggers(store)  # an edit behind the product's back, past its triggers
        with store.engine.begin() as conn:
            conn.execute(audit_log.update().where(audit_log.c.id == 3)
                         .values(actor="somebody-else"))
        broken = client.get("/audit?verify=1")
        assert "审计链异常" in broken.text and "审计链完整" not in broken.text

    for who in ("县局小李", "环保局小张"):
        with _client(store, tmp_path) as client:
            _login(client, who, PASSWORD)
            page = client.get("/audit")
            assert page.status_code == 403 and "无权" in page.text and "bp-audit" not in page.text
            assert "审计日志</a>" not in client.get("/projects").text


def test_the_audit_page_reads_the_names_once(city: Store, tmp_path: Path,  # noqa: F811
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The coded values' names (the rules' industries among them) are read once for the
    page, not once a row; a department added by the city is named as the seeded ones, a
    county by its name (the boundary layer's)."""
    from blueprint.analysis import rules
    from blueprint.layers.departments import add_department

    add_department("culture", "文化和旅游局", store=city, actor="admin")
    create_user("市局小王", "nr_staff", None, store=city, actor="admin", password=PASSWORD)
    create_user("阳谷小赵", "nr_staff", "371521", store=city, actor="admin")
    for n in range(6):
        create_user(f"文旅{n}", "department", None, department="culture", store=city,
                    actor="admin")
    reads = []
    real = rules.load_rules
    monkeypatch.setattr(rules, "load_rules", lambda *a, **k: reads.append(1) or real(*a, **k))
    with _client(city, tmp_path) as client:
        _login(client, "市局小王", PASSWORD)
        reads.clear()
        shown = client.get("/audit?action=user.create")
    assert shown.status_code == 200 and len(_ids(shown.text)) == 8
    assert shown.text.count("部门：文化和旅游局") == 6 and "部门：culture" not in shown.text
    assert "县区：阳谷县" in shown.text and "县区：371521" not in shown.text
    assert len(reads) <= 1, reads


def test_a_project_filter_with_a_control_character_is_said_and_dropped(
        store: Store, tmp_path: Path) -> None:
    """``/audit?project=`` with a NUL (a hand-edited or pasted address): 400 saying so, the
    log shown without that filter, as for an over-long code; PostGIS answered 500 (no NUL in
    its text)."""
    create_user("市局小王", "nr_staff", None, store=store, actor="admin", password=PASSWORD)
    with _client(store, tmp_path) as client:
        _login(client, "市局小王", PASSWORD)
        for project in ("%00", "LC-2026-0001%00", "LC%01"):
            answer = client.get(f"/audit?project={project}")
            assert answer.status_code == 400, (project, answer.text[-300:])
            assert "项目编号含有控制字符，已忽略该条件" in answer.text, project
            assert _ids(answer.text), project  # the log, unfiltered


def test_a_round_s_and_a_meeting_item_s_status_read_in_chinese(city: Store,  # noqa: F811
                                                                 tmp_path: Path) -> None:
    """A round agreed and a meeting item decided showed ``状态：open → agreed`` and
    ``状态：open → decided``: each status by its Chinese name, as its kind of object names
    it (a round 会商中 → 会商通过, an item of the joint meeting's list 待决定 → 已决定)."""
    from datetime import date

    from blueprint.analysis.consultation import (
        answer,
        close_round,
        decide,
        problem_list,
        start_round,
    )
    from blueprint.analysis.projects import create_project, vet_project

    rounds = []
    for name in ("审计状态通过项目", "审计状态上会项目"):
        code = create_project(park_project(name=name), site=site("01_park_clean.txt"),
                              user=STAFF, store=city, at=T0).code
        vet_project(code, user=STAFF, store=city, at=T0)
        rounds.append(start_round(code, user=STAFF, store=city, at=T0))
    agreed, referred = rounds
    for dept in ("nr", "ee", "drc", "industry", "invest"):
        answer(agreed.id, user=dept_user(dept), answer="agree", text="同意。", store=city, at=T0)
    answer(referred.id, user=dept_user("nr"), answer="disagree", text="用地指标缺口较大。",
           store=city, at=T0)
    close_round(referred.id, user=STAFF, outcome="meeting", reason="确需建设，提请联席会议",
                store=city, at=T0)
    [item] = problem_list(store=city)
    decide(item["id"], user=STAFF, decision="proceed", meeting_date=date(2026, 3, 2),
           attendees=["市发展改革委"], text="同意推进。", store=city, at=T0)
    create_user("市局小王", "nr_staff", None, store=city, actor="admin", password=PASSWORD)
    with _client(city, tmp_path) as client:
        _login(client, "市局小王", PASSWORD)
        shown = {action: client.get(f"/audit?action={action}").text
                 for action in ("round.agreed", "round.referred", "meeting.decide")}
    assert "状态：会商中 → 会商通过" in shown["round.agreed"]
    assert "状态：会商中 → 已提交联席会议" in shown["round.referred"]
    assert "状态：待决定 → 已决定" in shown["meeting.decide"]
    for text in shown.values():
        assert not re.search(r"状态：[a-z]+ → [a-z]+", text), text
