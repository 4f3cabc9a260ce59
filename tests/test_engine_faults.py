"""Faults of the PostGIS engine: bad URLs, a server that is down, a missing extension,
and the service's pool recovering from lost connections and a real server restart.

The CLI runs as a real subprocess; every fault must give exactly one line on stderr,
exit status 2 and no traceback.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from blueprint.layers.crs import CGCS2000, to_crs
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.conftest import IN_CI, _create_schema, _drop_schema, _with_schema, postgis_url
from tests.helpers import GK39, box, frame, write

pytestmark = pytest.mark.postgis
REPO = Path(__file__).resolve().parent.parent
NOEXT_PASSWORD = "noext-test"


def blueprint(args: list[str], url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run ``blueprint ARGS`` with ``BLUEPRINT_DATABASE_URL=url``."""
    env = {**os.environ, "BLUEPRINT_DATABASE_URL": url, "BLUEPRINT_DATA_DIR": str(data_dir),
           "COLUMNS": "60"}
    env.pop("BLUEPRINT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "blueprint.service", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_exit_2(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    for needle in needles:
        assert needle in lines[0], lines[0]


def _admin_engine(url: str, **kwargs) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1), **kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server_url() -> str:
    url = postgis_url()
    assert url is not None
    return url


@pytest.fixture
def schema_url(server_url: str) -> Iterator[str]:
    """The test server with a fresh, empty schema of our own."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _create_schema(server_url, schema)
    yield _with_schema(server_url, schema)
    _drop_schema(server_url, schema)


# ---- the CLI --------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["layers", "list"], ["db", "upgrade"]])
def test_server_down_is_one_line(tmp_path, command):
    url = f"postgresql://postgres:postgres@127.0.0.1:{_free_port()}/blueprint"
    done = blueprint(command, url, tmp_path)
    assert_one_line_exit_2(done, "cannot connect to the database", "无法连接数据库")


def test_wrong_database_name_is_one_line(tmp_path, server_url):
    url = sa.make_url(server_url).set(database=f"no_such_db_{uuid.uuid4().hex[:8]}")
    done = blueprint(["layers", "list"], url.render_as_string(hide_password=False), tmp_path)
    assert_one_line_exit_2(done, "cannot connect", "does not exist")


@pytest.mark.parametrize("url, needle", [
    ("postgresql://postgres:postgres@127.0.0.1:notaport/blueprint", "not a valid database URL"),
    ("mysql://root@127.0.0.1/blueprint", "BLUEPRINT_DATABASE_URL"),
    ("sqlite:///tmp/x.db", "must be a postgresql:// URL"),
])
def test_malformed_url_is_one_line(tmp_path, url, needle):
    for command in (["layers", "list"], ["db", "upgrade"]):
        assert_one_line_exit_2(blueprint(command, url, tmp_path), needle)


@pytest.fixture
def database_without_postgis(server_url: str) -> Iterator[str]:
    """A database whose owner is no superuser and so cannot create the postgis extension."""
    name = f"bp_noext_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT rolsuper FROM pg_roles "
                                    "WHERE rolname = current_user")).scalar():
            if IN_CI:
                pytest.fail("the PostGIS test server URL must be a superuser's")
            pytest.skip("creating a role and a database needs a superuser URL")
        quoted = conn.dialect.identifier_preparer.quote(name)
        conn.execute(sa.text(f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB "
                             f"PASSWORD '{NOEXT_PASSWORD}'"))
        conn.execute(sa.text(f"CREATE DATABASE {quoted} OWNER {quoted}"))
    try:
        url = sa.make_url(server_url).set(username=name, password=NOEXT_PASSWORD, database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {quoted}"))
        admin.dispose()


def test_missing_postgis_extension_is_one_line(tmp_path, database_without_postgis):
    for command in (["db", "upgrade"], ["layers", "list"]):
        done = blueprint(command, database_without_postgis, tmp_path)
        assert_one_line_exit_2(done, "PostGIS extension is missing", "CREATE EXTENSION postgis")


def test_db_upgrade_is_idempotent(tmp_path, schema_url):
    first = blueprint(["db", "upgrade"], schema_url, tmp_path)
    second = blueprint(["db", "upgrade"], schema_url, tmp_path)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "(postgis)" in first.stdout
    assert first.stdout == second.stdout
    listed = blueprint(["layers", "list", "--format", "json"], schema_url, tmp_path)
    assert listed.returncode == 0 and listed.stdout.strip() == "[]", listed.stderr


# ---- the service's pool -----------------------------------------------------------------

SITE = to_crs(box(0, 0, 100, 100), GK39, CGCS2000)


@pytest.fixture
def client(tmp_path, schema_url) -> Iterator[TestClient]:
    """The app on PostGIS, with a red line under SITE imported through its own store."""
    app = create_app(Settings(database_url=schema_url, data_dir=tmp_path / "data"))
    with TestClient(app) as test_client:
        path = write(frame([box(-50, -50, 100, 100)], hxbh=["HX-1"]), tmp_path / "red.gpkg")
        import_layer(path, ImportOptions(kind="ecological_redline", name="red"),
                     store=app.state.store)
        yield test_client


def _vet(client: TestClient) -> dict:
    response = client.post("/api/vet", json={"site": SITE.__geo_interface__})
    assert response.status_code == 200, response.text
    return response.json()


def _pool_pids(client: TestClient) -> list[int]:
    """Backend pids of every connection the app's pool holds."""
    engine = client.app.state.store.engine  # type: ignore[attr-defined]
    with ExitStack() as stack:
        conns = [stack.enter_context(engine.connect())
                 for _ in range(max(1, engine.pool.checkedin()))]
        return [int(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()) for c in conns]


