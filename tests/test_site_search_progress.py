"""A long site search (10 s and more city-wide) showed nothing until it ended: on a
terminal ``blueprint site-search`` now shows its step and the candidates vetted on stderr,
as ``vet-batch`` and ``layers import`` show theirs; stdout stays the answer (``--format
json`` one JSON document), and off a terminal nothing is drawn. Both engines."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from blueprint.analysis.site_search import SearchRequest, search_sites
from blueprint.layers.store import Store
from tests.test_cli_bounds import cli
from tests.test_site_search_notes import _urban_only

ARGS = ["site-search", "--area", "1ha", "--top", "3", "--format", "json"]


def test_the_search_tells_each_step_and_each_candidate_vetted(
        store: Store, tmp_path: Path) -> None:
    _urban_only(store, tmp_path)
    told: list[tuple[str, int, int | None]] = []
    result = search_sites(SearchRequest(area_m2=10000, top=3), store=store,
                          progress=lambda *step: told.append(step))
    steps = [s for s, _, _ in told]
    assert steps[:3] == ["计算可选范围", "查找储备地块", "布设候选地块"], told
    vetting = [(done, total) for s, done, total in told if s == "初审候选地块"]
    assert result.vetted >= 3 and vetting[-1] == (result.vetted, result.vetted), told
    assert [d for d, _ in vetting] == list(range(result.vetted + 1))  # one by one


def test_the_cli_draws_it_on_a_terminal_and_keeps_json_clean(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from blueprint.service.cli import console

    _urban_only(store, tmp_path)
    drawn = io.StringIO()
    monkeypatch.setattr(console, "err", Console(file=drawn, force_terminal=True, width=100))
    code, stdout, stderr = cli(store, ARGS)
    assert code == 0, stderr
    assert json.loads(stdout)["candidates"]  # one JSON document, nothing else
    assert "初审候选地块" in drawn.getvalue(), drawn.getvalue()
    monkeypatch.setattr(console, "err", Console(file=io.StringIO(), force_terminal=False))
    code, stdout, stderr = cli(store, ARGS)  # piped: nothing drawn
    assert code == 0 and stderr == "", stderr
    assert console.err.file.getvalue() == ""  # type: ignore[attr-defined]
    assert json.loads(stdout)["candidates"]
