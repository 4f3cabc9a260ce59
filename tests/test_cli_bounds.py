"""Every integer the command line hands to the store is bounded where it is typed.

Row ids (1 to 2^31 − 1, as the API's ``RowId``), years (2000–2100, as the API and the
ledger), ``--limit``, ``--offset`` and ``consult start --period``: a value out of bounds is
the usual one-line error naming the parameter, exit 2, on both engines alike (SQLite could
not even bind 10^20: "internal error: OverflowError", where PostgreSQL found no such row),
and nothing is written. Run in-process through the real entry point, as
tests/test_bad_corpus.py does. ``test_every_integer_parameter_is_bounded`` walks every
command, so that a new integer parameter needs a bound (or a reason it needs none).
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from quota_support import CITY, register_fixed_projects

from blueprint.analysis import quota
from blueprint.layers.inputs import MAX_ID, MAX_YEAR, MIN_YEAR
from blueprint.layers.store import Store
from blueprint.service.cli.console import MAX_COUNT, param_name
from blueprint.service.cli.root import COMMANDS, load_command
from tests.conftest import ENGINES, make_store
from tests.helpers import StoreFingerprint

BIG = 10**20
IDS, YEARS, COUNT, OFFSET = (1, MAX_ID), (MIN_YEAR, MAX_YEAR), (1, MAX_COUNT), (0, MAX_COUNT)
WHY = ["--reason", "x"]
# (command, the command line with {} for the value, the parameter as the error names it,
#  its bounds)
CASES: list[tuple[str, str, str, tuple[int, int]]] = [
    ("quota release", "quota release {} --reason x", "hold_id", IDS),
    ("quota repay", "quota repay {} --reason x", "loan_id", IDS),
    ("quota reverse", "quota reverse {} --reason x", "operation_id", IDS),
    ("consult add-dept", "consult add-dept {} nr --reason x", "round_id", IDS),
    ("consult remove-dept", "consult remove-dept {} nr --reason x", "round_id", IDS),
    ("consult answer", "consult answer {} --answer agree --text t --user u", "round_id", IDS),
    ("consult close", "consult close {} --outcome revise --reason x", "round_id", IDS),
    ("meeting decide", "meeting decide {} --decision proceed --date 2026-05-06 "
     "--attendee a --text t", "item_id", IDS),
    ("tracking problem", "tracking problem close {} --text x", "target", IDS),
    ("tracking problem", "tracking problem escalate {} --text x", "target", IDS),
    ("quota grant", "quota grant --kind land --county 371502 --amount 1 --reason x --year {}",
     "--year", YEARS),
    ("quota hold", "quota hold --kind land --county 371502 --project P1 --amount 1 "
     "--reason x --year {}", "--year", YEARS),
    ("quota allocate", "quota allocate --kind land --county 371502 --project P1 --amount 1 "
     "--reason x --year {}", "--year", YEARS),
    ("quota lend", "quota lend --kind land --from 371502 --to 371521 --amount 1 "
     "--due 2026-12-31 --reason x --year {}", "--year", YEARS),
    ("quota adjust", "quota adjust --kind land --from 371502 --to 371521 --amount 1 "
     "--price 1 --reason x --year {}", "--year", YEARS),
    ("quota retire", "quota retire --kind land --account pool --amount 1 --reason x "
     "--year {}", "--year", YEARS),
    ("quota expire-holds", "quota expire-holds --year {}", "--year", YEARS),
    ("quota reclaim", "quota reclaim P1 --reason x --year {}", "--year", YEARS),
    ("quota balances", "quota balances --year {}", "--year", YEARS),
    ("quota movements", "quota movements --year {}", "--year", YEARS),
    ("quota movements", "quota movements --limit {}", "--limit", COUNT),
    ("quota movements", "quota movements --offset {}", "--offset", OFFSET),
    ("quota loans", "quota loans --year {}", "--year", YEARS),
    ("quota export", "quota export --output {out} --year {}", "--year", YEARS),
    ("vet", "vet {site} --year {}", "--year", YEARS),
    ("audit", "audit --limit {}", "--limit", (1, 10_000)),  # as GET /api/audit
    ("consult start", "consult start LC-1 --period {}", "--period", (1, 366)),
]
# Integer parameters that never reach the store, or that the core bounds with its own words.
UNSTORED = {("serve", "--port"), ("serve", "--workers"), ("vet-batch", "--workers"),
            ("site-search", "--top")}  # 候选数量须在 1 至 50 之间 (tests/data/bad flags)
BOTH = [pytest.param(e, marks=[pytest.mark.postgis] if e == "postgis" else [], id=e)
        for e in ENGINES]


@pytest.fixture(scope="module")
def bench(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Store]:
    """One store per engine: two counties granted, a project, so that a command that got
    through could write."""
    if request.param == "postgis":
        request.applymarker(pytest.mark.postgis)
    gen = make_store(str(request.param), tmp_path_factory.mktemp(f"bounds-{request.param}"))
    store = next(gen)
    try:
        for county in ("371502", "371521"):
            quota.grant(year=2026, kind="land", county=county, amount="100", user=CITY,
                        reason="下达", key=f"grant-{county}", store=store)
        register_fixed_projects(store, {"P1": "371502"})
        yield store
    finally:
        next(gen, None)


def cli(store: Store, args: list[str]) -> tuple[int, str, str]:
    """``blueprint ARGS`` in this process on ``store``: exit code, stdout, stderr."""
    from blueprint.service import context
    from blueprint.service.cli.root import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
        patch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
        patch.setenv("BLUEPRINT_ACTOR", "bounds")
        patch.delenv("BLUEPRINT_DEBUG", raising=False)
        patch.setattr(sys, "argv", ["blueprint", *args])
        patch.setattr(context, "store_from_settings", lambda *_a, **_k: store)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _values(bounds: tuple[int, int]) -> list[int]:
    low, high = bounds
    return [low - 1, high + 1] if high + 1 >= BIG else [low - 1, high + 1, BIG]


VALUE_CASES = [pytest.param(line, name, bounds, value, id=f"{line.split(' {')[0]}={value}")
               for _command, line, name, bounds in CASES for value in _values(bounds)]


@pytest.mark.parametrize("bench", BOTH, indirect=True)
@pytest.mark.parametrize(("line", "name", "bounds", "value"), VALUE_CASES)
def test_an_integer_out_of_bounds_is_one_line_naming_it_and_writes_nothing(
        bench: Store, tmp_path: Path, line: str, name: str, bounds: tuple[int, int],
        value: int) -> None:
    out_file = tmp_path / "export.xlsx"
    args = [word.format(value, out=out_file, site=tmp_path / "site.geojson")
            for word in line.split()]
    fingerprint = StoreFingerprint(bench)
    before = fingerprint()
    code, out, err = cli(bench, args)
    assert code == 2, (args, code, out, err)
    low, high = bounds
    zh = "应在 2000 年至 2100 年之间" if bounds == YEARS else f"须为 {low} 至 {high} 之间的整数"
    assert err == f"error: {name}: {value} is not between {low} and {high} ({name} {zh})\n", err
    assert out == "" and not out_file.exists()
    assert fingerprint() == before


@pytest.mark.parametrize("bench", BOTH, indirect=True)
def test_expiring_the_holds_of_a_county_no_grant_named_writes_nothing(bench: Store) -> None:
    fingerprint = StoreFingerprint(bench)
    before = fingerprint()
    code, out, err = cli(bench, ["quota", "expire-holds", "--county", "999999"])
    assert (code, out) == (2, ""), err
    assert err.startswith("error: county: county 999999 has never been granted quota (")
    assert "县区“999999”不在指标台账中" in err and len(err.splitlines()) == 1
    assert fingerprint() == before


def _integer_parameters() -> set[tuple[str, str]]:
    """(command, parameter) of every integer parameter of every command."""
    from blueprint.service.cli.root import _click_command

    found: set[tuple[str, str]] = set()
    todo = [(name, _click_command(name, load_command(name))) for name in COMMANDS]
    while todo:
        path, command = todo.pop()
        for sub, child in getattr(command, "commands", {}).items():
            todo.append((f"{path} {sub}", child))
        for param in command.params:
            if _is_integer(param):
                found.add((path, param_name(param)))
    return found


def _is_integer(param: Any) -> bool:
    """An ``int`` parameter (typer ≥ 0.2x describes its type; click's own has ``type``)."""
    described = getattr(param, "type_descriptor", None)
    if described is not None:
        return described.annotation is int
    return getattr(getattr(param, "type", None), "name", "") in ("integer", "integer range")


def test_every_integer_parameter_is_bounded() -> None:
    bounded = {(command, name) for command, _line, name, _bounds in CASES
               if name != "target"}  # tracking problem's TARGET is a code or an id (text)
    assert _integer_parameters() == bounded | UNSTORED
    assert isinstance(load_command("quota"), typer.Typer)
