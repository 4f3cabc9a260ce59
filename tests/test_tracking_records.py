"""Tracking records of issue 13's second part, both engines: photos with monthly reports
(JPEG/PNG decided from the bytes, capped, stored by content hash, hostile files refused
leaving nothing behind), the weekly dispatch and the quarterly adjustment, problems flowing
in from consultation and the joint meeting (once per source), and who may report over HTTP
(the project's service officer, county staff for their county)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from projects_support import (
    DCF,
    DCF_STAFF,
    STAFF,
    T0,
    YG_STAFF,
    city,
    dept_user,
    park_project,
    site,
)
from tracking_support import cn, tstore

from blueprint.analysis.projects import create_project, get_project, vet_project
from blueprint.analysis.tracking import (
    AdjustmentItem,
    DispatchProblem,
    Milestone,
    list_adjustments,
    list_dispatches,
    list_problems,
    photo_file,
    project_reports,
    record_adjustment,
    record_dispatch,
    set_plan,
    submit_report,
    sync_consultation_problems,
)
from blueprint.analysis.tracking.photos import MAX_PHOTO_BYTES
from blueprint.layers.errors import InvalidFile, NotAllowed, TooLarge
from blueprint.layers.schema import audit_log, tracking_photos, tracking_reports
from blueprint.layers.store import Store

__all__ = ["city", "tstore"]
YG = "371521"


def image(fmt: str, colour: str = "red", size: tuple[int, int] = (40, 30)) -> bytes:
    """A real little image made by Pillow."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt)
    return out.getvalue()


def png_on_zip() -> bytes:
    """A zip archive behind a PNG signature and header."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        # a fixed time: the bytes (in the test's id) alike in every collecting process
        z.writestr(zipfile.ZipInfo("payload.txt", date_time=(2026, 1, 1, 0, 0, 0)),
                   "not a photo")
    return image("PNG")[:33] + archive.getvalue()


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
       b'<script>alert(1)</script></svg>')


def tracked(store: Store, name: str, county: str = DCF) -> str:
    code = create_project(park_project(name=name, county=county), user=STAFF, store=store,
                          at=cn("2026-01-05 09:00")).code
    set_plan(code, milestones=[Milestone("start", date(2026, 3, 15), "住房和城乡建设局", "李专员")],
             investment={"2026-01": "100", "2026-02": "100"}, user=STAFF, store=store,
             at=cn("2026-01-06 09:00"))
    return code


def _state(store: Store) -> tuple[Any, ...]:
    folder = store.data_dir.resolve() / "tracking-photos"
    files = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    with store.engine.connect() as conn:
        return (files, *(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                         for t in (tracking_photos, tracking_reports, audit_log)))


def test_photos_go_with_a_report_by_content_hash(tstore: Store) -> None:
    import hashlib

    code = tracked(tstore, "照片测试项目")
    jpeg, png = image("JPEG"), image("PNG", "blue")
    report = submit_report(code, "2026-01", investment="100", user=DCF_STAFF, store=tstore,
                           photos=[("../../etc/现场.jpg", io.BytesIO(jpeg)),
                                   ("C:\\temp\\图.png", io.BytesIO(png))],
                           at=cn("2026-01-20 10:00"))
    assert [(p["content_type"], p["name"], p["size"]) for p in report.photos] == [
        ("image/jpeg", "现场.jpg", len(jpeg)), ("image/png", "图.png", len(png))]
    folder = tstore.data_dir.resolve() / "tracking-photos"
    for photo, data in zip(report.photos, (jpeg, png), strict=True):
        assert photo["sha256"] == hashlib.sha256(data).hexdigest()
        found, path = photo_file(photo["id"], store=tstore)
        assert path == folder / photo["sha256"] and path.read_bytes() == data
        assert found.content_type == photo["content_type"] and found.project == code
    assert not (tstore.data_dir / "etc").exists()
    [listed] = project_reports(code, store=tstore)
    assert [p["id"] for p in listed.photos] == [p["id"] for p in report.photos]
    assert listed.to_dict()["photos"][0]["url"] == f"/api/tracking/photos/{report.photos[0]['id']}"


@pytest.mark.parametrize("name,data,error,says", [
    ("zip.png", png_on_zip(), InvalidFile, "不是有效的 JPEG 或 PNG 图片"),
    ("x.svg", SVG, InvalidFile, "不是有效的 JPEG 或 PNG 图片"),
    ("x.png", image("PNG")[:-20], InvalidFile, "不是有效的 JPEG 或 PNG 图片"),
    ("x.gif", image("GIF"), InvalidFile, "不是有效的 JPEG 或 PNG 图片"),
    ("big.jpg", image("JPEG") + b"\0" * MAX_PHOTO_BYTES, TooLarge, "超过 10 MB 的上限"),
])
def test_hostile_photos_are_refused_and_leave_nothing(tstore: Store, name: str, data: bytes,
                                                      error: type, says: str) -> None:
    code = tracked(tstore, f"拒收照片项目{name}")
    before = _state(tstore)
    with pytest.raises(error) as refused:
        submit_report(code, "2026-01", investment="100", user=DCF_STAFF, store=tstore,
                      photos=[("ok.jpg", io.BytesIO(image("JPEG", "green"))),
                              (name, io.BytesIO(data))], at=cn("2026-01-20 10:00"))
    assert says in refused.value.message_zh and name in refused.value.message_zh
    assert _state(tstore) == before  # no report, no photo row, no file, no audit row


def test_a_photo_file_is_removed_when_its_transaction_fails(tstore: Store) -> None:
    code = tracked(tstore, "回滚照片项目")
    before = _state(tstore)
    with pytest.raises(NotAllowed):  # 阳谷 staff: refused inside the transaction
        submit_report(code, "2026-01", investment="1", user=YG_STAFF, store=tstore,
                      photos=[("a.png", io.BytesIO(image("PNG", "purple")))],
                      at=cn("2026-01-20 10:00"))
    assert _state(tstore) == before


def test_the_same_photo_sent_twice_keeps_its_file_when_the_first_send_fails(
        tstore: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two reports carry the same image (one file, named by its content). The first
    report's transaction fails after its file was written; the second, sent meanwhile,
    commits. Its photo row must still find the file (no clean-up may take it away)."""
    import threading
    import time

    from blueprint.analysis.tracking import photos as photos_module

    a, b = tracked(tstore, "同图甲项目"), tracked(tstore, "同图乙项目")
    data = image("PNG", "olive", (33, 21))
    wrote, real_audit = threading.Event(), photos_module.write_audit

    real_unlink = Path.unlink

    def audit(conn: Any, **kwargs: Any) -> None:
        if kwargs.get("project") == a:  # the first report: its file is written, then it fails
            wrote.set()
            raise RuntimeError("disk full")
        real_audit(conn, **kwargs)

    def slow_unlink(path: Path, missing_ok: bool = False) -> None:
        if threading.current_thread() is thread:  # the failed report's clean-up, slowed down
            time.sleep(1.0)  # time for the second report to get as far as it can
        real_unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(photos_module, "write_audit", audit)
    monkeypatch.setattr(Path, "unlink", slow_unlink)
    failed: list[BaseException] = []

    def first() -> None:
        try:
            submit_report(a, "2026-01", investment="1", user=STAFF, store=tstore,
                          photos=[("甲.png", io.BytesIO(data))], at=cn("2026-01-20 10:00"))
        except RuntimeError as exc:
            failed.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert wrote.wait(10)
    second = submit_report(b, "2026-01", investment="1", user=STAFF, store=tstore,
                           photos=[("乙.png", io.BytesIO(data))], at=cn("2026-01-20 10:01"))
    thread.join(10)
    assert failed and not thread.is_alive()
    (photo,) = second.photos
    found, path = photo_file(photo["id"], store=tstore)
    assert path.read_bytes() == data and found.project == b


