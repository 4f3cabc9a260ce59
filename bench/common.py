"""What the command-level benchmarks share: the sample city in a fresh store per engine,
the URL a child process needs to open it, and one native thread per process.

``bench/bench_batch.py`` (``blueprint vet-batch``) and ``bench/bench_http.py``
(``blueprint serve``) both start the real command in child processes on the same stores.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_vetting import drop_schema, open_postgis  # noqa: E402
from blueprint.analysis.sample import load_sample  # noqa: E402
from blueprint.layers.store import Store, open_store  # noqa: E402

__all__ = ["PINNED", "REPO", "SAMPLE", "bench_database_url", "child_env", "sample_stores",
           "store_url"]

SAMPLE = REPO / "data" / "sample"
# One native thread per process for every native library (the processes are the cores).
PINNED = {name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                 "GDAL_NUM_THREADS", "NUMEXPR_NUM_THREADS")}


def bench_database_url() -> str | None:
    """The PostGIS server to measure on (BLUEPRINT_BENCH_DATABASE_URL, else the tests')."""
    return (os.environ.get("BLUEPRINT_BENCH_DATABASE_URL")
            or os.environ.get("BLUEPRINT_TEST_DATABASE_URL"))


def store_url(store: Store) -> str:
    """The URL a child process needs to open ``store`` (empty: embedded)."""
    if not store.database_url:
        return ""
    return store.engine.url.render_as_string(hide_password=False).replace(
        "postgresql+psycopg2://", "postgresql://", 1)


def child_env(store: Store) -> dict[str, str]:
    """The environment of a ``blueprint`` child process on ``store``, threads pinned."""
    return {**os.environ, **PINNED, "BLUEPRINT_DATA_DIR": str(store.data_dir),
            "BLUEPRINT_DATABASE_URL": store_url(store), "PYTHONPATH": str(REPO)}


@contextmanager
def sample_stores(tmp: Path, url: str | None) -> Iterator[dict[str, Store]]:
    """The sample city loaded into a fresh embedded store and, with ``url``, a fresh
    PostGIS schema (``{"embedded": …, "PostGIS": …}``); closed and dropped afterwards."""
    stores = {"embedded": open_store("", tmp / "embedded")}
    schema = None
    try:
        if url:
            stores["PostGIS"], schema = open_postgis(url, tmp / "postgis")
        for store in stores.values():
            load_sample(SAMPLE, store=store, actor="bench")
        yield stores
    finally:
        for store in stores.values():
            store.close()
        if url and schema:
            drop_schema(url, schema)
