"""What HTTP itself asks of every address, over real HTTP on both engines: a 401 that says
whether the bearer token sent was bad (RFC 6750 §3: ``Bearer error="invalid_token"``) or
none was sent (``Bearer``)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from blueprint.layers.store import Store
from blueprint.layers.users import create_user, disable_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

INVALID = 'Bearer error="invalid_token"'


def _client(store: Store, **settings: object) -> TestClient:
    return TestClient(create_app(Settings(data_dir=store.data_dir,
                                          database_url=store.database_url, **settings)))


def test_a_401_says_whether_the_token_sent_is_not_valid(store: Store) -> None:
    """No token: ``WWW-Authenticate: Bearer``; a token that is unknown, expired or a
    disabled user's: ``Bearer error="invalid_token"`` (RFC 6750 §3), the same JSON error
    as before; a valid one still answers."""
    good = create_user("reader", "viewer", None, store=store, actor="t")
    expired = create_user("old", "viewer", None, store=store, actor="t", token_days=-1)
    gone = create_user("gone", "viewer", None, store=store, actor="t")
    disable_user("gone", store=store, actor="t")
    with _client(store) as client:
        def asked(token: str | None) -> tuple[int, str | None, str]:
            headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
            answer = client.get("/api/projects", headers=headers)
            body = answer.json() if answer.status_code == 401 else {"error": ""}
            return answer.status_code, answer.headers.get("www-authenticate"), body["error"]

        assert asked(None) == (401, "Bearer", "not_authenticated")
        for token in ("no-such-token", expired, gone):
            assert asked(token) == (401, INVALID, "not_authenticated"), token
        assert asked(good)[0] == 200
        zh = client.get("/api/projects", headers={"Authorization": f"Bearer {expired}"})
        assert zh.json()["message_zh"].startswith("访问令牌已过期")


def test_behind_sign_in_a_cookie_is_no_bearer_token(store: Store) -> None:
    """With the map behind sign-in (``BLUEPRINT_PUBLIC_MAP=false``) the gate answers the
    same: no credentials ``Bearer``, a bad token ``invalid_token``; a signed-in page
    session still reads the API, and a session cookie that names no session is no bearer
    token (plain ``Bearer``)."""
    from blueprint.layers.sessions import SESSION_COOKIE, sign_in

    create_user("staff", "nr_staff", None, store=store, actor="t", password="correct horse battery")
    session_id, _ = sign_in("staff", "correct horse battery", store=store, hours=1)
    with _client(store, public_map=False) as client:
        anonymous = client.get("/api/layers")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
        bad = client.get("/api/layers", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.headers["www-authenticate"] == INVALID
        client.cookies.set(SESSION_COOKIE, "ended-long-ago")
        ended = client.get("/api/layers")
        assert ended.status_code == 401 and ended.headers["www-authenticate"] == "Bearer"
        client.cookies.set(SESSION_COOKIE, session_id)
        assert client.get("/api/layers").status_code == 200