def test_weekly_dispatch_raises_its_problems(tstore: Store) -> None:
    a, b = tracked(tstore, "调度甲项目"), tracked(tstore, "调度乙项目", county=YG)
    with pytest.raises(NotAllowed):
        record_dispatch(held_on="2026-02-02", attendees=["市发展改革委"], projects_discussed=[a],
                        decisions="加快推进", user=DCF_STAFF, store=tstore)
    held = record_dispatch(
        held_on="2026-02-02", attendees=["市发展改革委", "东昌府区政府", " "],
        projects_discussed=[a], decisions="甲项目本周完成施工图审查。", user=STAFF, store=tstore,
        problems=[DispatchProblem(a, "施工图审查滞后", "市住房和城乡建设局", date(2026, 2, 9)),
                  DispatchProblem(b, "用电增容未批复", "国网阳谷供电公司")],
        at=cn("2026-02-02 16:00"))
    assert held.week == "2026-W06" and held.projects == [a, b]
    assert held.attendees == ["市发展改革委", "东昌府区政府"] and len(held.problems) == 2
    found = {p.project: p for p in list_problems(store=tstore, status="open")
             if p.id in held.problems}
    assert (found[a].owner_unit, found[a].due_on, found[a].source) == (
        "市住房和城乡建设局", date(2026, 2, 9), "dispatch")
    assert found[b].due_on == date(2026, 3, 4)  # 30 days by default
    assert found[b].source_ref == f"dispatch:{held.id}:2"
    [listed] = list_dispatches(store=tstore, project=b)
    assert listed.id == held.id and listed.problems == held.problems
    assert listed.decisions == "甲项目本周完成施工图审查。"


def test_a_dispatch_problems_project_typed_with_spaces_is_the_listed_one(tstore: Store) -> None:
    """A problem's project code as typed (spaces around it) is the project discussed: the
    meeting lists it once and the problem is raised on it."""
    a = tracked(tstore, "调度丙项目")
    held = record_dispatch(
        held_on="2026-02-02", attendees=["市发展改革委"], projects_discussed=[a],
        decisions="推进", user=STAFF, store=tstore, at=cn("2026-02-02 16:00"),
        problems=[DispatchProblem(f" {a} ", "环评批复滞后", "市生态环境局")])
    assert held.projects == [a] and len(held.problems) == 1
    [raised] = [p for p in list_problems(store=tstore, status="open") if p.id in held.problems]
    assert raised.project == a
    [listed] = list_dispatches(store=tstore, project=a)
    assert listed.projects == [a]


