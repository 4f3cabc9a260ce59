"""What HTTP itself asks of every address, over real HTTP on both engines: ``HEAD``
wherever ``GET`` answers (RFC 9110 §9.3.2; before, ``HEAD /api/layers`` was a 405), and a
401 that says whether the bearer token sent was bad (RFC 6750 §3: ``Bearer
error="invalid_token"``) or none was sent (``Bearer``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from blueprint.layers.users import create_user, disable_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.helpers import box, frame, write

#: Headers a HEAD answer must carry as the GET answer does (RFC 9110 §9.3.2)
SAME = ("content-type", "content-length", "etag", "cache-control", "x-total-count",
        "content-crs", "allow", "www-authenticate")
INVALID = 'Bearer error="invalid_token"'


def _client(store: Store, **settings: object) -> TestClient:
    return TestClient(create_app(Settings(data_dir=store.data_dir,
                                          database_url=store.database_url, **settings)))


@pytest.fixture
def red(store: Store, tmp_path: Path) -> Iterator[Store]:
    """The store with one red-line layer ``red``."""
    path = write(frame([box(0, 0, 100, 100)], name=["红线"]), tmp_path / "red.gpkg")
    import_layer(path, ImportOptions(kind="ecological_redline", name="red"), store=store)
    yield store


def test_head_answers_as_get_without_a_body(red: Store) -> None:
    """The API's, the OGC API's and a page's GET addresses answer HEAD: the status and the
    headers of GET (its type, length, a tile's ETag, the audit's total), no body; a
    conditional HEAD of a tile is a 304 as the GET is; an unknown address a 404."""
    token = create_user("city_admin", "admin", None, store=red, actor="t")
    auth = {"Authorization": f"Bearer {token}"}
    tile = "/api/layers/red/tiles/0/0/0.pbf"
    with _client(red) as client:
        for path, headers in (("/api/layers", {}), ("/api/layers/red", {}), (tile, {}),
                              ("/api/audit", auth), ("/api/projects", {}),
                              ("/api/layers/nope", {}), ("/ogc/collections/red/items", {}),
                              ("/", {})):
            get, head = client.get(path, headers=headers), client.head(path, headers=headers)
            assert head.status_code == get.status_code, (path, head.status_code)
            assert head.content == b"" and get.content, path
            for name in SAME:
                assert head.headers.get(name) == get.headers.get(name), (path, name)
        assert client.head(tile).headers["etag"].startswith('"')
        assert int(client.head("/api/audit", headers=auth).headers["x-total-count"]) == 2
        etag = client.get(tile).headers["etag"]
        again = client.head(tile, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert client.head("/api/nothing-here").status_code == 404


def test_head_where_get_is_not_answered_is_a_405_naming_head(store: Store) -> None:
    """``HEAD /api/vet`` (POST only) is a 405 with no body; every 405's ``Allow`` lists
    HEAD exactly where it lists GET."""
    with _client(store) as client:
        head = client.head("/api/vet")
        assert head.status_code == 405 and head.headers["allow"] == "POST"
        assert head.content == b""
        answer = client.delete("/api/layers")
        assert answer.headers["allow"] == "GET, HEAD, POST"
        assert answer.json()["message_zh"] == \
            "不支持该请求方法（DELETE），此地址可用：GET、HEAD、POST"


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
        assert client.head("/api/layers").status_code == 200
