"""The service behind a reverse proxy under a path prefix (uvicorn ``--root-path /bp``).

uvicorn hands the app ``path`` with the root path in front (``/bp/projects``); other servers
and Starlette's test client may hand it without (``/projects``); Starlette routes both. The
pages must read the address below the root either way: where sign-in comes back to, where a
refused form's 返回 leads, whether an error is answered as a page or the API's JSON."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from projects_support import city  # noqa: F401  (fixture)

from blueprint.analysis.projects import get_project
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from tests.test_pages import DCF, PASSWORD, SITE, _client

ROOT = "/bp"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
#: how the server hands the app its address: uvicorn's (the root in ``path``), or without
AS_SENT = {"root in path": ROOT, "root not in path": ""}


def _behind_proxy(store: Store, tmp_path: Path) -> Any:
    """The real app serving ``store`` under the root path ``/bp``."""
    return _client(store, tmp_path, root_path=ROOT)


def _sign_in(client: TestClient, at: str, next_: str | None) -> str:
    """Sign ``staff`` in through the form of ``/login`` (``next_``: the address its link
    carried, None: the form's own hidden field); where the sign-in sends the browser."""
    form = client.get(f"{at}/login" + (f"?next={next_}" if next_ else ""))
    token = re.search(r'name="login_token" value="([^"]+)"', form.text)
    kept = re.search(r'name="next" value="([^"]*)"', form.text)
    assert token and kept, form.text[:300]
    signed = client.post(f"{at}/login", follow_redirects=False, data={
        "name": "staff", "password": PASSWORD, "login_token": token.group(1),
        "next": unescape(kept.group(1))})
    assert signed.status_code == 303, signed.text[:300]
    return str(signed.headers["location"])


def _project(client: TestClient, at: str) -> str:
    """A project saved on /projects/new by the signed-in user: its code."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(f"{at}/projects").text)
    assert csrf
    saved = client.post(f"{at}/projects/new", follow_redirects=False, data={
        "csrf": csrf.group(1), "site": json.dumps(SITE), "name": "代理后的项目", "county": DCF,
        "industry": "industrial", "investment": "6", "responsible_unit": "聊城某公司",
        "origin": "attracted", "demand_new_construction_land": "1.5"})
    assert saved.status_code == 303, saved.text[:300]
    location = str(saved.headers["location"])
    assert location.startswith(f"{ROOT}/projects/LC-"), location
    return location.rsplit("/", 1)[1]


@pytest.fixture
def staff(city: Store) -> Store:  # noqa: F811
    create_user("staff", "nr_staff", None, store=city, actor="test", password=PASSWORD)
    return city


@pytest.mark.parametrize("at", AS_SENT.values(), ids=AS_SENT.keys())
def test_sign_in_comes_back_to_the_page_asked_for(staff: Store, tmp_path: Path,
                                                  at: str) -> None:
    """An anonymous visitor of a project page goes to /bp/login, and signing in brings them
    back to that page under /bp (not /bp/bp/…), its query kept."""
    with _behind_proxy(staff, tmp_path) as client:
        assert _sign_in(client, at, None) == f"{ROOT}/projects"
        code = _project(client, at)
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(f"{at}/projects").text)
        assert csrf
        out = client.post(f"{at}/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
        assert out.headers["location"] == f"{ROOT}/login"
        asked = client.get(f"{at}/projects/{code}?tab=quota", follow_redirects=False)
        assert asked.status_code == 303
        assert asked.headers["location"] == f"{ROOT}/login?next=/projects/{code}%3Ftab%3Dquota"
        login_link = asked.headers["location"].split("?next=", 1)[1]
        assert _sign_in(client, at, login_link) == f"{ROOT}/projects/{code}?tab=quota"
        back = client.get(f"{at}/projects/{code}?tab=quota")
        assert back.status_code == 200 and code in back.text


@pytest.mark.parametrize("at", AS_SENT.values(), ids=AS_SENT.keys())
def test_a_sign_in_link_naming_the_root_comes_back_under_it_once(staff: Store, tmp_path: Path,
                                                                 at: str) -> None:
    """A sign-in link whose ``next`` names the root already (``next=/bp/projects``: saved
    from before the root was read below it, or written by hand) led to /bp/bp/projects,
    a 404. It is taken below the root; a path that only starts like it is not."""
    with _behind_proxy(staff, tmp_path) as client:
        assert _sign_in(client, at, f"{ROOT}/projects?stage=planned") == \
            f"{ROOT}/projects?stage=planned"
        signed = client.get(f"{at}/login?next={ROOT}/tracking", follow_redirects=False)
        assert signed.headers["location"] == f"{ROOT}/tracking"  # already signed in
        other = client.get(f"{at}/login?next={ROOT}x/projects", follow_redirects=False)
        assert other.headers["location"] == f"{ROOT}{ROOT}x/projects"  # not the root


@pytest.mark.parametrize("at", AS_SENT.values(), ids=AS_SENT.keys())
def test_refusals_lead_back_under_the_prefix_and_programs_keep_json(
        staff: Store, tmp_path: Path, at: str) -> None:
    """A stale form (no Referer) offers 返回 to the page above it, under /bp; an API address
    a browser opens keeps the API's JSON; an address that is no page gets the Chinese page."""
    with _behind_proxy(staff, tmp_path) as client:
        _sign_in(client, at, None)
        code = _project(client, at)
        stale = client.post(f"{at}/projects/{code}/actions", headers=BROWSER,
                            data={"csrf": "forged", "action": "start_round"})
        assert stale.status_code == 403 and "表单已失效" in stale.text
        assert f'href="{ROOT}/projects/{code}">返回</a>' in stale.text, stale.text
        assert get_project(code, store=staff).stage == "planned"
        api = client.get(f"{at}/api/nonsense", headers=BROWSER)
        assert api.status_code == 404 and api.headers["content-type"] == "application/json"
        assert api.json()["message_zh"] == "请求的地址不存在"
        typo = client.get(f"{at}/nonsense", headers=BROWSER)
        assert typo.status_code == 404 and "该页面不存在" in typo.text
        assert f'href="{ROOT}/">返回</a>' in typo.text


@pytest.mark.parametrize("at", AS_SENT.values(), ids=AS_SENT.keys())
def test_ogc_links_name_the_prefix_once(city: Store, tmp_path: Path,  # noqa: F811
                                        at: str) -> None:
    """The OGC API's self, alternate and next links lead under /bp, not /bp/bp."""
    with _behind_proxy(city, tmp_path) as client:
        listed = client.get(f"{at}/ogc/collections?f=json")
        assert listed.status_code == 200, listed.text[:300]
        links = {link["rel"]: link["href"] for link in listed.json()["links"]}
        assert links["self"] == f"https://testserver{ROOT}/ogc/collections?f=json"
        assert links["alternate"] == f"https://testserver{ROOT}/ogc/collections?f=html"
        name = listed.json()["collections"][0]["id"]
        items = client.get(f"{at}/ogc/collections/{name}/items?limit=1")
        assert items.status_code == 200, items.text[:300]
        pages = {link["rel"]: link["href"] for link in items.json()["links"]}
        assert pages["next"] == (f"https://testserver{ROOT}/ogc/collections/{name}/items"
                                 "?limit=1&offset=1")
        assert pages["collection"] == f"https://testserver{ROOT}/ogc/collections/{name}"


def test_blueprint_serve_under_a_root_path_as_a_proxy_passes_requests(tmp_path: Path) -> None:
    """``blueprint serve --root-path /bp`` behind a proxy that strips ``/bp`` (nginx
    ``location /bp/ { proxy_pass http://127.0.0.1:8000/; }``, docs/deploy.md): requests come
    without the prefix, and every address the app gives back carries it once — the sign-in
    redirect, where sign-in comes back to, the map's assets, the OGC API's links. Without
    the option there was no way to run the service under a prefix but uvicorn by hand."""
    import urllib.request
    from urllib.error import HTTPError
    from urllib.parse import parse_qs, urlsplit

    from tests.live_server import serving

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with serving(tmp_path / "served", options=("--root-path", ROOT)) as live:
        try:
            opener.open(f"{live.base}/projects?stage=planned", timeout=30)
            raise AssertionError("/projects answered an anonymous visitor")
        except HTTPError as answer:
            assert answer.code == 303
            where = urlsplit(answer.headers["location"])
            assert where.path == f"{ROOT}/login", answer.headers["location"]
            assert parse_qs(where.query)["next"] == ["/projects?stage=planned"], where
        with urllib.request.urlopen(f"{live.base}/", timeout=30) as answer:
            page = answer.read().decode()
        assets = re.findall(r'(?:src|href)="([^"]*/static/[^"]+)"', page)
        assert assets and all(a.startswith(f"{ROOT}/static/") for a in assets), assets
        with urllib.request.urlopen(live.base + assets[0][len(ROOT):], timeout=30) as answer:
            assert answer.status == 200  # the asset, as the proxy passes its address on
        with urllib.request.urlopen(f"{live.base}/ogc/collections?f=json", timeout=30) as answer:
            links = [x["href"] for x in json.load(answer)["links"]]
        assert links and all(x.startswith(f"{live.base}{ROOT}/ogc/") for x in links), links
