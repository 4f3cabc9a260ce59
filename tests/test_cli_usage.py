"""The command line's rough edges: click's usage errors, progress on a pipe, files written
over, long and control-character values echoed, site files, empty values and filters that
cannot match.

Every refusal is the usual one-line error (``error: … (中文)``), exit 2, as a domain error
is (``service/cli/root.py``); run in-process through the real entry point as
tests/test_cli_bounds.py does, on both engines where the command opens the store.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from blueprint.layers.store import Store
from tests.conftest import make_store
from tests.test_cli_bounds import BOTH, cli


@pytest.fixture(params=BOTH)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    gen = make_store(str(request.param), tmp_path / "store")
    yield next(gen)
    next(gen, None)


def usage(args: list[str], tmp_path: object) -> tuple[int, str, str]:
    """A command refused before it opens any store."""
    from blueprint.layers.store import open_store

    store = open_store("", tmp_path)  # type: ignore[arg-type]
    try:
        return cli(store, args)
    finally:
        store.close()


@pytest.mark.parametrize(("args", "line"), [
    (["vet-batch", "--workers", "-1", "a.geojson"],
     "error: --workers: invalid value '-1': Input should be greater than or equal to 0 "
     "(--workers 的值“-1”无效：须不小于 0)\n"),
    (["vet-batch", "--workers=abc", "a.geojson"], "(--workers 的值“abc”无效：须为整数)\n"),
    (["tracking", "report", "LC-1", "--month", "2026-05", "--investment", "1",
      "--photo", "/nonexistent.jpg"], "(--photo 的值“/nonexistent.jpg”无效：不存在)\n"),
    (["vet"], "error: SITE: missing argument SITE (请填写 SITE)\n"),
    (["tracking", "report", "LC-1", "--investment", "1"], "(请填写 --month)\n"),
    (["tracking", "report", "LC-1", "--investment", "1", "--month"],
     "(选项 --month 需要一个值)\n"),
    (["vet", "--bogus", "a.geojson"],
     "(没有选项 --bogus；可用选项见 blueprint vet --help)\n"),
    (["vet", "--yea", "2026", "a.geojson"], "是否要用 --demand、--year；"),
    (["nosuch"], "(没有命令“nosuch”；可用命令见 blueprint --help)\n"),
    (["layer"], "(没有命令“layer”，是否要用 layers；可用命令见 blueprint --help)\n"),
    (["vet", "a", "b"], "(多余的参数：b；用法见 blueprint vet --help)\n"),
])
def test_a_usage_error_is_one_line_in_chinese_naming_the_option_and_value(
        tmp_path: object, args: list[str], line: str) -> None:
    code, out, err = usage(args, tmp_path)
    assert (code, out) == (2, ""), err
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert line in err, err
    assert "Usage:" not in err and "Try '" not in err


def test_ctrl_c_says_the_command_was_stopped(store: Store, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """typer turns a Ctrl-C into a silent exit 130: the command stopped with nothing said
    (the "aborted" line was never reached)."""
    from blueprint.service.cli import layers

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(layers, "print_json", interrupted)
    monkeypatch.setattr(layers, "table", interrupted)
    code, out, err = cli(store, ["layers", "list", "--format", "json"])
    assert (code, out, err) == (130, "", "aborted (已中断)\n")


def test_help_and_a_bare_group_still_show_the_help(tmp_path: object) -> None:
    code, out, err = usage(["vet", "--help"], tmp_path)
    assert code == 0 and out.startswith("Usage: blueprint vet [OPTIONS]") and err == ""
    code, out, err = usage(["tracking"], tmp_path)
    assert code == 2 and "Usage: blueprint tracking [OPTIONS] COMMAND" in out + err


LONG = "a" * 10_000
CONTROL = "ab\x1b[31mc\x07d"


@pytest.mark.parametrize("args", [
    ["tracking", "figures", "--month", LONG],
    ["tracking", "figures", f"--month={LONG}"],
    ["projects", "show", LONG],
    ["vet", "--year", "2026", "--bogus" + LONG, "a.geojson"],
])
def test_a_long_value_is_echoed_cut_to_its_first_60_characters(
        tmp_path: object, args: list[str]) -> None:
    """(A value up to 200 characters, a file path, is shown whole.)"""
    code, out, err = usage(args, tmp_path)
    assert (code, out) == (2, ""), err
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert len(err) < 400 and "a" * 61 not in err, err
    assert ("a" * 60 + "…" in err) or ("--bogus" + "a" * 53 + "…" in err), err


@pytest.mark.parametrize(("args", "line"), [
    (["vet", "b" * 200], f"error: {'b' * 200}: no such file: {'b' * 200} "
     f"(文件不存在：{'b' * 200})\n"),
    (["vet", f"x{CONTROL}"], "error: xab\\x1b[31mc\\x07d: no such file: xab\\x1b[31mc\\x07d "
     "(文件不存在：xab\\x1b[31mc\\x07d)\n"),
    (["projects", "show", CONTROL], "error: project: no project 'ab\\x1b[31mc\\x07d' "
     "(项目“ab\\x1b[31mc\\x07d”不存在)\n"),
    (["tracking", "figures", "--month", f"{CONTROL}\n2026-05"], "error: --month: --month "
     "must be YYYY-MM, not 'ab\\x1b[31mc\\x07d\\n2026-05' (月份须为“年-月”（如 2026-11），"
     "而非“ab\\x1b[31mc\\x07d\\n2026-05”)\n"),
])
def test_control_characters_in_an_echoed_value_are_shown_escaped(
        tmp_path: object, args: list[str], line: str) -> None:
    code, out, err = usage(args, tmp_path)
    assert (code, out, err) == (2, "", line)


def test_backup_over_an_existing_file_needs_force_as_convert_does(
        store: Store, tmp_path: Path) -> None:
    kept = tmp_path / "kept.tar.gz"
    kept.write_text("keep", encoding="utf-8")
    code, out, err = cli(store, ["backup", str(kept)])
    assert (code, out) == (2, "")
    assert err == (f"error: {kept}: {kept} exists; choose another file (or --force to "
                   f"replace it) ({kept} 已存在，请指定其他文件（或加 --force 覆盖）)\n")
    assert kept.read_text(encoding="utf-8") == "keep"
    code, out, err = cli(store, ["backup", str(kept), "--force"])
    assert code == 0, err
    assert tarfile.is_tarfile(kept)


def test_vet_batch_over_an_existing_output_is_refused_before_any_vetting(
        store: Store, tmp_path: Path) -> None:
    """Refused before the store is even asked for layers (it has none: that would be the
    error after any work)."""
    site = tmp_path / "a.geojson"
    site.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    kept = tmp_path / "out.jsonl"
    kept.write_text("keep\n", encoding="utf-8")
    code, out, err = cli(store, ["vet-batch", str(site), "--output", str(kept)])
    assert (code, out) == (2, "")
    assert err == (f"error: {kept}: {kept} exists; choose another --output (or --force to "
                   f"replace it) ({kept} 已存在，请用 --output 指定其他文件"
                   "（或加 --force 覆盖）)\n")
    assert kept.read_text(encoding="utf-8") == "keep\n"
    code, out, err = cli(store, ["vet-batch", str(site), "--output", str(kept), "--force"])
    assert code == 2 and "已存在" not in err  # past the check: no layers to vet against


SITE = Path(__file__).resolve().parent.parent / "data" / "sample" / "sites" / "01_park_clean.txt"


def test_every_command_reads_a_site_file_as_vet_does(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One reader (``console.read_site_file``): the same words for an empty file, and the same
    configured limits (``consult answer --condition`` had read without them)."""
    from blueprint.layers.users import create_user

    create_user("规划科", "department", None, department="nr", store=store, actor="t")
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    monkeypatch.setenv("BLUEPRINT_MAX_SITE_HA", "0.01")
    commands = [["vet", "{}"], ["convert", "{}", "--to", "geojson", "-o", "-"],
                ["projects", "revise", "LC-1", "--reason", "r", "--site", "{}"],
                ["consult", "answer", "1", "--answer", "conditional", "--text", "t",
                 "--user", "规划科", "--condition", "{}"]]
    for site, needle in [(empty, "(文件为空)\n"), (SITE, "超过上限")]:
        lines = set()
        for command in commands:
            code, out, err = cli(store, [w.format(site) for w in command])
            assert (code, out) == (2, ""), (command, err)
            assert needle in err, (command, err)
            lines.add(err)
        assert len(lines) == 1, lines


