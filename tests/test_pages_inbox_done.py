"""The inbox confirms a department's answer (the real app, FastAPI TestClient, both engines),
also when that answer was the last agreement and closed the round: the round then leaves
the inbox, and the page still says the answer was recorded and how the round ended, not a
bare 没有待答复的会商 that leaves the user wondering whether it was saved."""

from __future__ import annotations

from pathlib import Path

from projects_support import city, dept_user  # noqa: F401  (city: fixture)

from blueprint.analysis.consultation import answer
from blueprint.analysis.projects import get_project
from blueprint.layers.store import Store
from tests.test_pages import _client, _csrf, _login, _project_in_consultation


def test_the_last_agreement_is_confirmed_though_the_round_left_the_inbox(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    code, rnd = _project_in_consultation(city, tmp_path)
    for a in rnd.active:
        if a.department != "industry":
            answer(rnd.id, user=dept_user(a.department), answer="agree", text="同意。",
                   store=city)
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        done = gxj.post(f"/inbox/{rnd.id}/answer", follow_redirects=False, data={
            "csrf": _csrf(gxj, "/inbox"), "answer": "agree", "text": "同意。"})
        assert done.status_code == 303, done.text[-600:]
        told = gxj.get(done.headers["location"]).text
        assert get_project(code, store=city).stage == "reserve"
        assert "没有待答复的会商" in told  # the round is no longer waiting for anyone
        said = told.split('id="bp-done">', 1)[1].split("</p>", 1)[0]
        assert f"已提交对项目 <a href=\"/projects/{code}\">{code} " in said, said
        assert "的意见（同意）。本轮会商已结束：会商通过。" in said, said
        # a project this department has no answer on says nothing
        assert 'id="bp-done"' not in gxj.get("/inbox?done=LC-2025-0001").text