def test_quarterly_adjustment_moves_projects_with_reasons(tstore: Store) -> None:
    a, b = tracked(tstore, "调整甲项目"), tracked(tstore, "调整乙项目")
    with pytest.raises(NotAllowed):
        record_adjustment(quarter="2026-Q1", decided_on="2026-03-30", user=DCF_STAFF,
                          store=tstore, items=[AdjustmentItem(a, "in", "投资加大")])
    done = record_adjustment(
        quarter="2026-q1", decided_on="2026-03-30", note="一季度调整", user=STAFF, store=tstore,
        items=[AdjustmentItem(a, "in", "总投资增至 12 亿元"),
               AdjustmentItem(b, "replan", "环评批复推迟，重排工期")],
        at=cn("2026-03-30 10:00"))
    assert done.quarter == "2026-Q1"
    assert "city_key" in get_project(a, store=tstore).tags
    record_adjustment(quarter="2026-Q2", decided_on="2026-06-29", user=STAFF, store=tstore,
                      items=[AdjustmentItem(a, "out", "投资主体变更")], at=cn("2026-06-29 10:00"))
    assert "city_key" not in get_project(a, store=tstore).tags
    listed = [x for x in list_adjustments(store=tstore) if x.id >= done.id]
    assert [x.quarter for x in listed] == ["2026-Q2", "2026-Q1"]
    assert [(i.project, i.action_zh, i.reason) for i in listed[1].items] == [
        (a, "调入", "总投资增至 12 亿元"), (b, "计划调整", "环评批复推迟，重排工期")]


def test_new_tracking_records_are_append_only(tstore: Store) -> None:
    code = tracked(tstore, "只增照片项目")
    submit_report(code, "2026-01", investment="5", user=STAFF, store=tstore,
                  photos=[("a.jpg", io.BytesIO(image("JPEG", "white")))],
                  at=cn("2026-01-20 10:00"))
    record_dispatch(held_on="2026-01-26", attendees=["市重点项目办"], projects_discussed=[code],
                    decisions="推进", user=STAFF, store=tstore, at=cn("2026-01-26 10:00"))
    record_adjustment(quarter="2026-Q1", decided_on="2026-03-30", user=STAFF, store=tstore,
                      items=[AdjustmentItem(code, "replan", "重排")], at=cn("2026-03-30 10:00"))
    for table in ("tracking_photos", "tracking_dispatches", "tracking_adjustments",
                  "tracking_adjustment_items"):
        for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                with tstore.engine.begin() as conn:
                    conn.execute(sa.text(statement))


def test_consultation_objections_and_meeting_items_become_problems_once(city: Store) -> None:
    from blueprint.analysis.consultation import (
        answer,
        close_round,
        decide,
        problem_list,
        start_round,
    )

    code = create_project(park_project(), site=site("01_park_clean.txt"), user=STAFF,
                          store=city, at=T0).code
    vet_project(code, user=STAFF, store=city, at=T0)
    rnd = start_round(code, user=STAFF, store=city, at=T0)
    answer(rnd.id, user=dept_user("nr"), answer="disagree", text="占用永久基本农田。",
           store=city, at=T0)
    first = answer(rnd.id, user=dept_user("ee"), answer="disagree", text="缺少环评。",
                   store=city, at=T0)
    answer(rnd.id, user=dept_user("ee"), answer="agree", text="已补充，同意。", store=city, at=T0)
    assert list_problems(store=city, project=code) == []
    close_round(rnd.id, user=STAFF, outcome="meeting", reason="确需实施，提请联席会议",
                store=city, at=T0)
    problems = list_problems(store=city, project=code)
    [item] = problem_list(store=city)
    by_source = {p.source: p for p in problems}
    assert set(by_source) == {"consultation", "meeting"}  # ee's objection was withdrawn
    objection = by_source["consultation"]
    assert objection.owner_unit == "自然资源和规划局" and "占用永久基本农田" in objection.text
    assert objection.source_ref.startswith("opinion:") and objection.due_on == date(2026, 4, 1)
    assert objection.source_ref != f"opinion:{first.id}"
    meeting = by_source["meeting"]
    assert meeting.source_ref == f"meeting_item:{item['id']}"
    assert meeting.owner_unit == "市重点项目办"
    # a retry (the sync over every closed round and item) creates nothing more
    assert sync_consultation_problems(user=STAFF, store=city).raised == []
    assert sync_consultation_problems(user=STAFF, store=city).raised == []
    assert len(list_problems(store=city, project=code)) == 2
    decide(item["id"], user=STAFF, decision="proceed", meeting_date=date(2026, 3, 2),
           attendees=["市发展改革委"], text="同意推进。", store=city, at=T0)
    closed = {p.source: p for p in list_problems(store=city, project=code)}
    assert closed["meeting"].status == "closed" and "同意推进" in closed["meeting"].closing_note
    # the meeting overruled nr's objection: it is no longer a problem of nr's to clear
    overruled = closed["consultation"]
    assert overruled.status == "closed" and "联席会议（2026-03-02）决定：同意推进。" in \
        overruled.closing_note and "异议不再跟踪" in overruled.closing_note
    again = sync_consultation_problems(user=STAFF, store=city)
    assert again.raised == [] and again.closed == []


