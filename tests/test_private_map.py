"""``BLUEPRINT_PUBLIC_MAP=false``: the map, its API reads and the OGC API behind sign-in.

A city whose red lines and farmland are restricted sets it; then an anonymous visitor of
the map is sent to sign in (303) and comes back to it, an anonymous program gets the API's
401, and a bearer token or the page session opens everything as before. One middleware
decides (service/sign_in_gate.py): every route of the app but a short allow-list refuses
an anonymous caller, so a route added later cannot be left open by mistake. The default
(true) leaves the one-command demo's public map as it was."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from projects_support import city  # noqa: F401  (fixture)

from blueprint.layers import sessions
from blueprint.layers.errors import BadInput
from blueprint.layers.schema import sessions as session_rows
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.settings import Settings, get_settings
from blueprint.service.sign_in_gate import OPEN_PATHS
from tests.test_pages import PASSWORD, SITE, _client, _csrf

#: what may answer an anonymous caller with the setting false (the gate's own list, and
#: written out here so that widening it is a visible change to this test)
ALLOWED = {"/login", "/logout", "/favicon.ico", "/docs", "/docs/oauth2-redirect",
           "/openapi.json", "/static"}
#: what the map and programs read, which the walk below must find (it is not empty)
MAP_READS = {("GET", "/"), ("GET", "/api/layers"), ("GET", "/api/layers/{name}/features"),
             ("GET", "/api/layers/{name}/tiles/{z}/{x}/{y}.pbf"),
             ("GET", "/api/layers/{name}/image.png"), ("GET", "/api/layers/{name}/image"),
             ("POST", "/api/vet"), ("POST", "/api/vet/file"), ("POST", "/api/site-search"),
             ("GET", "/ogc"), ("GET", "/ogc/collections/{name}/items")}


def _routes(app: Any) -> Iterator[tuple[str, str]]:
    """(method, path) of every route of the app, through included routers and mounts;
    a mount (``/static``) as ("MOUNT", its path)."""
    def walk(items: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
        for r in items:
            if hasattr(r, "original_router"):  # an included router (FastAPI ≥ 0.12x)
                yield from walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif hasattr(r, "routes") and not hasattr(r, "methods"):  # a mount
                yield "MOUNT", prefix + r.path
            elif getattr(r, "path", ""):
                for method in sorted(getattr(r, "methods", None) or {"GET"}):
                    yield method, prefix + r.path
    return walk(app.routes)


def _address(path: str) -> str:
    """A path with each ``{param}`` filled in (a number where one is expected)."""
    return re.sub(r"\{([^}:]+)(:[^}]*)?\}",
                  lambda m: "1" if m.group(1) in {"z", "x", "y", "fid", "id"} else "x", path)


def _sign_in(client: TestClient, name: str, next_: str = "/", at: str = "") -> str:
    """Sign ``name`` in through the form of /login?next=…; where the sign-in goes."""
    form = client.get(f"{at}/login?next={next_}")
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    kept = re.search(r'name="next" value="([^"]*)"', form.text)
    assert token and kept, form.text[:300]
    signed = client.post(f"{at}/login", follow_redirects=False, data={
        "name": name, "password": PASSWORD, "login_token": token.group(1),
        "next": unescape(kept.group(1))})
    assert signed.status_code == 303, signed.text[:300]
    return str(signed.headers["location"])


def _refused(answer: Any) -> None:
    """The API's 401: its JSON error, in Chinese too, asking for a bearer token."""
    assert answer.status_code == 401, (answer.request.url, answer.status_code, answer.text[:200])
    body = answer.json()
    assert body["error"] == "not_authenticated" and "登录" in body["message_zh"], body
    assert answer.headers["www-authenticate"] == "Bearer"


def test_every_route_but_the_allow_list_refuses_an_anonymous_caller(
        store: Store, tmp_path: Path) -> None:
    """Walks app.routes: an API or OGC route answers 401, a page 303 to sign in that comes
    back; only the allow-list answers as it did."""
    assert {p.rstrip("/") for p in OPEN_PATHS} | {"/static"} == ALLOWED
    with _client(store, tmp_path, public_map=False) as client:
        client.app.get("/api/added-later")(lambda: {"open": True})  # a route added later
        client.app.get("/added-later")(lambda: {"open": True})
        found = set(_routes(client.app))
        assert {("GET", "/api/added-later"), ("GET", "/added-later")} <= found
        assert MAP_READS <= found, MAP_READS - found
        for method, path in sorted(found):
            if path in ALLOWED or method in ("HEAD", "OPTIONS"):
                continue
            address = _address(path)
            answer = client.request(method, address, follow_redirects=False)
            if address.startswith(("/api/", "/ogc")):
                _refused(answer)
            else:
                assert answer.status_code == 303, (method, address, answer.status_code)
                assert answer.headers["location"] == f"/login?next={address}"
        assert client.get("/api/layers/x/features?bbox=1,2,3,4").status_code == 401
        assert client.get("/no-such-page", follow_redirects=False).status_code == 303
        for path in ("/login", "/docs", "/openapi.json", "/favicon.ico", "/static/app.css"):
            assert client.get(path, follow_redirects=False).status_code == 200, path
        assert client.post("/logout", follow_redirects=False).headers["location"] == "/login"