@pytest.mark.parametrize(("args", "line"), [
    (["vet", "--as-of", "", "a.geojson"], "error: --as-of: an empty value; give one or leave "
     "the option out (--as-of 不能为空（不需要时请不写此选项）)\n"),
    (["quota", "balances", "--county="], "(--county 不能为空（不需要时请不写此选项）)\n"),
    (["projects", "list", "--county", ""], "(--county 不能为空（不需要时请不写此选项）)\n"),
    (["projects", "show", ""], "error: code: an empty value; give one (code 不能为空，请填写 "
     "code)\n"),
    (["vet-batch", "a.geojson", "--output", ""], "(--output 不能为空，请填写 --output)\n"),
    (["tracking", "report", "LC-1", "--month", "2026-05", "--investment", "1",
      "--problem", "p", "--problem", ""], "(--problem 不能为空（不需要时请不写此选项）)\n"),
    (["tracking", "report", "LC-1", "--month", "2026-05", "--investment", "1",
      "--photo", ""], "(--photo 不能为空（不需要时请不写此选项）)\n"),
])
def test_an_empty_value_is_refused_naming_the_option_not_taken_as_not_given(
        store: Store, args: list[str], line: str) -> None:
    code, out, err = cli(store, args)
    assert (code, out) == (2, ""), err
    assert err.endswith(line) and len(err.splitlines()) == 1, err