def _objected(store: Store, name: str, *, outcome: str, reason: str) -> str:
    """A vetted project whose first round nr answered 不同意 and was closed with
    ``outcome``: its code."""
    from blueprint.analysis.consultation import answer, close_round, start_round

    code = create_project(park_project(name=name), site=site("01_park_clean.txt"),
                          user=STAFF, store=store, at=T0).code
    vet_project(code, user=STAFF, store=store, at=T0)
    rnd = start_round(code, user=STAFF, store=store, at=T0)
    answer(rnd.id, user=dept_user("nr"), answer="disagree", text="不同意。", store=store, at=T0)
    close_round(rnd.id, user=STAFF, outcome=outcome, reason=reason, store=store, at=T0)
    return code


def test_the_sync_closes_objections_an_older_proceed_left_open(city: Store) -> None:
    """A joint meeting decided 同意推进 before the decision closed the objections it
    overruled (its close removed here by hand, with the append-only trigger off): the sync
    closes it as the decision would have — its decider, its moment — once."""
    from blueprint.analysis.consultation import decide, problem_list

    code = _objected(city, "旧联席会议项目", outcome="meeting", reason="确需实施")
    [item] = [i for i in problem_list(store=city) if i["project"] == code]
    decided_at = T0 + timedelta(days=1)
    decide(item["id"], user=STAFF, decision="proceed", meeting_date=date(2026, 3, 2),
           attendees=["市发展改革委"], text="同意推进。", store=city, at=decided_at)
    [objection] = [p for p in list_problems(store=city, project=code)
                   if p.source == "consultation"]
    _drop_close(city, objection.id)
    assert [p.status for p in list_problems(store=city, project=code)
            if p.source == "consultation"] == ["open"]
    done = sync_consultation_problems(user=STAFF, store=city, at=T0 + timedelta(days=30))
    assert done.closed == [objection.id]
    [back] = [p for p in list_problems(store=city, project=code) if p.source == "consultation"]
    assert back.status == "closed" and "同意推进" in back.closing_note
    assert back.closed_at == decided_at  # as of the decision, not of the sync
    assert sync_consultation_problems(user=STAFF, store=city).closed == []


def test_the_sync_raises_what_older_rounds_left(city: Store) -> None:
    """A round closed before the hook existed (its problems deleted here by hand, with the
    append-only trigger off): the sync raises them, once."""
    code = _objected(city, "旧会商项目", outcome="revise", reason="退回修改")
    [raised] = list_problems(store=city, project=code)
    _drop_problem(city, raised.id)
    assert list_problems(store=city, project=code) == []
    again = sync_consultation_problems(user=STAFF, store=city)
    assert len(again.raised) == 1
    assert sync_consultation_problems(user=STAFF, store=city).raised == []
    [back] = list_problems(store=city, project=code)
    assert back.source_ref == raised.source_ref and back.owner_unit == raised.owner_unit
    with pytest.raises(NotAllowed) as refused:
        sync_consultation_problems(user=DCF_STAFF, store=city)
    # said of what was asked, a city-level act (it was told it may not change the layers)
    assert refused.value.message_zh == "用户“nr_dcf”为县级用户，此操作仅限市级"


def _drop_problem(store: Store, problem_id: int) -> None:
    postgres = store.engine.dialect.name == "postgresql"
    with store.engine.begin() as conn:
        if postgres:
            conn.execute(sa.text("ALTER TABLE tracking_problems DISABLE TRIGGER "
                                 "tracking_problems_append_only"))
        else:
            conn.execute(sa.text("DROP TRIGGER tracking_problems_no_delete"))
        conn.execute(sa.text(f"DELETE FROM tracking_problems WHERE id = {problem_id}"))
        if postgres:
            conn.execute(sa.text("ALTER TABLE tracking_problems ENABLE TRIGGER "
                                 "tracking_problems_append_only"))