def test_the_map_after_sign_in_and_with_a_token(city: Store, tmp_path: Path) -> None:  # noqa: F811
    token = create_user("staff", "nr_staff", None, store=city, actor="test", password=PASSWORD)
    with _client(city, tmp_path, public_map=False) as client:
        first = client.get("/", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/login?next=/"
        for answer in (client.get("/api/layers"), client.get("/ogc/collections"),
                       client.post("/api/vet", json={"site": SITE}),
                       client.post("/api/vet/file", files={"file": ("s.geojson", b"{}")})):
            _refused(answer)
        wrong = client.get("/api/layers", headers={"Authorization": "Bearer wrong"})
        assert (wrong.status_code, wrong.json()["message_zh"]) == (401, "访问令牌无效")
        assert _sign_in(client, "staff") == "/"
        page = client.get("/")
        assert page.status_code == 200 and "bp-config" in page.text
        layers = client.get("/api/layers").json()
        vector = next(layer["name"] for layer in layers if layer["kind"] != "capacity")
        assert client.get(f"/api/layers/{vector}/features").json()["features"]
        tile = client.get(f"/api/layers/{vector}/tiles/0/0/0.pbf")
        assert tile.status_code == 200 and tile.headers["cache-control"] == (
            "private, max-age=3600")  # no proxy between keeps it for anyone
        assert client.post("/api/vet", json={"site": SITE}).json()["verdict"]
        assert client.get("/ogc/collections").status_code == 200
    with _client(city, tmp_path, public_map=False) as program:
        bearer = {"Authorization": f"Bearer {token}"}
        assert [x["name"] for x in program.get("/api/layers", headers=bearer).json()] == [
            x["name"] for x in layers]
        assert program.get(f"/ogc/collections/{vector}/items", headers=bearer).json()["features"]
        assert program.post("/api/vet", json={"site": SITE}, headers=bearer).status_code == 200
        # the token is the API's: the map page still wants the page's sign-in
        assert program.get("/", headers=bearer, follow_redirects=False).status_code == 303


def test_a_session_that_must_change_its_password_is_sent_to_account(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """As on a public map: the pages send it to /account, the API refuses it (403); a
    browser asking the OGC API for its HTML pages is a person: sent to /account too."""
    create_user("fresh", "nr_staff", None, store=city, actor="test", password=PASSWORD,
                must_change=True)
    with _client(city, tmp_path, public_map=False) as client:
        _sign_in(client, "fresh")
        assert client.get("/api/layers").status_code == 403
        assert client.get("/ogc/collections").status_code == 403
        assert client.get("/ogc/collections", params={"f": "json"}).status_code == 403
        for ask in ({"params": {"f": "html"}}, {"headers": {"Accept": "text/html"}}):
            page = client.get("/ogc/collections", follow_redirects=False, **ask)
            assert page.status_code == 303 and page.headers["location"] == "/account", ask
        assert client.get("/account").status_code == 200


def test_behind_a_proxy_the_sign_in_comes_back_under_its_root(city: Store, tmp_path: Path  # noqa: F811
                                                               ) -> None:
    create_user("staff", "nr_staff", None, store=city, actor="test", password=PASSWORD)
    with _client(city, tmp_path, root_path="/bp", public_map=False) as client:
        first = client.get("/bp/", follow_redirects=False)
        assert first.headers["location"] == "/bp/login?next=/"
        _refused(client.get("/bp/api/layers"))
        assert client.get("/bp/static/app.css").status_code == 200
        assert _sign_in(client, "staff", at="/bp") == "/bp/"
        assert client.get("/bp/api/layers").status_code == 200


#: what a browser sends for a page it opens (Chromium's, for a link or the address bar)
BROWSER_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                  "image/webp,*/*;q=0.8")


def test_a_browser_opening_the_ogc_api_pages_is_sent_to_sign_in_and_back(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """The OGC API's HTML pages (``?f=html``, or a browser's Accept without ``f``) were a
    401 JSON error in the browser: now 303 to sign in, which comes back to the page; a
    program (JSON asked, ``f=json``, no Accept, a wrong token) keeps the API's 401."""
    create_user("staff", "nr_staff", None, store=city, actor="test", password=PASSWORD)
    with _client(city, tmp_path, public_map=False) as client:
        for address, accept in (("/ogc/collections?f=html", "*/*"),
                                ("/ogc/collections", BROWSER_ACCEPT), ("/ogc", "text/html"),
                                ("/ogc/collections/x/items?f=html&limit=5", "*/*")):
            answer = client.get(address, headers={"Accept": accept}, follow_redirects=False)
            assert answer.status_code == 303, (address, answer.status_code, answer.text[:200])
            assert answer.headers["location"] == f"/login?next={quote(address, safe='/')}"
        for address, accept in (("/ogc/collections", "application/json"),
                                ("/ogc/collections?f=json", BROWSER_ACCEPT),
                                ("/ogc/collections", "*/*"), ("/ogc", "application/json")):
            _refused(client.get(address, headers={"Accept": accept}))
        bare = client.build_request("GET", "/ogc/collections")
        del bare.headers["accept"]
        _refused(client.send(bare))
        wrong = client.get("/ogc/collections?f=html", headers={"Authorization": "Bearer wrong"},
                           follow_redirects=False)
        assert (wrong.status_code, wrong.json()["message_zh"]) == (401, "访问令牌无效")
        to_login = client.get("/ogc/collections?f=html", follow_redirects=False)
        back = _sign_in(client, "staff", to_login.headers["location"].split("next=", 1)[1])
        assert back == "/ogc/collections?f=html"
        page = client.get(back)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    with _client(city, tmp_path, root_path="/bp", public_map=False) as client:
        answer = client.get("/bp/ogc?f=html", follow_redirects=False)
        assert answer.headers["location"] == "/bp/login?next=/ogc%3Ff%3Dhtml"


def _counted_session_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The real :func:`layers.sessions.session_user`, wherever the app's modules hold it,
    wrapped to note each call (the request runs the real code)."""
    real, calls = sessions.session_user, []

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append("read")
        return real(*args, **kwargs)

    for name, module in list(sys.modules.items()):
        if name.startswith("blueprint.") and getattr(module, "session_user", None) is real:
            monkeypatch.setattr(module, "session_user", counted)
    return calls


def test_a_request_reads_its_session_once_and_never_beyond_it(
        city: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The gate read the session, then the page's (or the API's) own user dependency read
    it again: two store reads a request. Now the gate's read is the route's; the next
    request reads again, so a session that ended (sign-out, expiry) is ended there."""
    create_user("staff", "nr_staff", None, store=city, actor="test", password=PASSWORD)
    with _client(city, tmp_path, public_map=False) as client:
        assert _sign_in(client, "staff", "/projects") == "/projects"
        reads = _counted_session_reads(monkeypatch)
        for _ in range(2):  # each request reads once: nothing kept from the one before
            for method, address, body in (("GET", "/projects", None), ("GET", "/", None),
                                          ("POST", "/api/vet", {"site": SITE})):
                reads.clear()
                answer = client.request(method, address, json=body, follow_redirects=False)
                assert answer.status_code == 200, (address, answer.status_code)
                assert len(reads) == 1, (address, len(reads))
        kept = client.cookies.get(sessions.SESSION_COOKIE)
        client.post("/logout", data={"csrf": _csrf(client)}, follow_redirects=False)
        client.cookies.set(sessions.SESSION_COOKIE, kept)  # a browser that kept the cookie
        reads.clear()
        ended = client.get("/projects", follow_redirects=False)
        assert ended.headers["location"] == "/login?next=/projects" and len(reads) == 1
        _sign_in(client, "staff", "/projects")
        assert client.get("/projects").status_code == 200
        with city.engine.begin() as conn:
            conn.execute(session_rows.update().values(expires_at=datetime(2020, 1, 1,
                                                                          tzinfo=UTC)))
        expired = client.get("/projects", follow_redirects=False)
        assert expired.headers["location"] == "/login?next=/projects"
        _refused(client.post("/api/vet", json={"site": SITE}))


def test_by_default_the_map_stays_public(city: Store, tmp_path: Path) -> None:  # noqa: F811
    with _client(city, tmp_path) as client:
        assert client.get("/", follow_redirects=False).status_code == 200
        assert client.get("/api/layers").status_code == 200
        assert client.get("/ogc/collections").status_code == 200


def test_the_setting_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLUEPRINT_PUBLIC_MAP", raising=False)
    assert Settings().public_map is True
    monkeypatch.setenv("BLUEPRINT_PUBLIC_MAP", "false")
    assert get_settings().public_map is False
    monkeypatch.setenv("BLUEPRINT_PUBLIC_MAP", "maybe")
    with pytest.raises(BadInput) as refused:
        get_settings()
    assert refused.value.where == "BLUEPRINT_PUBLIC_MAP"
