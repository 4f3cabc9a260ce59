"""Consultation rounds: routing as data, departments added and removed, who may answer,
amendments, overdue answers, the round state machine and the joint meeting."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from projects_support import (
    CITY_QUOTA,
    DCF_STAFF,
    STAFF,
    T0,
    YG_STAFF,
    city,
    dept_user,
    park_project,
    site,
)

from blueprint.analysis.consultation import (
    add_department,
    answer,
    close_round,
    decide,
    get_round,
    inbox,
    overdue,
    preliminary_opinions,
    problem_list,
    remove_department,
    start_round,
)
from blueprint.analysis.consultation.routing import load_routing
from blueprint.analysis.projects import create_project, get_project, vet_project
from blueprint.analysis.quota import allocate
from blueprint.layers.audit import read_audit
from blueprint.layers.errors import BadInput, Conflict, IllegalTransition, NotAllowed, NotFound
from blueprint.layers.store import Store
from blueprint.layers.users import User

__all__ = ["city"]


def _round(store: Store, site_file: str = "01_park_clean.txt", **changes: object):
    code = create_project(park_project(**changes), site=site(site_file), user=STAFF,
                          store=store, at=T0).code
    vet_project(code, user=STAFF, store=store, at=T0)
    return code, start_round(code, user=STAFF, store=store, at=T0)


def test_departments_follow_the_routing_rules(city: Store) -> None:
    _, plain = _round(city, origin="social", emissions={}, demands={"land": "1"})
    assert {a.department: a.how for a in plain.active} == {"nr": "rule", "industry": "rule"}
    # on 高唐's level-2 water source: ecology (finding and distance) and water resources
    _, wet = _round(city, "06_water_source_l2.geojson", county="371526", emissions={},
                    origin="social", demands={})
    why = {a.department: a.why for a in wet.active}
    assert set(why) == {"nr", "ee", "water", "industry"}
    assert "选址审查涉及饮用水水源保护区" in why["ee"]
    assert any("1000 米以内" in w for w in why["water"])


def test_routing_is_data(city: Store, tmp_path, monkeypatch) -> None:
    from blueprint.analysis.consultation.routing import DEFAULT_FILE

    text = DEFAULT_FILE.read_text(encoding="utf-8").replace(
        "default_period_working_days = 5", "default_period_working_days = 10").replace(
        'industries = ["residential", "commercial", "public_service"]',
        'industries = ["industrial"]')
    (tmp_path / "r.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("BLUEPRINT_ROUTING_FILE", str(tmp_path / "r.toml"))
    _, rnd = _round(city)
    assert "housing" in {a.department for a in rnd.active}
    assert rnd.period_days == 10 and rnd.active[0].deadline == date(2026, 3, 16)
    (tmp_path / "bad.toml").write_text("[departments.x]\nsometimes = true\n")
    with pytest.raises(BadInput):
        load_routing(tmp_path / "bad.toml")


def test_adding_and_removing_departments_needs_a_reason(city: Store) -> None:
    code, rnd = _round(city)
    later = T0 + timedelta(days=1)  # Tuesday 3 March: the added one counts from today
    with pytest.raises(BadInput):
        add_department(rnd.id, "forestry", user=STAFF, reason=" ", store=city)
    rnd = add_department(rnd.id, "forestry", user=STAFF, reason="地块邻近防护林带",
                         store=city, at=later)
    forestry = next(a for a in rnd.active if a.department == "forestry")
    assert (forestry.how, forestry.deadline) == ("manual", date(2026, 3, 10))
    assert forestry.why == ["人工添加：地块邻近防护林带"]
    with pytest.raises(Conflict):
        add_department(rnd.id, "forestry", user=STAFF, reason="again", store=city)
    with pytest.raises(NotFound):
        add_department(rnd.id, "nosuch", user=STAFF, reason="x", store=city)
    with pytest.raises(Conflict):  # natural resources always take part
        remove_department(rnd.id, "nr", user=STAFF, reason="x", store=city)
    rnd = remove_department(rnd.id, "invest", user=STAFF, reason="非招商引资项目，误选",
                            store=city)
    invest = next(a for a in rnd.assignments if a.department == "invest")
    assert invest.removed and invest.removed_reason == "非招商引资项目，误选"
    with pytest.raises(NotAllowed):  # a removed department no longer answers
        answer(rnd.id, user=dept_user("invest"), answer="agree", text="同意", store=city)
    with pytest.raises(NotAllowed):
        add_department(rnd.id, "water", user=YG_STAFF, reason="x", store=city)
    actions = [r.action for r in read_audit(store=city, project=code)]
    assert actions[-2:] == ["round.add_department", "round.remove_department"]


def test_only_a_user_of_that_department_answers(city: Store) -> None:
    _, rnd = _round(city)
    for user in (STAFF, CITY_QUOTA, User("x", "department"), dept_user("water")):
        with pytest.raises(NotAllowed):
            answer(rnd.id, user=user, answer="agree", text="同意", store=city)
    with pytest.raises(BadInput):
        answer(rnd.id, user=dept_user("nr"), answer="maybe", text="?", store=city)
    with pytest.raises(BadInput):
        answer(rnd.id, user=dept_user("nr"), answer="agree", text="", store=city)
    area = {"type": "Polygon", "coordinates": [[[116.0, 36.4], [116.01, 36.4],
                                                [116.01, 36.41], [116.0, 36.4]]]}
    with pytest.raises(BadInput):  # a condition area goes with a conditional answer
        answer(rnd.id, user=dept_user("nr"), answer="agree", text="同意", condition=area,
               store=city)
    with pytest.raises(BadInput):  # not a polygon
        answer(rnd.id, user=dept_user("nr"), answer="conditional", text="x", store=city,
               condition={"type": "Point", "coordinates": [116.0, 36.4]})
    assert get_round(rnd.id, store=city).active[0].opinions == []


def test_overdue_answers_are_listed_per_department(city: Store) -> None:
    code, rnd = _round(city)  # Monday 2 March 2026, deadline Monday 9 March
    answer(rnd.id, user=dept_user("nr"), answer="agree", text="同意", store=city, at=T0)
    assert overdue(store=city, today=date(2026, 3, 9)) == {}
    late = overdue(store=city, today=date(2026, 3, 11))
    assert set(late) == {"ee", "drc", "industry", "invest"}
    assert late["ee"] == [{"round_id": rnd.id, "project": code, "name": "聊城新材料产业园一期",
                           "deadline": date(2026, 3, 9), "working_days_overdue": 2}]
    assert set(overdue(store=city, today=date(2026, 3, 11), department="ee")) == {"ee"}
    (item,) = inbox("ee", store=city, today=date(2026, 3, 5))
    assert (item["project"], item["working_days_left"], item["overdue"]) == (code, 2, False)
    (nr,) = inbox("nr", store=city, today=date(2026, 3, 5))
    assert nr["answer"] == "agree"
    assert inbox("water", store=city) == []


def test_round_and_project_state_machines_refuse(city: Store) -> None:
    code, rnd = _round(city)
    with pytest.raises(IllegalTransition):  # already consulting
        start_round(code, user=STAFF, store=city, at=T0)
    with pytest.raises(IllegalTransition):  # no 不同意: it closes by itself
        close_round(rnd.id, user=STAFF, outcome="revise", reason="x", store=city)
    unvetted = create_project(park_project(), site=site("01_park_clean.txt"), user=STAFF,
                              store=city).code
    with pytest.raises(IllegalTransition) as err:
        start_round(unvetted, user=STAFF, store=city)
    assert "选址审查" in err.value.message_zh
    for dept in ("nr", "ee", "drc", "industry", "invest"):
        answer(rnd.id, user=dept_user(dept), answer="agree", text="同意", store=city, at=T0)
    assert get_round(rnd.id, store=city).status == "agreed"
    with pytest.raises(IllegalTransition) as err:  # closed: no more answers
        answer(rnd.id, user=dept_user("ee"), answer="disagree", text="改主意", store=city)
    assert "会商通过" in err.value.message_zh and "is agreed" in err.value.message
    with pytest.raises(IllegalTransition):
        add_department(rnd.id, "water", user=STAFF, reason="x", store=city)
    with pytest.raises(BadInput):
        close_round(rnd.id, user=STAFF, outcome="shrug", reason="x", store=city)
    assert get_project(code, store=city).stage == "reserve"


def _referred(store: Store):
    code, rnd = _round(store)
    answer(rnd.id, user=dept_user("nr"), answer="disagree", store=store, at=T0,
           text="用地指标缺口较大。")
    close_round(rnd.id, user=STAFF, outcome="meeting", store=store, at=T0,
                reason="用地指标缺口暂无法解决，项目确有必要建设")
    return code, rnd


def test_the_joint_meeting_moves_a_project_on(city: Store) -> None:
    code, rnd = _referred(city)
    assert get_round(rnd.id, store=city).status == "referred"
    assert get_project(code, store=city).stage == "consulting"
    (item,) = problem_list(store=city)
    assert (item["project"], item["problem"]) == (code, "用地指标缺口暂无法解决，项目确有必要建设")
    with pytest.raises(BadInput):
        decide(item["id"], user=STAFF, decision="proceed", meeting_date=date(2026, 3, 5),
               attendees=[], text="同意", store=city)
    out = decide(item["id"], user=STAFF, decision="proceed", meeting_date=date(2026, 3, 5),
                 attendees=["市发展改革委", "市自然资源和规划局"], store=city,
                 text="同意推进，用地指标由市级统筹解决。")
    assert out["stage"] == "reserve" and get_project(code, store=city).stage == "reserve"
    assert get_round(rnd.id, store=city).status == "decided"
    assert [o.department for o in preliminary_opinions(code, store=city)] == ["nr"]
    assert problem_list(store=city) == []
    (decided,) = problem_list(store=city, status=None)
    assert decided["attendees"] == ["市发展改革委", "市自然资源和规划局"]
    with pytest.raises(IllegalTransition):
        decide(item["id"], user=STAFF, decision="exit", meeting_date=date(2026, 3, 5),
               attendees=["a"], text="x", store=city)
    from blueprint.analysis.consultation.model import check_round

    with pytest.raises(IllegalTransition) as said:  # named as users know it, not by row id
        check_round(get_round(rnd.id, store=city), "agreed")
    assert said.value.message_zh == (f"项目“{code}”第 1 轮会商状态为“联席会议已决定”，"
                                     "不能变为“会商通过”"), said.value.message_zh


def test_the_joint_meeting_can_take_a_project_out(city: Store) -> None:
    code, rnd = _referred(city)
    allocate(year=2026, kind="energy", county="371502", project=code, amount="10",
             user=CITY_QUOTA, reason="先行配置", key="m1", store=city, at=T0)
    (item,) = problem_list(store=city)
    out = decide(item["id"], user=DCF_STAFF, decision="exit", meeting_date=date(2026, 3, 5),
                 attendees=["市发展改革委"], text="不具备建设条件，调出。", store=city)
    assert out["stage"] == "exited" and out["reclaim"]["returned"][0]["amount"] == "10"
    assert get_round(rnd.id, store=city).status == "decided"
    actions = [r.action for r in read_audit(store=city, project=code)]
    # the item's tracking problem closed (销号) with the decision, then the exit closes the
    # project's other open problem (the 不同意 of the round) as it leaves management
    assert actions[-6:] == ["tracking.problem.close", "project.stage", "tracking.problem.close",
                            "quota.reclaim", "project.reclaim", "meeting.decide"]
    from blueprint.analysis.tracking import list_problems

    notes = {p.source: p.closing_note for p in list_problems(store=city, project=code)}
    assert notes == {
        "meeting": "联席会议（2026-03-05）决定：不具备建设条件，调出。（调出项目库）",
        "consultation": "项目退出管理：联席会议（2026-03-05）决定：不具备建设条件，调出。"}


def test_an_exit_audits_the_round_it_cancels_and_the_item_it_withdraws(city: Store) -> None:
    """A project taken out while its round waits for the joint meeting: the round is
    撤销 and the problem-list item 撤回, each with an audit row saying from what to what."""
    from blueprint.analysis.audit_view import ACTION_ZH
    from blueprint.analysis.projects import exit_project

    code, rnd = _referred(city)
    (item,) = problem_list(store=city)
    exit_project(code, user=STAFF, reason="企业放弃投资", store=city)
    assert get_round(rnd.id, store=city).status == "cancelled"
    (withdrawn,) = problem_list(store=city, status=None)
    assert withdrawn["status"] == "withdrawn"
    rows = {r.action: r for r in read_audit(store=city, project=code)
            if r.action in ("round.cancelled", "meeting.withdrawn")}
    assert set(rows) == {"round.cancelled", "meeting.withdrawn"}
    assert rows["round.cancelled"].object == f"round:{rnd.id}"
    assert rows["round.cancelled"].detail["before"] == {"status": "referred"}
    assert rows["round.cancelled"].detail["after"] == {"status": "cancelled"}
    assert rows["meeting.withdrawn"].object == f"meeting:{item['id']}"
    assert rows["meeting.withdrawn"].detail["after"] == {"status": "withdrawn"}
    assert {r.actor for r in rows.values()} == {STAFF.name}
    assert ACTION_ZH["round.cancelled"] == "撤销会商"  # the audit page names them


def test_a_condition_area_apart_from_the_site_is_refused(city: Store) -> None:
    """A condition area must be on the project's site or meet it; one kilometres away (the
    wrong file) is refused, nothing recorded; one on the site's edge is taken."""
    import shapely

    code, rnd = _round(city)
    project = get_project(code, store=city)
    minx, miny, maxx, maxy = project.site.bounds
    far = shapely.box(maxx + 0.05, miny, maxx + 0.06, miny + 0.01)  # some 5 km east
    nr = dept_user(rnd.active[0].department)
    before = [r.action for r in read_audit(store=city, project=code)]
    with pytest.raises(BadInput) as refused:
        answer(rnd.id, user=nr, answer="conditional", text="限制高度", store=city,
               condition=shapely.geometry.mapping(far))
    assert refused.value.where == "condition" and "不相交" in refused.value.message_zh
    assert get_round(rnd.id, store=city).active[0].opinions == []
    assert [r.action for r in read_audit(store=city, project=code)] == before
    edge = shapely.box(maxx - 0.001, miny, maxx + 0.002, maxy)  # across the site's edge
    taken = answer(rnd.id, user=nr, answer="conditional", text="限制高度", store=city,
                   condition=shapely.geometry.mapping(edge))
    assert taken.condition is not None and shapely.intersects(taken.condition, project.site)
