"""The map's own requests carry the page session, not a bearer token: a 初审意见书 made on
the map by a signed-in user names them as 审查人 (it said 未署名), and a quota check there
is theirs to make; a visitor, a session that ended and a forged cookie are anonymous, and a
bearer token still wins. The real app (FastAPI TestClient), both engines."""

from __future__ import annotations

import json
from pathlib import Path

from projects_support import SITES, city  # noqa: F401  (city: fixture)

from blueprint.layers.sessions import SESSION_COOKIE, change_password, sign_in, sign_out
from blueprint.layers.store import Store
from blueprint.layers.users import create_user, rotate_token
from tests.test_pages import _client

PASSWORD = "a-long-password-1"


def _reviewer(html: str) -> str:
    return html.split("审查人：", 1)[1].split("<", 1)[0].strip()


def test_a_report_made_on_the_map_names_the_signed_in_user(city: Store,  # noqa: F811
                                                             tmp_path: Path) -> None:
    create_user("东昌府区小李", "nr_staff", "371502", store=city, actor="t", password=PASSWORD)
    token = create_user("接口用户", "viewer", None, store=city, actor="t")
    feature = json.loads((SITES / "10_commercial_on_residential.geojson").read_text("utf-8"))
    body = {"site": feature, "industry": "residential"}
    demand = {**body, "demands": {"land": "1"}, "county": "371502"}
    session = sign_in("东昌府区小李", PASSWORD, store=city, hours=8)[0]
    with _client(city, tmp_path) as client:
        anonymous = client.post("/api/vet/report.html", json=body)
        assert anonymous.status_code == 200 and _reviewer(anonymous.text) == "未署名"
        assert client.post("/api/vet", json=demand).status_code == 401
        client.cookies.set(SESSION_COOKIE, session)
        signed = client.post("/api/vet/report.html", json=body)
        assert _reviewer(signed.text) == "东昌府区小李", signed.text[:2000]
        checked = client.post("/api/vet", json=demand)
        assert checked.status_code == 200 and checked.json()["quota"], checked.text[:500]
        by_token = client.post("/api/vet/report.html", json=body,
                               headers={"Authorization": f"Bearer {token}"})
        assert _reviewer(by_token.text) == "接口用户"
        client.cookies.set(SESSION_COOKIE, "forged-session-id")
        assert _reviewer(client.post("/api/vet/report.html", json=body).text) == "未署名"
        sign_out(session, store=city)
        client.cookies.set(SESSION_COOKIE, session)
        assert _reviewer(client.post("/api/vet/report.html", json=body).text) == "未署名"
        assert client.post("/api/vet", json=demand).status_code == 401


def test_the_session_of_a_user_who_must_change_the_password_is_refused_by_the_api(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """A user whose password an administrator set is sent to /account by every page; their
    session cookie opened the API all the same (a report naming them as 审查人). Now 403 in
    the API's error shape, until they change it; their own token is unaffected."""
    create_user("县局科员小王", "nr_staff", "371502", store=city, actor="t",
                password=PASSWORD, must_change=True)
    token = rotate_token("县局科员小王", store=city, actor="t")
    feature = json.loads((SITES / "10_commercial_on_residential.geojson").read_text("utf-8"))
    body = {"site": feature, "industry": "residential"}
    session = sign_in("县局科员小王", PASSWORD, store=city, hours=8)[0]
    with _client(city, tmp_path) as client:
        client.cookies.set(SESSION_COOKIE, session)
        for path in ("/api/vet", "/api/vet/report.html"):
            refused = client.post(path, json=body)
            assert refused.status_code == 403, (path, refused.text[:500])
            said = refused.json()
            assert said["error"] == "not_allowed" and said["where"] == "password", said
            assert "修改" in said["message_zh"] and "password" in said["message"], said
        by_token = client.post("/api/vet/report.html", json=body,
                               headers={"Authorization": f"Bearer {token}"})
        assert by_token.status_code == 200 and _reviewer(by_token.text) == "县局科员小王"
        change_password(session, PASSWORD, "changed-by-me-1", store=city)  # on /account
        signed = client.post("/api/vet/report.html", json=body)
        assert signed.status_code == 200 and _reviewer(signed.text) == "县局科员小王"
