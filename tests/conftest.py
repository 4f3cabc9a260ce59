"""Shared fixtures: the same behavioural tests run against both storage engines.

PostGIS tests need a server: set ``BLUEPRINT_TEST_DATABASE_URL`` (e.g.
``postgresql://postgres:postgres@127.0.0.1:5432/blueprint_test``; ``.ci/run`` shows how
to start one). Without it they are skipped locally; under ``CI=true`` a missing
server is an error, never a skip. Each PostGIS test gets its own schema, dropped after.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from blueprint.layers.store import Store, open_store

# The CLI's rich consoles (service/cli/console.py) read COLUMNS once, when they are made, and
# keep it. A pytest-xdist worker starts with COLUMNS=80, so its commands wrapped every table
# cell and long line at 80 whatever a test set later: the consoles are made here, at 250
# columns, in every test process. A test that wants a narrow table patches its own console
# (test_projects_cli.py); commands run as subprocesses get the COLUMNS their test gives.
os.environ["COLUMNS"] = "250"
import blueprint.service.cli.console  # noqa: E402,F401

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
ENGINES = ["embedded", "postgis"]
IN_CI = os.environ.get("CI", "").lower() == "true"


def postgis_url() -> str | None:
    """The test server URL, or None (skip locally; fail under CI)."""
    url = os.environ.get("BLUEPRINT_TEST_DATABASE_URL")
    if not url:
        if IN_CI:
            pytest.fail("CI=true but BLUEPRINT_TEST_DATABASE_URL is not set: PostGIS tests "
                        "must run in CI")
        pytest.skip("PostGIS tests need BLUEPRINT_TEST_DATABASE_URL (see tests/conftest.py)")
    return url


def _with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema},public')}"


def _create_schema(url: str, schema: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


def _drop_schema(url: str, schema: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _new_schema_name() -> tuple[str, str]:
    """The test server's URL and a schema name no test has used."""
    url = postgis_url()
    assert url is not None
    return url, f"t_{uuid.uuid4().hex[:12]}"


def make_store(engine_name: str, data_dir: Path) -> Iterator[Store]:
    """Open a fresh, empty store of the given engine; clean up afterwards."""
    if engine_name == "embedded":
        yield from _embedded_store(data_dir)
        return
    url, schema = _new_schema_name()
    _create_schema(url, schema)
    yield from _schema_store(url, schema, data_dir)


def _embedded_store(data_dir: Path) -> Iterator[Store]:
    """The embedded store in ``data_dir``, closed afterwards."""
    store = open_store("", data_dir)
    yield store
    store.close()


def _schema_store(url: str, schema: str, data_dir: Path) -> Iterator[Store]:
    """The PostGIS store in ``schema`` (made by the caller), closed and the schema dropped
    afterwards."""
    store = open_store(_with_schema(url, schema), data_dir, pool_size=20)
    try:
        yield store
    finally:
        store.close()
        _drop_schema(url, schema)


@dataclass
class _SampleTemplate:
    """The sample city loaded once into a store that no test opens: its data folder, and
    on PostGIS a plain-SQL dump of its schema (``pg_dump``) and that schema's name."""

    data_dir: Path
    schema: str = ""
    dump: str = ""


_SAMPLE_TEMPLATES: dict[str, _SampleTemplate] = {}
_TEMPLATE_ROOT: list[Path] = []


