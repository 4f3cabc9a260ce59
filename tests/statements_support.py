"""What a store runs: the SQL statements its engine sends inside a block (for the tests
that count reads: a page without a query per row, a name read once per layer version)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store
from blueprint.service.cli import app


@contextmanager
def statements_run(store: Store) -> Iterator[list[str]]:
    """The SQL statements ``store``'s engine runs inside the block, in order."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)


def vet_json_cli(store: Store, site: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> Callable[..., Any]:
    """``blueprint vet SITE --format json ARGS…`` on ``store`` (the real command through
    ``CliRunner``): the report, or the refusal (:class:`BadInput`, which ``main`` prints as
    one line, exit 2)."""
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    monkeypatch.delenv("BLUEPRINT_READ_DATABASE_URL", raising=False)

    def run(*args: str) -> Any:
        done = CliRunner().invoke(app, ["vet", str(site), "--format", "json", *args])
        if isinstance(done.exception, BadInput):
            return done.exception
        assert done.exit_code == 0, (args, done.output, done.exception)
        return json.loads(done.stdout)

    return run