def test_pool_recovers_after_its_connections_are_killed(client, server_url):
    assert _vet(client)["verdict"] == "fail"
    pids = _pool_pids(client)
    admin = _admin_engine(server_url)
    with admin.begin() as conn:
        killed = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'blueprint' AND pid <> pg_backend_pid() "
            "AND pid = ANY(:pids)"), {"pids": pids}).scalar_one()
    admin.dispose()
    assert killed == len(pids) >= 1
    report = _vet(client)  # the next request after the kill succeeds
    assert report["engine"] == "postgis" and report["verdict"] == "fail"
    assert set(_pool_pids(client)).isdisjoint(pids)


def _cluster(url: str) -> tuple[str, str] | None:
    """(version, name) of the local Debian cluster serving ``url``, if we may restart it."""
    parsed = sa.make_url(url)
    if (shutil.which("pg_ctlcluster") is None or os.geteuid() != 0
            or parsed.host not in ("127.0.0.1", "localhost")):
        return None
    listing = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        version, name, port, *_ = line.split()
        if int(port) == (parsed.port or 5432):
            return version, name
    return None


def _wait_until_up(url: str, seconds: float = 60.0) -> None:
    engine = _admin_engine(url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + seconds
    while True:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            break
        except sa.exc.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    engine.dispose()


@pytest.mark.server_restart
def test_pool_recovers_after_a_real_server_restart(client, server_url):
    """Stops and starts the server: runs last (conftest), only as root on a local cluster,
    and only under CI or with BLUEPRINT_TEST_RESTART_SERVER=1 (it cuts every session)."""
    cluster = _cluster(server_url)
    if cluster is None:
        pytest.skip("needs root, pg_ctlcluster and a local cluster")
    if not (IN_CI or os.environ.get("BLUEPRINT_TEST_RESTART_SERVER") == "1"):
        pytest.skip("restarting the server cuts other sessions: set "
                    "BLUEPRINT_TEST_RESTART_SERVER=1 (always on under CI=true)")
    assert _vet(client)["verdict"] == "fail"
    subprocess.run(["pg_ctlcluster", *cluster, "stop", "-m", "fast"], check=True)
    try:
        down = client.post("/api/vet", json={"site": SITE.__geo_interface__})
        assert down.status_code == 503
        assert down.json()["error"] == "storage_unavailable"
    finally:
        subprocess.run(["pg_ctlcluster", *cluster, "start"], check=True)
        _wait_until_up(server_url)
    assert _vet(client)["verdict"] == "fail"  # the next request after it is back