def _sample_template(engine_name: str) -> _SampleTemplate:
    """The template of ``engine_name``, built by the first test of this process that asks."""
    if engine_name in _SAMPLE_TEMPLATES:
        return _SAMPLE_TEMPLATES[engine_name]
    from blueprint.analysis.sample import load_sample

    if not _TEMPLATE_ROOT:
        _TEMPLATE_ROOT.append(Path(tempfile.mkdtemp(prefix="blueprint-sample-templates-")))
    data_dir = _TEMPLATE_ROOT[0] / engine_name
    if engine_name == "embedded":
        store = open_store("", data_dir)
        try:
            load_sample(SAMPLE, store=store, actor="test")
        finally:
            store.close()  # the last connection closed: SQLite checkpoints its WAL
        template = _SampleTemplate(data_dir)
    else:
        url, schema = _new_schema_name()
        _create_schema(url, schema)
        store = open_store(_with_schema(url, schema), data_dir, pool_size=20)
        try:
            load_sample(SAMPLE, store=store, actor="test")
        finally:
            store.close()
        dump = subprocess.run(["pg_dump", "--schema", schema, "--no-owner", "--no-privileges",
                               "--dbname", url], check=True, capture_output=True,
                              text=True).stdout
        template = _SampleTemplate(data_dir, schema, dump)
    _SAMPLE_TEMPLATES[engine_name] = template
    return template


def copy_of_sample(engine_name: str, data_dir: Path) -> Iterator[Store]:
    """A fresh, writable store with the sample city loaded (layers and 2026 quotas), as
    :func:`make_store` then ``load_sample`` would leave it, made by copying a store loaded
    once per engine and process: its data folder (the embedded database, index sidecars,
    rasters) and, on PostGIS, its schema restored under a new name from ``pg_dump``."""
    template = _sample_template(engine_name)
    shutil.copytree(template.data_dir, data_dir)
    if engine_name == "embedded":
        yield from _embedded_store(data_dir)
        return
    url, schema = _new_schema_name()
    # one transaction: one commit instead of one per statement (a fifth of the time)
    subprocess.run(["psql", "--quiet", "--no-psqlrc", "--single-transaction",
                    "-v", "ON_ERROR_STOP=1", "--dbname", url],
                   input=template.dump.replace(template.schema, schema),
                   check=True, capture_output=True, text=True)
    yield from _schema_store(url, schema, data_dir)


def samples_on_both_engines(tmp_path_factory: pytest.TempPathFactory
                            ) -> Iterator[dict[str, Store]]:
    """The sample city on every engine (:func:`copy_of_sample` each), for a module whose
    tests compare the engines: ``yield from`` it in a module-scoped fixture."""
    gens = {name: copy_of_sample(name, tmp_path_factory.mktemp(name) / "data")
            for name in ENGINES}
    yield {name: next(gen) for name, gen in gens.items()}
    for gen in gens.values():
        next(gen, None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the sample templates (:func:`copy_of_sample`) this process built."""
    template = _SAMPLE_TEMPLATES.pop("postgis", None)
    url = os.environ.get("BLUEPRINT_TEST_DATABASE_URL")
    if template is not None and url:
        _drop_schema(url, template.schema)
    _SAMPLE_TEMPLATES.clear()
    for root in _TEMPLATE_ROOT:
        shutil.rmtree(root, ignore_errors=True)
    _TEMPLATE_ROOT.clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart the database server run after every other test."""
    items.sort(key=lambda item: item.get_closest_marker("server_restart") is not None)


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    """Each behavioural test runs once per engine."""
    if request.param == "postgis":
        request.applymarker(pytest.mark.postgis)
    return str(request.param)


@pytest.fixture
def store(engine_name: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store on the engine under test."""
    yield from make_store(engine_name, tmp_path / "data")


_SAMPLE_STORES: dict[str, Store] = {}


@pytest.fixture
def sample_store(engine_name: str, tmp_path_factory: pytest.TempPathFactory,
                 request: pytest.FixtureRequest) -> Store:
    """A store with the sample city loaded, shared per engine for the session (read-only!)."""
    if engine_name not in _SAMPLE_STORES:
        from blueprint.analysis.sample import load_sample

        gen = make_store(engine_name, tmp_path_factory.mktemp(f"sample-{engine_name}"))
        store = next(gen)
        load_sample(SAMPLE, store=store, actor="test")
        _SAMPLE_STORES[engine_name] = store
        request.session.config.add_cleanup(lambda: next(gen, None))
    return _SAMPLE_STORES[engine_name]