@pytest.fixture
def ledger(store: Store) -> Store:
    """371502 granted quota; a project in 371521 (a county no grant names)."""
    from quota_support import CITY, register_fixed_projects

    from blueprint.analysis import quota

    quota.grant(year=2026, kind="land", county="371502", amount="100", user=CITY,
                reason="下达", key="grant", store=store)
    register_fixed_projects(store, {"P1": "371521"})
    return store


COUNTY_FILTERS = [["quota", "balances"], ["quota", "movements"], ["quota", "loans"],
                  ["projects", "list"], ["tracking", "status"], ["tracking", "problems"],
                  ["tracking", "late", "--month", "2026-05"]]


@pytest.mark.parametrize("command", COUNTY_FILTERS, ids=" ".join)
def test_a_county_filter_that_cannot_match_is_refused_naming_the_known_counties(
        ledger: Store, command: list[str]) -> None:
    code, out, err = cli(ledger, [*command, "--county", "999999"])
    assert (code, out) == (2, ""), err
    assert err == ("error: --county: no grant, admin boundary or project names the county "
                   "'999999'; known: 371502, 371521 (县区“999999”不在指标台账、行政区划图层或"
                   "项目库中，已知县区：371502、371521)\n")
    for county in ("371502", "371521"):  # granted; a project's
        code, out, err = cli(ledger, [*command, "--county", county])
        assert code == 0, err


def test_an_export_for_a_county_that_cannot_match_is_refused_and_writes_no_file(
        ledger: Store, tmp_path: Path) -> None:
    """``quota export --county`` is a county filter as the others: a typo is refused naming
    the known counties, not written as an export with nothing in it."""
    for what in ("balances", "movements"):
        target = tmp_path / f"{what}.csv"
        code, out, err = cli(ledger, ["quota", "export", "--what", what, "--format", "csv",
                                      "--output", str(target), "--county", "999999"])
        assert (code, out) == (2, ""), err
        assert "县区“999999”不在指标台账、行政区划图层或项目库中，已知县区：371502、371521" in err
        assert not target.exists() and not list(tmp_path.glob("*.partial"))
        code, _out, err = cli(ledger, ["quota", "export", "--what", what, "--format", "csv",
                                       "--output", str(target), "--county", "371502"])
        assert code == 0, err
        assert "371502" in target.read_text(encoding="utf-8-sig")