def _drop_close(store: Store, problem_id: int) -> None:
    postgres = store.engine.dialect.name == "postgresql"
    with store.engine.begin() as conn:
        if postgres:
            conn.execute(sa.text("ALTER TABLE tracking_problem_events DISABLE TRIGGER ALL"))
        else:
            triggers = conn.execute(sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name = 'tracking_problem_events'")).all()
            for name, _sql in triggers:
                conn.execute(sa.text(f"DROP TRIGGER {name}"))
        conn.execute(sa.text("DELETE FROM tracking_problem_events WHERE kind = 'close' "
                             f"AND problem_id = {problem_id}"))
        if postgres:
            conn.execute(sa.text("ALTER TABLE tracking_problem_events ENABLE TRIGGER ALL"))
        else:
            for _name, sql in triggers:
                conn.execute(sa.text(sql))


def _app(store: Store) -> Any:
    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings

    return create_app(Settings(database_url=store.database_url, data_dir=store.data_dir))


def test_the_service_officer_and_county_staff_report_over_http(tstore: Store) -> None:
    """李专员 is the officer of one project (whatever his role and county) and may report
    for it with his own token; not for another project. County staff: their county only."""
    from fastapi.testclient import TestClient

    from blueprint.layers.users import create_user

    mine = tracked(tstore, "专员填报项目")
    other = create_project(park_project(name="他人项目", service_officer="王专员"), user=STAFF,
                           store=tstore, at=cn("2026-01-05 09:00")).code
    tokens = {
        "officer": create_user("李专员", "department", None, department="drc", store=tstore,
                               actor="test"),
        "officer_yg": create_user("王专员", "nr_staff", YG, store=tstore, actor="test"),
        "dcf": create_user("api_dcf", "county_quota_manager", DCF, store=tstore, actor="test"),
        "yg": create_user("api_yg", "county_quota_manager", YG, store=tstore, actor="test"),
        "viewer": create_user("api_viewer", "viewer", None, store=tstore, actor="test"),
    }
    body = {"month": "2026-01", "investment": "100"}

    def post(who: str, code: str) -> Any:
        return client.post(f"/api/tracking/projects/{code}/reports", json=body,
                           headers={"Authorization": f"Bearer {tokens[who]}"})

    with TestClient(_app(tstore)) as client:
        done = post("officer", mine)
        assert done.status_code == 201 and done.json()["reported_by"] == "李专员"
        refused = post("officer", other)  # not his project: 403, and nothing stored
        assert refused.status_code == 403 and "服务专员" in refused.json()["message_zh"]
        assert post("officer_yg", other).status_code == 201  # 阳谷 staff, but its officer
        assert post("yg", mine).status_code == 403  # 阳谷 staff, a 东昌府区 project
        assert "本县" in post("yg", mine).json()["message_zh"]
        assert post("dcf", mine).status_code == 201
        assert post("viewer", mine).status_code == 403
        reports = client.get(f"/api/tracking/projects/{mine}/reports",
                             headers={"Authorization": f"Bearer {tokens['viewer']}"}).json()
        assert [r["reported_by"] for r in reports] == ["api_dcf"]  # the newest of January


def test_photos_over_http(tstore: Store) -> None:
    from fastapi.testclient import TestClient

    from blueprint.layers.users import create_user

    code = tracked(tstore, "接口照片项目")
    staff = create_user("photo_dcf", "nr_staff", DCF, store=tstore, actor="test")
    yg = create_user("photo_yg", "nr_staff", YG, store=tstore, actor="test")
    viewer = create_user("photo_viewer", "viewer", None, store=tstore, actor="test")
    auth = {"Authorization": f"Bearer {staff}"}
    jpeg = image("JPEG", "orange")
    with TestClient(_app(tstore)) as client:
        report = client.post(f"/api/tracking/projects/{code}/reports", headers=auth,
                             json={"month": "2026-01", "investment": "10"}).json()
        url = f"/api/tracking/reports/{report['id']}/photos"
        before = _state(tstore)
        for name, data, status in (("zip.png", png_on_zip(), 422), ("a.svg", SVG, 422),
                                   ("big.jpg", jpeg + b"\0" * MAX_PHOTO_BYTES, 413)):
            got = client.post(url, headers=auth, files=[("photos", (name, data, "image/png"))])
            assert got.status_code == status, got.text
            assert name in got.json()["message_zh"] and "拒收" in got.json()["message_zh"]
        assert client.post(url, headers={"Authorization": f"Bearer {yg}"},
                           files=[("photos", ("a.jpg", jpeg, "image/jpeg"))]).status_code == 403
        assert _state(tstore) == before
        added = client.post(url, headers=auth,
                            files=[("photos", ("现场.txt", jpeg, "text/plain"))])
        assert added.status_code == 201
        [photo] = added.json()
        assert photo["content_type"] == "image/jpeg" and photo["name"] == "现场.txt"
        [listed] = client.get(f"/api/tracking/projects/{code}/reports",
                              headers={"Authorization": f"Bearer {viewer}"}).json()
        assert [p["id"] for p in listed["photos"]] == [photo["id"]]
        served = client.get(photo["url"], headers={"Authorization": f"Bearer {viewer}"})
        assert served.status_code == 200 and served.content == jpeg
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert client.get(photo["url"]).status_code == 401
        assert client.get("/api/tracking/photos/999999", headers=auth).status_code == 404


def test_dispatch_and_adjustment_over_http(tstore: Store) -> None:
    from fastapi.testclient import TestClient

    from blueprint.layers.users import create_user

    code = tracked(tstore, "接口调度项目")
    city_ = create_user("disp_city", "nr_staff", None, store=tstore, actor="test")
    county = create_user("disp_dcf", "nr_staff", DCF, store=tstore, actor="test")
    meeting = {"held_on": "2026-02-09", "attendees": ["市重点项目办", "市住房和城乡建设局"],
               "projects": [code], "decisions": "本周完成施工许可。",
               "problems": [{"project": code, "text": "施工许可材料不全",
                             "owner_unit": "市住房和城乡建设局", "due_on": "2026-02-16"}]}
    adjust = {"quarter": "2026-Q1", "decided_on": "2026-03-30",
              "items": [{"project": code, "action": "replan", "reason": "环评推迟"}]}
    with TestClient(_app(tstore)) as client:
        for path, body in (("dispatches", meeting), ("adjustments", adjust)):
            refused = client.post(f"/api/tracking/{path}", json=body,
                                  headers={"Authorization": f"Bearer {county}"})
            assert refused.status_code == 403 and "市级" in refused.json()["message_zh"]
            done = client.post(f"/api/tracking/{path}", json=body,
                               headers={"Authorization": f"Bearer {city_}"})
            assert done.status_code == 201, done.text
        listed = client.get("/api/tracking/dispatches", params={"project": code},
                            headers={"Authorization": f"Bearer {county}"}).json()
        assert listed[0]["week"] == "2026-W07" and len(listed[0]["problems"]) == 1
        problems = client.get("/api/tracking/problems",
                              headers={"Authorization": f"Bearer {county}"}).json()
        assert any(p["source_zh"] == "周调度" and p["due_on"] == "2026-02-16" for p in problems)
        [adj] = [a for a in client.get("/api/tracking/adjustments", headers={
            "Authorization": f"Bearer {county}"}).json() if a["items"][0]["project"] == code]
        assert adj["items"][0]["action_zh"] == "计划调整"


def test_the_record_commands(tstore: Store, monkeypatch: pytest.MonkeyPatch,
                             tmp_path: Any) -> None:
    """``blueprint tracking report --photo``, ``dispatch``, ``adjust``, ``sync-problems``."""
    import json

    from typer.testing import CliRunner

    from blueprint.service.cli import app

    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", tstore.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(tstore.data_dir))
    monkeypatch.setenv("COLUMNS", "250")
    code = tracked(tstore, "命令行记录项目")
    (tmp_path / "现场.png").write_bytes(image("PNG", "navy"))
    (tmp_path / "fake.png").write_bytes(SVG)
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> str:
        result = runner.invoke(app, list(args))
        assert (result.exit_code == 0) == ok, (args, result.output, result.exception)
        return str(result.output)

    assert "照片 1 张" in run("tracking", "report", code, "--month", "2026-01", "--investment",
                             "10", "--photo", str(tmp_path / "现场.png"))
    refused = runner.invoke(app, ["tracking", "report", code, "--month", "2026-02",
                                  "--investment", "10", "--photo", str(tmp_path / "fake.png")])
    assert isinstance(refused.exception, InvalidFile)  # the CLI's entry point prints it
    assert "不是有效的 JPEG 或 PNG 图片" in refused.exception.message_zh
    assert "交办问题 1 个" in run(
        "tracking", "dispatch", "record", "--date", "2026-02-02", "--attendee", "市重点项目办",
        "--project", code, "--decisions", "加快推进", "--problem", f"{code}@道路未通@交通运输局")
    [held] = [d for d in json.loads(run("tracking", "dispatch", "list", "--project", code,
                                        "--format", "json"))]
    assert held["week"] == "2026-W06"
    assert "1 个项目" in run("tracking", "adjust", "record", "--quarter", "2026-Q1", "--date",
                            "2026-03-30", "--item", f"{code}@in@投资增加")
    assert "调入" in run("tracking", "adjust", "list")
    assert "生成问题" in run("tracking", "sync-problems")


def test_the_report_form_files_through_the_core_and_answers_in_chinese(tstore: Store) -> None:
    """The project page's form: CSRF needed; a bad amount or a fake photo answers the page
    (HTML, in Chinese) with nothing stored; a good form with a photo is filed (303), and the
    page shows the photo, served with its type. Another county's staff get no form."""
    from fastapi.testclient import TestClient

    from blueprint.layers.sessions import sign_in
    from blueprint.layers.users import create_user
    from blueprint.web.session import COOKIE

    code = tracked(tstore, "表单填报项目")
    for name, county in (("form_dcf", DCF), ("form_yg", YG)):
        create_user(name, "nr_staff", county, store=tstore, actor="test", password="pw-1234567890")
    sessions = {n: sign_in(n, "pw-1234567890", store=tstore, hours=1) for n in ("form_dcf",
                                                                          "form_yg")}
    url = f"/tracking/projects/{code}/reports"
    png = image("PNG", "yellow")
    with TestClient(_app(tstore), base_url="https://testserver") as client:
        def post(who: str, data: dict[str, str], files: Any = None, csrf: bool = True) -> Any:
            session_id, session = sessions[who]
            client.cookies.set(COOKIE, session_id)
            form = data | ({"csrf": session.csrf} if csrf else {})
            return client.post(url, data=form, files=files, follow_redirects=False)

        client.cookies.set(COOKIE, sessions["form_yg"][0])
        other = client.get(f"/tracking/projects/{code}").text
        assert 'id="bp-report-form"' not in other  # and says who reports, not a blank
        assert ('id="bp-no-report">本项目的月报由县区 371502 工作人员、市级工作人员或本项目的'
                '服务专员填报') in other  # a county the ledger's list does not name: its code
        client.cookies.set(COOKIE, sessions["form_dcf"][0])
        mine = client.get(f"/tracking/projects/{code}").text
        assert 'id="bp-report-form"' in mine and 'id="bp-no-report"' not in mine
        before = _state(tstore)
        good = {"month": "2026-02", "investment": "88", "funds_arrived": "80",
                "reached_start": "2026-02-10", "problems": "用地报批材料缺失@市自然资源和规划局"}
        assert post("form_dcf", good, csrf=False).status_code == 403
        bad = post("form_dcf", good | {"investment": "八十八"})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("text/html")
        # the refusal names the field as the form labels it, and what was typed
        assert "本月完成投资须为非负金额（万元），而非“八十八”" in bad.text
        assert 'value="八十八"' in bad.text  # kept as typed
        assert "所选照片未保存" not in bad.text  # none was chosen
        fake = post("form_dcf", good, files=[("photos", ("伪装.png", png_on_zip(), "image/png"))])
        assert fake.status_code == 422 and "照片“伪装.png”不是有效的 JPEG 或 PNG 图片" in fake.text
        # the page shown again cannot keep the chosen photo: it says to choose it again
        assert "所选照片未保存，请重新选择后再提交。" in fake.text
        late = post("form_dcf", good | {"reached_start": "2099-01-01"})
        assert late.status_code == 422 and "开工节点的完成日期不能晚于今天" in late.text
        refused = post("form_yg", good)
        assert refused.status_code == 403 and "本县" in refused.text
        assert _state(tstore) == before
        done = post("form_dcf", good, files=[("photos", ("现场.png", png, "image/png"))])
        assert done.status_code == 303
        assert done.headers["location"] == f"/tracking/projects/{code}?filed=2026-02"
        [report] = project_reports(code, store=tstore)
        assert (report.investment, report.reported_by) == (88, "form_dcf")
        assert report.milestones == {"start": date(2026, 2, 10)}
        [photo] = report.photos
        shown = client.get(f"/tracking/projects/{code}?filed=2026-02").text
        assert f'/tracking/photos/{photo["id"]}' in shown and "用地报批材料缺失" in shown
        assert "2026-02 月报已报送" in shown  # the filer is told it went through
        assert "月报已报送" not in client.get(f"/tracking/projects/{code}?filed=<b>").text
        served = client.get(f"/tracking/photos/{photo['id']}")
        assert served.content == png and served.headers["content-type"] == "image/png"
        [problem] = list_problems(store=tstore, project=code)
        assert problem.owner_unit == "市自然资源和规划局" and problem.source == "report"


def test_months_and_problems_are_late_only_once_they_are(tstore: Store) -> None:
    """An open problem past its due date was listed without a word of it (the bulletin alone
    counted it): now 逾期 N 天 beside the date, on the project page and the battle map page.
    The project page said 未报送 for every planned month without a report: the month
    still open (due by the 28th) and months of the plan still to come read as missed, the
    word the late list uses for a missed report. Now: 未报送 once the window has closed,
    待报送 with the closing day while it is open, 未到报送期 for a month to come."""
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from blueprint.analysis.clock import today_cn
    from blueprint.analysis.tracking import raise_problem
    from blueprint.analysis.tracking.config import load_settings
    from blueprint.analysis.tracking.model import month_of
    from blueprint.layers.sessions import sign_in
    from blueprint.layers.users import create_user
    from blueprint.web.session import COOKIE

    today = today_cn()
    this = month_of(today)
    coming = month_of(date(today.year + today.month // 12, today.month % 12 + 1, 1))
    code = create_project(park_project(name="报送期测试项目"), user=STAFF, store=tstore).code
    set_plan(code, milestones=[], investment={"2026-01": "10", this: "10", coming: "10"},
             user=STAFF, store=tstore)
    create_user("months_viewer", "viewer", None, store=tstore, actor="test",
                password="pw-1234567890")
    session_id, _ = sign_in("months_viewer", "pw-1234567890", store=tstore, hours=1)
    late = raise_problem(code, "临时用电未接通", user=STAFF, store=tstore,
                         owner_unit="国网供电公司", due_on=today - timedelta(days=3))
    with TestClient(_app(tstore), base_url="https://testserver") as client:
        client.cookies.set(COOKIE, session_id)
        shown = client.get(f"/tracking/projects/{code}").text
        listed = client.get("/tracking").text
    # a problem past its due date says so where it is listed (only the bulletin counted it)
    for page, table in ((shown, "bp-project-problems"), (listed, "bp-problems")):
        row = page.split(f'id="{table}"', 1)[1].split("临时用电未接通", 1)[1].split("</tr>")[0]
        assert '<span class="bp-tag bp-late">逾期 3 天</span>' in row, row
    assert late.overdue(today)
    cells = {m: shown.split(f'<tr data-month="{m}">', 1)[1].split("</tr>", 1)[0]
             for m in ("2026-01", this, coming)}
    assert "未报送" in cells["2026-01"]
    close_day = load_settings().close_day  # 28 unless configured
    closed = today.day > close_day
    assert ("未报送" if closed else f"待报送（{this}-{close_day:02d} 截止）") in cells[this], \
        cells[this]
    assert "未到报送期" in cells[coming] and "未报送" not in cells[coming], cells[coming]


def test_the_report_form_offers_the_milestones_the_core_takes(tstore: Store) -> None:
    """The form offered all 8 milestones, those not in the plan and the one already reached
    too. Now it offers the plan's milestones not yet reached (开工 only, for this plan),
    then none once 开工 is reported; a milestone typed into the post anyway is refused on
    the page, named."""
    from fastapi.testclient import TestClient

    from blueprint.analysis.clock import today_cn
    from blueprint.analysis.tracking.model import month_of
    from blueprint.layers.sessions import sign_in
    from blueprint.layers.users import create_user
    from blueprint.web.session import COOKIE

    code = tracked(tstore, "表单节点项目")
    create_user("offer_dcf", "nr_staff", DCF, store=tstore, actor="test",
                password="pw-1234567890")
    session_id, session = sign_in("offer_dcf", "pw-1234567890", store=tstore, hours=1)

    def offered(html: str) -> list[str]:
        box = html.split('id="bp-reached"', 1)[1].split("</fieldset>", 1)[0]
        return [n.split('"', 1)[0] for n in box.split('name="reached_')[1:]]

    with TestClient(_app(tstore), base_url="https://testserver") as client:
        client.cookies.set(COOKIE, session_id)
        assert offered(client.get(f"/tracking/projects/{code}").text) == ["start"]
        form = {"csrf": session.csrf, "month": "2026-02", "investment": "10",
                "reached_land": "2026-02-03"}
        refused = client.post(f"/tracking/projects/{code}/reports", data=form)
        assert refused.status_code == 422
        assert "用地审批节点不在本项目的跟踪计划（倒排工期）中" in refused.text
        assert project_reports(code, store=tstore) == []
        submit_report(code, "2026-02", investment="10", milestones={"start": "2026-02-03"},
                      user=DCF_STAFF, store=tstore)
        shown = client.get(f"/tracking/projects/{code}").text
        assert month_of(today_cn()) != "2026-02" and offered(shown) == []
        assert "计划中的节点均已报送完成" in shown
        # the form's script offers, for each month typed, what the core takes for it:
        # 开工 for 2026-02 (its own report may be corrected), nothing for any other month
        offers = json.loads(shown.split('<script id="bp-offers" type="application/json">',
                                        1)[1].split("</script>", 1)[0])
        assert offers["months"] == {"2026-02": ["start"]} and offers["other"] == []
        assert offers["names"]["start"] == "开工"
        form |= {"reached_start": "2026-02-03", "reached_land": ""}
        assert client.post(f"/tracking/projects/{code}/reports", data=form,
                           follow_redirects=False).status_code == 303
        late = client.post(f"/tracking/projects/{code}/reports", data=form | {
            "month": "2026-03", "reached_start": "2026-03-01"})
        assert late.status_code == 422 and "开工节点已于 2026-02-03 完成" in late.text


def test_an_exited_project_s_page_offers_no_report_form(tstore: Store) -> None:
    """A project taken out of the library (调出) is managed no more: its page offered the
    report form to its county's staff, a form the core refuses whatever is typed. It says
    the project has left management instead, and no colour."""
    from fastapi.testclient import TestClient

    from blueprint.analysis.projects import exit_project
    from blueprint.layers.sessions import sign_in
    from blueprint.layers.users import create_user
    from blueprint.web.session import COOKIE

    code = tracked(tstore, "调出页面项目")
    exit_project(code, user=STAFF, store=tstore, reason="企业放弃投资",
                 at=cn("2026-03-10 10:00"))
    create_user("exit_dcf", "nr_staff", DCF, store=tstore, actor="test",
                password="pw-1234567890")
    session_id, _ = sign_in("exit_dcf", "pw-1234567890", store=tstore, hours=1)
    with TestClient(_app(tstore), base_url="https://testserver") as client:
        client.cookies.set(COOKIE, session_id)
        page = client.get(f"/tracking/projects/{code}")
    assert page.status_code == 200
    assert 'id="bp-report-form"' not in page.text and 'id="bp-no-report"' not in page.text
    assert 'id="bp-exited">本项目已调出项目库，退出管理，不再填报月报。' in page.text
    assert 'id="bp-colour"' not in page.text
