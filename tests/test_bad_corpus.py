"""The bad-input corpus (issue 12): every file of ``tests/data/bad/`` gets its clear message.

``tests/data/bad/expected.toml`` maps each file to the routes it is sent through and the
fragment the answer must contain:

- ``cli-vet`` / ``cli-import``: ``blueprint vet FILE`` / ``blueprint layers import FILE``,
  run in-process through the real entry point (:func:`blueprint.service.cli.root.main`):
  exit 2, the fragment on stderr, no traceback, nothing on stdout;
- ``cli-convert``: ``blueprint convert FILE --to geojson`` in an empty folder: the same,
  and the folder stays empty (no file written);
- ``api-vet-file`` / ``api-import``: ``POST /api/vet/file`` / ``POST /api/layers``;
- ``api-json``: the file is the body of ``endpoint`` (as ``role``);
- ``web-site``: every file sent to ``api-vet-file`` is also the site file of the project
  form (``POST /projects/new``, signed in as a county's staff, every other field valid):
  a 4xx page with the fragment, no traceback, no project saved;
- ``web-condition``: and the condition area of a department's 有条件同意 in its inbox
  (``POST /inbox/{round}/answer``, signed in as 自然资源和规划局 on an open round): the
  same, no opinion stored;

each over HTTP a 4xx with the fragment in the error body, never a 5xx. The ``[flags]``
table holds command lines (flags of ``site-search``, ``convert``, ``vet``, the output files
and folders of the commands that write one, ``--format`` and the list filters) with the
fragment of their one-line error. After every file
the store's fingerprint (row counts of every table, the layers and the last audit row) is
what it was. One store per engine for the module: the routes that may write (imports,
JSON operations) run on both engines, the vet routes (read-only) on the embedded one. The
site vertex cap is set to 1,000 so that the over-the-cap file stays small.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from projects_support import park_project, site
from quota_support import register_fixed_projects

from blueprint.analysis import quota
from blueprint.analysis.consultation import start_round
from blueprint.analysis.projects import create_project, vet_project
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.store import Store
from blueprint.layers.users import User, create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.conftest import ENGINES, make_store
from tests.helpers import StoreFingerprint, box, frame, write

BAD = Path(__file__).resolve().parent / "data" / "bad"
TOML: dict[str, dict[str, dict[str, Any]]] = tomllib.loads(
    (BAD / "expected.toml").read_text(encoding="utf-8"))
EXPECTED, FLAGS = TOML["files"], TOML["flags"]
FILE_ROUTES = ("cli-vet", "cli-convert", "cli-import", "api-vet-file", "api-import")
ROUTES = (*FILE_ROUTES, "api-json")
MAX_VERTICES = "1000"
# The vet and convert routes only read the store (and refuse before they do): the embedded
# engine is enough for them; the routes that may write (imports, JSON operations) run on both.
READ_ONLY = ("cli-vet", "cli-convert", "api-vet-file")
CASES = [(name, route) for name, entry in sorted(EXPECTED.items()) for route in entry["routes"]]
READ_CASES = [case for case in CASES if case[1] in READ_ONLY]
WEB_CASES = [(name, route) for name, entry in sorted(EXPECTED.items())
             if "api-vet-file" in entry["routes"] for route in ("web-site", "web-condition")]
WEB_PASSWORD = "bad-corpus-web-1"
WRITE_CASES = [case for case in CASES if case[1] not in READ_ONLY]
BOTH = [pytest.param(e, marks=[pytest.mark.postgis] if e == "postgis" else [], id=e)
        for e in ENGINES]


class Bench:
    """The module's store on one engine, its HTTP client, tokens and the CLI's environment."""

    def __init__(self, store: Store, client: TestClient, tokens: dict[str, str],
                 web: TestClient, department: TestClient, round_id: int) -> None:
        self.store, self.client, self.tokens, self.web = store, client, tokens, web
        self.department, self.round_id = department, round_id  # the inbox's open round
        # row counts of every table, the layers' rows, the newest audit row's hash, rasters
        self.fingerprint = StoreFingerprint(store)

    def cli(self, args: list[str], cwd: Path | None = None) -> tuple[int, str, str]:
        """``blueprint ARGS`` in this process, on this store (in ``cwd``): exit code, stdout,
        stderr."""
        from blueprint.service import context
        from blueprint.service.cli.root import main

        env = {"BLUEPRINT_DATA_DIR": str(self.store.data_dir),
               "BLUEPRINT_DATABASE_URL": self.store.database_url,
               "BLUEPRINT_MAX_SITE_VERTICES": MAX_VERTICES, "BLUEPRINT_ACTOR": "bad-corpus"}
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            patch.delenv("BLUEPRINT_DEBUG", raising=False)
            patch.setattr(sys, "argv", ["blueprint", *args])
            if cwd is not None:
                patch.chdir(cwd)
            # the store the settings name, already open (PostGIS: no new pool per command)
            patch.setattr(context, "store_from_settings", lambda *_a, **_k: self.store)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main()
                    code = 0
                except SystemExit as exc:
                    code = int(exc.code or 0)
        return code, out.getvalue(), err.getvalue()


def _seed(store: Store, tmp: Path) -> dict[str, str]:
    """One red-line layer, the county (东昌府区), a 2026 land grant for it, a project
    (BAD-1) and three users with tokens."""
    red = write(frame([box(0, 0, 100, 100)], hxbh=["HX-1"]), tmp / "red.gpkg")
    import_layer(red, ImportOptions(kind="ecological_redline", name="red"), store=store)
    county = write(frame([box(-500, -500, 5000, 5000)], code=["371502"], name=["东昌府区"]),
                   tmp / "county.geojson")
    import_layer(county, ImportOptions(kind="admin_boundary", name="county", id_field="code"),
                 store=store)
    quota.grant(year=2026, kind="land", county="371502", amount="100",
                user=User("city", "city_quota_manager"), reason="下达", key="bad-grant",
                store=store)
    register_fixed_projects(store, ["BAD-1"])  # the project the allocations name
    create_user("bad_web", "nr_staff", "371502", store=store, actor="test",
                password=WEB_PASSWORD)  # signs in to the pages
    create_user("bad_dept", "department", None, store=store, actor="test", department="nr",
                password=WEB_PASSWORD)  # answers in its inbox
    return {role: create_user(f"bad_{role}", role, county, store=store, actor="test")
            for role, county in (("nr_staff", None), ("city_quota_manager", None),
                                 ("county_quota_manager", "371502"))}


@pytest.fixture(scope="module")
def bench(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Bench]:
    """One store per engine for the module (the tests name the engine: ``indirect``)."""
    if request.param == "postgis":
        request.applymarker(pytest.mark.postgis)
    tmp = tmp_path_factory.mktemp(f"bad-{request.param}")
    gen = make_store(str(request.param), tmp / "data")
    store = next(gen)
    try:
        tokens = _seed(store, tmp)
        round_id = _open_round(store)
        app = create_app(Settings(data_dir=tmp / "app", max_site_vertices=int(MAX_VERTICES)))
        with TestClient(app) as client:
            own, app.state.store = app.state.store, store
            try:
                yield Bench(store, client, tokens,
                            _signed_in(TestClient(app, base_url="https://testserver")),
                            _signed_in(TestClient(app, base_url="https://testserver"),
                                       "bad_dept", "/inbox"), round_id)
            finally:
                app.state.store = own
    finally:
        next(gen, None)


def _open_round(store: Store) -> int:
    """A vetted project of the county in consultation: its round, open to 自然资源和规划局
    (a department every round has)."""
    staff = User("bad_staff", "nr_staff", "371502")
    code = create_project(park_project(), site=site("01_park_clean.txt"), user=staff,
                          store=store).code
    vet_project(code, user=staff, store=store)
    rnd = start_round(code, user=staff, store=store)
    assert "nr" in {a.department for a in rnd.active}
    return rnd.id


def _signed_in(web: TestClient, name: str = "bad_web", landing: str = "/projects"
               ) -> TestClient:
    """``web`` (https: the session cookie is Secure) signed in to the pages as ``name`` (the
    county's staff by default), with cookies of its own."""
    token = re.search(r'name="login_token" value="([^"]+)"', web.get("/login").text)
    assert token
    answer = web.post("/login", follow_redirects=False, data={
        "name": name, "password": WEB_PASSWORD, "login_token": token.group(1),
        "next": landing})
    assert answer.status_code == 303, answer.text
    return web


def _project_form(bench: Bench, name: str, data: bytes) -> tuple[int, str]:
    """``data`` as the site file of an otherwise valid new project."""
    csrf = re.search(r'name="csrf" value="([^"]+)"', bench.web.get("/projects/new").text)
    assert csrf
    answer = bench.web.post("/projects/new", follow_redirects=False, files={
        "site_file": (name, data)}, data={
        "csrf": csrf.group(1), "name": "坏文件项目", "county": "371502",
        "industry": "industrial", "investment": "6", "responsible_unit": "聊城某公司",
        "origin": "attracted"})
    text = html.unescape(answer.text)
    assert "Traceback" not in text and "internal error" not in text, text[:500]
    return answer.status_code, text


def _condition_form(bench: Bench, name: str, data: bytes) -> tuple[int, str]:
    """``data`` as the condition area of the department's 有条件同意 on the open round."""
    url = f"/inbox?round={bench.round_id}"
    csrf = re.search(r'name="csrf" value="([^"]+)"', bench.department.get(url).text)
    assert csrf
    answer = bench.department.post(
        f"/inbox/{bench.round_id}/answer", follow_redirects=False,
        files={"condition_file": (name, data)},
        data={"csrf": csrf.group(1), "answer": "conditional", "text": "须避让生态保护红线"})
    text = html.unescape(answer.text)
    assert "Traceback" not in text and "internal error" not in text, text[:500]
    return answer.status_code, text


def _send(bench: Bench, name: str, route: str, entry: dict[str, Any]) -> tuple[int, str]:
    """Send ``name`` through ``route``: (exit code or HTTP status, the text to search)."""
    path, data = BAD / name, (BAD / name).read_bytes()
    kind = entry.get("kind", "ecological_redline")
    if route == "cli-vet":
        code, out, err = bench.cli(["vet", str(path)])
        assert out == "", out
        return code, err
    if route == "cli-convert":
        folder = bench.store.data_dir.parent / "convert"
        folder.mkdir(exist_ok=True)
        code, out, err = bench.cli(["convert", str(path), "--to", "geojson"], cwd=folder)
        assert out == "" and list(folder.iterdir()) == [], (out, list(folder.iterdir()))
        return code, err
    if route == "cli-import":
        code, out, err = bench.cli(["layers", "import", str(path), "--kind", kind,
                                    "--name", "bad"])
        return code, err
    if route == "web-site":
        return _project_form(bench, name, data)
    if route == "web-condition":
        return _condition_form(bench, name, data)
    auth = {"Authorization": f"Bearer {bench.tokens[entry.get('role', 'nr_staff')]}"}
    if route == "api-vet-file":
        answer = bench.client.post("/api/vet/file", files={"file": (name, data)})
    elif route == "api-import":
        answer = bench.client.post("/api/layers", files={"file": (name, data)}, headers=auth,
                                   data={"kind": kind, "name": "bad"})
    else:
        method, url = entry["endpoint"].split(" ", 1)
        answer = bench.client.request(method, url, content=data, headers={
            **(auth if "role" in entry else {}), "Content-Type": "application/json",
            "Idempotency-Key": f"bad-{name}"})
    body = answer.json()
    assert set(body) >= {"error", "message", "message_zh"}, answer.text
    return answer.status_code, json.dumps(body, ensure_ascii=False)


def test_the_corpus_is_complete() -> None:
    on_disk = {p.name for p in BAD.iterdir() if p.name not in ("make.py", "expected.toml")}
    assert on_disk == set(EXPECTED), (on_disk ^ set(EXPECTED))
    assert len(EXPECTED) >= 40
    for name, entry in EXPECTED.items():
        assert entry["routes"] and set(entry["routes"]) <= set(ROUTES), name
        assert entry["message"].strip(), name
        assert ("endpoint" in entry) == (entry["routes"] == ["api-json"]), name


def test_the_readme_states_the_count() -> None:
    readme = (BAD.parent.parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"tests/data/bad/` holds {len(EXPECTED)} " in readme


@pytest.mark.parametrize("bench", ["embedded"], indirect=True)
@pytest.mark.parametrize(("name", "route"), READ_CASES)
def test_bad_site_is_refused_clearly_and_changes_nothing(bench: Bench, name: str, route: str
                                                         ) -> None:
    _check(bench, name, route)


@pytest.mark.parametrize("bench", BOTH, indirect=True)
@pytest.mark.parametrize(("name", "route"), WRITE_CASES + WEB_CASES)
def test_bad_input_is_refused_clearly_and_changes_nothing(bench: Bench, name: str, route: str
                                                          ) -> None:
    _check(bench, name, route)


def _check(bench: Bench, name: str, route: str) -> None:
    entry = EXPECTED[name]
    before = bench.fingerprint()
    code, text = _send(bench, name, route, entry)
    message = entry.get("import_message", entry["message"]) if route.endswith("-import") \
        else entry["message"]
    if route.startswith("cli-"):
        assert code == 2, (name, route, code, text)
        assert "Traceback" not in text and "internal error" not in text, text
        assert len(text.strip().splitlines()) == 1, text
    else:
        assert 400 <= code < 500, (name, route, code, text)
        if "status" in entry:
            assert code == entry["status"], (name, route, code, text)
    assert message in text, (name, route, message, text)
    assert bench.fingerprint() == before, (name, route)
    if route.startswith(("api-", "web-")):  # no server path in an answer
        assert "/tmp/" not in text and str(BAD) not in text, text


FLAG_CASES = sorted(FLAGS)


@pytest.mark.parametrize("bench", ["embedded"], indirect=True)
@pytest.mark.parametrize("name", FLAG_CASES)
def test_bad_flags_are_refused_clearly_and_change_nothing(bench: Bench, name: str) -> None:
    """``blueprint …`` with a bad flag: exit 2, one line, no file, the store unchanged."""
    entry = FLAGS[name]
    folder = bench.store.data_dir.parent / f"flags-{name}"
    folder.mkdir()
    args = [str(BAD / a[len("BAD/"):]) if a.startswith("BAD/") else a for a in entry["args"]]
    before = bench.fingerprint()
    code, out, err = bench.cli(args, cwd=folder)
    assert code == 2, (name, code, out, err)
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert entry["message"] in err, (name, entry["message"], err)
    assert out == "" and list(folder.iterdir()) == []
    assert bench.fingerprint() == before, name


@pytest.mark.parametrize("bench", BOTH, indirect=True)
@pytest.mark.parametrize("endpoint", ["/api/sites/download", "/api/site-search", "/api/vet"])
def test_a_body_over_the_limit_is_413_and_changes_nothing(bench: Bench, endpoint: str) -> None:
    """11 MB of JSON (over the 10 MB body limit), with and without Content-Length."""
    body = b'{"area_m2": 120000, "site": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    before = bench.fingerprint()
    sized = bench.client.post(endpoint, content=body,
                              headers={"Content-Type": "application/json"})
    streamed = bench.client.post(endpoint, content=iter([body[:1 << 20], body[1 << 20:]]),
                                 headers={"Content-Type": "application/json"})
    for answer in (sized, streamed):
        assert answer.status_code == 413, answer.text[:300]
        assert answer.json()["error"] == "too_large"
        assert "请求数据超过 10 MB 的上限" in answer.json()["message_zh"]
    assert bench.fingerprint() == before