def test_a_county_of_the_admin_boundary_layer_is_known(store: Store, tmp_path: Path) -> None:
    from tests.helpers import box, frame, write

    layer = write(frame([box(0, 0, 100, 100)], xzqdm=["371581"]), tmp_path / "admin.gpkg")
    code, _out, err = cli(store, ["layers", "import", str(layer), "--kind", "admin_boundary",
                                  "--id-field", "xzqdm"])
    assert code == 0, err
    assert cli(store, ["projects", "list", "--county", "371581"])[0] == 0
    code, _out, err = cli(store, ["projects", "list", "--county", "999999"])
    assert code == 2 and "已知县区：371581)" in err, err


def test_since_after_until_is_refused(ledger: Store) -> None:
    code, out, err = cli(ledger, ["quota", "movements", "--since", "2026-05-02",
                                  "--until", "2026-05-01"])
    assert (code, out) == (2, "")
    assert err == ("error: --since: --since 2026-05-02 is after --until 2026-05-01: nothing can "
                   "match (--since 2026-05-02 晚于 --until 2026-05-01，不会有任何结果)\n")
    code, out, err = cli(ledger, ["quota", "movements", "--since", "2026-05-01",
                                  "--until", "2026-05-01"])  # one day: fine
    assert code == 0, err


@pytest.mark.parametrize("command", [["tracking", "figures"], ["tracking", "late"],
                                     ["tracking", "report", "P1", "--investment", "1"],
                                     ["bulletin", "--out", "."]], ids=" ".join)
def test_a_month_not_written_yyyy_mm_is_refused_as_the_api_refuses_it(
        ledger: Store, command: list[str]) -> None:
    """``GET /api/tracking/figures?month=2025-6`` is a 422 (pattern ``^[0-9]{4}-[0-9]{2}$``):
    the CLI refuses it too rather than read it as 2025-06."""
    code, out, err = cli(ledger, [*command, "--month", "2025-6"])
    assert (code, out) == (2, "")
    assert err == ("error: --month: --month must be YYYY-MM, not '2025-6' (月份须为“年-月”"
                   "（如 2026-11），而非“2025-6”)\n")


