"""Where signing in from the bare /login page leads (the real app, FastAPI TestClient, both
engines): a department to its inbox (待办会商, its work), natural resources staff to the
project library; a page asked for (``next``) still wins, and a signed-in user opening
/login goes to the same place."""

from __future__ import annotations

import re
from pathlib import Path

from projects_support import city  # noqa: F401  (city: fixture)

from blueprint.layers.store import Store
from tests.test_pages import PASSWORD, _client, _users


def _sign_in(client, name: str, login: str = "/login"):  # type: ignore[no-untyped-def]
    page = client.get(login).text
    token = re.search(r'name="login_token" value="([^"]+)"', page)
    target = re.search(r'name="next" value="([^"]*)"', page)
    assert token and target
    return client.post("/login", follow_redirects=False, data={
        "name": name, "password": PASSWORD, "login_token": token.group(1),
        "next": target.group(1)})


def test_each_user_starts_where_their_work_is(city: Store, tmp_path: Path) -> None:  # noqa: F811
    _users(city)
    for name, home in (("gxj", "/inbox"), ("nr", "/projects"), ("nr_yg", "/projects")):
        with _client(city, tmp_path) as client:
            signed = _sign_in(client, name)
            assert signed.status_code == 303 and signed.headers["location"] == home, name
            again = client.get("/login", follow_redirects=False)
            assert again.headers["location"] == home, name
    with _client(city, tmp_path) as gxj:
        asked = _sign_in(gxj, "gxj", "/login?next=/meeting")
        assert asked.headers["location"] == "/meeting"