def test_bulletin_shows_its_steps_on_a_terminal_and_nothing_off_one(
        ledger: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The transient progress helper the other long commands use: on a terminal it shows
    the steps; with stderr captured (not a terminal) nothing."""
    import io

    from rich.console import Console

    from blueprint.service.cli import console

    code, out, err = cli(ledger, ["bulletin", "--month", "2026-05", "--out", str(tmp_path),
                                  "--no-pdf"])
    assert (code, err) == (0, "")
    assert out.startswith("已生成 ") and (tmp_path / "bulletin-2026-05.xlsx").is_file()
    screen = io.StringIO()
    monkeypatch.setattr(console, "err", Console(file=screen, force_terminal=True,
                                                width=100, markup=False))
    code, out, err = cli(ledger, ["bulletin", "--month", "2026-05", "--out", str(tmp_path),
                                  "--no-pdf"])
    assert code == 0, err
    assert "统计本月指标" in screen.getvalue() or "写出 Excel 表" in screen.getvalue()


def test_a_file_name_too_long_for_the_file_system_is_no_such_file(tmp_path: Path) -> None:
    """(It was "internal error: OSError: [Errno 36] File name too long", the name whole.)"""
    name = "x" + "a" * 300
    code, out, err = usage(["vet", name], tmp_path)
    assert (code, out) == (2, "")
    cut = "x" + "a" * 59 + "…"
    assert err == f"error: {cut}: no such file: {cut} (文件不存在：{cut})\n"


@pytest.mark.parametrize("args", [["backup"], ["quota", "export", "--output"],
                                  ["vet-batch", "a.geojson", "--output"]], ids=" ".join)
def test_an_output_name_too_long_for_the_file_system_is_said_so(
        store: Store, tmp_path: Path, args: list[str]) -> None:
    """(It was "internal error: OSError: [Errno 36] File name too long", exit 1.)"""
    name = tmp_path / ("x" + "a" * 300)
    code, out, err = cli(store, [*args, str(name)])
    assert (code, out) == (2, "")
    assert err.startswith("error: ") and err.endswith("：文件名过长)\n"), err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("x")]


def test_vet_batch_with_a_site_name_too_long_is_not_an_internal_error(
        store: Store, tmp_path: Path) -> None:
    """(Its folder check raised OSError, exit 1; now the name goes on as a file to vet, and
    this store, with no layers, is said to be empty.)"""
    code, out, err = cli(store, ["vet-batch", str(tmp_path / ("x" * 300)), "--output",
                                 str(tmp_path / "r.jsonl")])
    assert (code, out) == (2, "") and "internal error" not in err, err


def test_bulletin_under_a_file_is_refused_before_the_work(ledger: Store, tmp_path: Path
                                                         ) -> None:
    """--out with a file in its way (a.xlsx/2026-05) ended, after the bulletin was built,
    in "internal error: NotADirectoryError" (exit 1); a name too long, in OSError."""
    work = tmp_path / "bulletins"
    work.mkdir()
    (work / "a.xlsx").write_text("keep", encoding="utf-8")
    for out_dir, said in [(work / "a.xlsx" / "2026-05", "是文件而不是文件夹"),
                          (work / ("x" * 300) / "2026-05", "：文件名过长")]:
        code, out, err = cli(ledger, ["bulletin", "--month", "2026-05", "--out", str(out_dir),
                                      "--no-pdf"])
        assert (code, out) == (2, "") and said in err, err
    assert [p.name for p in work.iterdir()] == ["a.xlsx"]


def test_quota_export_over_an_existing_file_needs_force(store: Store, tmp_path: Path) -> None:
    """As backup and vet-batch --output: refused before the ledger is read (it wrote over)."""
    kept = tmp_path / "balances.xlsx"
    kept.write_text("keep", encoding="utf-8")
    code, out, err = cli(store, ["quota", "export", "--output", str(kept)])
    assert (code, out) == (2, "")
    assert err == (f"error: {kept}: {kept} exists; choose another --output (or --force to "
                   f"replace it) ({kept} 已存在，请用 --output 指定其他文件"
                   "（或加 --force 覆盖）)\n")
    assert kept.read_text(encoding="utf-8") == "keep"
    code, out, err = cli(store, ["quota", "export", "--output", str(kept), "--force"])
    assert code == 0, err
    assert kept.read_bytes().startswith(b"PK")  # an xlsx (a zip) now


def test_vet_output_over_an_existing_file_is_refused_before_any_vetting(
        store: Store, tmp_path: Path) -> None:
    """As vet-batch --output: refused before the site is read or the store asked for layers
    (it has none: that would be the error after any work)."""
    site = tmp_path / "a.geojson"
    site.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    kept = tmp_path / "review.html"
    kept.write_text("keep", encoding="utf-8")
    args = ["vet", str(site), "--format", "html", "--output", str(kept)]
    code, out, err = cli(store, args)
    assert (code, out) == (2, "")
    assert err == (f"error: {kept}: {kept} exists; choose another --output (or --force to "
                   f"replace it) ({kept} 已存在，请用 --output 指定其他文件"
                   "（或加 --force 覆盖）)\n")
    assert kept.read_text(encoding="utf-8") == "keep"
    code, out, err = cli(store, [*args, "--force"])
    assert code == 2 and "已存在" not in err  # past the check: the empty site, no layers
    assert kept.read_text(encoding="utf-8") == "keep"


@pytest.mark.parametrize(("value", "traceback"), [
    ("", False), ("0", False), ("false", False), ("1", True), ("true", True), ("on", True)])
def test_blueprint_debug_is_read_as_a_switch(monkeypatch: pytest.MonkeyPatch, capsys,
                                            value: str, traceback: bool) -> None:
    """BLUEPRINT_DEBUG=0 showed the traceback too (any value did); the settings' own
    ``debug`` field, read by nothing, is gone (the CLI reads the variable itself)."""
    import sys

    from blueprint.service.cli import root
    from blueprint.service.settings import Settings

    def boom(**_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(root, "app", boom)
    monkeypatch.setattr(sys, "argv", ["blueprint", "layers", "list"])
    monkeypatch.setenv("BLUEPRINT_DEBUG", value)
    if traceback:
        with pytest.raises(RuntimeError, match="boom"):
            root.main()
    else:
        with pytest.raises(SystemExit) as exited:
            root.main()
        assert exited.value.code == 1
        assert capsys.readouterr().err == (
            "internal error: RuntimeError: boom (set BLUEPRINT_DEBUG=1 for details)\n")
    assert "debug" not in Settings.model_fields
