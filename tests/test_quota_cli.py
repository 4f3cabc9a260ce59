"""``blueprint quota …`` through typer's CliRunner (and once as a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from quota_support import raw_balances, register_fixed_projects
from typer.testing import CliRunner

from blueprint.layers.errors import BadInput, NotAllowed, NotFound, QuotaExceeded
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.cli import app

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def blueprint(store: Store, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", store.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(store.data_dir))
    monkeypatch.setenv("BLUEPRINT_ACTOR", "cli-operator")
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: whole names on one line
    create_user("dcf", "county_quota_manager", "371502", store=store, actor="test")
    register_fixed_projects(store, {"P1": "371502", "P": "371502", "X": "371521"})
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(app, ["quota", *args])
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        return result

    return run


def as_json(result: Any) -> Any:
    return json.loads(result.stdout)


def test_operations_and_reports(blueprint) -> None:
    granted = as_json(blueprint("grant", "--year", "2026", "--kind", "land", "--county",
                                "371502", "--amount", "100", "--county-name", "东昌府区",
                                "--reason", "年度下达", "--key", "g1", "--format", "json"))
    assert (granted["to_pool"], granted["to_county"], granted["actor"]) == (
        "30", "70", "cli-operator")
    replay = as_json(blueprint("grant", "--year", "2026", "--kind", "land", "--county",
                               "371502", "--amount", "100", "--reason", "重试", "--key", "g1",
                               "--format", "json"))
    assert replay == granted
    blueprint("grant", "--year", "2026", "--kind", "land", "--county", "371521", "--amount",
              "100", "--reason", "年度下达")
    held = as_json(blueprint("hold", "--year", "2026", "--kind", "land", "--county", "371502",
                             "--project", "P1", "--amount", "10", "--expires", "2099-06-30",
                             "--reason", "审查", "--user", "dcf", "--format", "json"))
    assert held["actor"] == "dcf" and held["expires_at"].startswith("2099-06-30T16:00")
    blueprint("release", str(held["operation_id"]), "--reason", "审查未通过")
    blueprint("expire-holds")
    allocated = as_json(blueprint("allocate", "--year", "2026", "--kind", "land", "--county",
                                  "371502", "--project", "P1", "--amount", "80",
                                  "--from-pool", "--reason", "重点项目", "--format", "json"))
    assert (allocated["from_county"], allocated["from_pool"]) == ("70", "10")
    loan = as_json(blueprint("lend", "--year", "2026", "--kind", "land", "--from", "371521",
                             "--to", "371502", "--amount", "5", "--due", "2099-01-01",
                             "--reason", "拆借", "--format", "json"))
    overdue = as_json(blueprint("loans", "--overdue", "--on", "2099-01-02", "--format",
                                "json"))
    assert [x["loan_id"] for x in overdue] == [loan["operation_id"]]
    blueprint("repay", str(loan["operation_id"]), "--amount", "2", "--reason", "部分归还")
    blueprint("adjust", "--year", "2026", "--kind", "land", "--from", "371521", "--to",
              "371502", "--amount", "1", "--price", "30000", "--reason", "有偿调剂")
    blueprint("retire", "--year", "2026", "--kind", "land", "--account", "pool", "--amount",
              "1", "--reason", "核销")
    reclaimed = as_json(blueprint("reclaim", "P1", "--reason", "项目取消", "--format", "json"))
    assert sorted(r["amount"] for r in reclaimed["returned"]) == ["10", "70"]
    blueprint("reverse", str(reclaimed["operation_id"]), "--reason", "冲正")
    rows = {r["account"]: r for r in as_json(blueprint("balances", "--kind", "land",
                                                       "--format", "json"))}
    # 371502: 70 - 70 + 5 borrowed - 2 repaid + 1 adjusted; pool 60 - 10 - 1.
    assert rows["county:371502"]["available"] == "4"
    assert rows["pool"]["available"] == "49"
    assert rows["project:P1"]["allocated"] == "80"
    table = blueprint("balances", "--year", "2026", "--county", "371502")
    assert "要素指标余额" in table.stdout and "东昌府区" in table.stdout
    moves = as_json(blueprint("movements", "--project", "P1", "--format", "json"))
    assert [m["op"] for m in moves][:2] == ["hold", "release"]
    assert "要素指标流水" in blueprint("movements", "--op", "adjust").stdout


def test_scope_and_errors(blueprint) -> None:
    blueprint("grant", "--kind", "energy", "--county", "371521", "--amount", "10",
              "--reason", "下达")
    refused = blueprint("allocate", "--kind", "energy", "--county", "371521", "--project",
                        "X", "--amount", "1", "--reason", "x", "--user", "dcf", ok=False)
    assert isinstance(refused.exception, NotAllowed)
    short = blueprint("allocate", "--kind", "energy", "--county", "371521", "--project", "X",
                      "--amount", "7.0001", "--reason", "x", ok=False)
    assert isinstance(short.exception, QuotaExceeded)
    assert blueprint("grant", "--kind", "energy", "--county", "371521", "--amount", "1",
                     ok=False).exit_code == 2  # --reason is required
    unknown = blueprint("expire-holds", "--user", "nobody", ok=False)
    assert isinstance(unknown.exception, NotFound)


def test_an_operations_entries_name_the_accounts_as_the_balances_do(blueprint) -> None:
    """The table after an operation said 县级储备 371502 and 项目预留 P1 where the balances,
    the movements and the pages say 东昌府区县级储备 and 测试项目 P1（P1）项目预留."""
    blueprint("grant", "--kind", "land", "--county", "371502", "--amount", "100",
              "--county-name", "东昌府区", "--reason", "下达")
    held = blueprint("hold", "--kind", "land", "--county", "371502", "--project", "P1",
                     "--amount", "2", "--reason", "审查").stdout
    assert "东昌府区县级储备" in held and "测试项目 P1（P1）项目预留" in held, held
    assert "县级储备 371502" not in held and "项目预留 P1 " not in held
    moved = blueprint("allocate", "--kind", "land", "--county", "371502", "--project", "P1",
                      "--amount", "3", "--reason", "配置").stdout
    assert "测试项目 P1（P1）项目配置" in moved and "东昌府区县级储备" in moved, moved


def test_the_loans_table_names_the_counties(blueprint) -> None:
    """借出县区 and 借入县区 were codes (371521) where the quota page names them."""
    for county, name in (("371502", "东昌府区"), ("371521", "阳谷县")):
        blueprint("grant", "--kind", "land", "--county", county, "--amount", "100",
                  "--county-name", name, "--reason", "下达")
    blueprint("lend", "--kind", "land", "--from", "371521", "--to", "371502", "--amount", "5",
              "--due", "2099-06-30", "--reason", "拆借")
    listed = blueprint("loans").stdout
    row = next(line for line in listed.splitlines() if "2099-06-30" in line)
    assert row.index("阳谷县") < row.index("东昌府区") and "3715" not in row, listed


def test_export_files(blueprint, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    blueprint("grant", "--kind", "SO2", "--county", "371502", "--amount", "12.5", "--reason",
              "下达", "--county-name", "东昌府区")
    target = tmp_path / "balances.xlsx"
    blueprint("export", "--what", "balances", "--format", "xlsx", "--output", str(target))
    sheet = load_workbook(target).active
    assert sheet.title == "指标余额"
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    by_title = {r[header.index("账户")]: r for r in rows[1:]}
    assert by_title["东昌府区县级储备"][header.index("可用")] == pytest.approx(8.75)
    assert by_title["市级统筹池"][header.index("可用")] == pytest.approx(3.75)
    moves = tmp_path / "moves.csv"
    blueprint("export", "--what", "movements", "--format", "csv", "--output", str(moves))
    raw = moves.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("分录号,时间（北京时间）,操作号,操作,年度,指标类型")
    assert [line.split(",")[9] for line in lines[1:]] == ["3.75", "8.75"]
    bad = blueprint("export", "--what", "balances", "--format", "pdf", "--output",
                    str(tmp_path / "x.pdf"), ok=False)
    assert bad.exception is not None and not (tmp_path / "x.pdf").exists()


def test_a_domain_error_is_one_line_and_exit_2(store: Store) -> None:
    register_fixed_projects(store, ["P"])
    env = os.environ | {"BLUEPRINT_DATABASE_URL": store.database_url,
                        "BLUEPRINT_DATA_DIR": str(store.data_dir)}
    done = subprocess.run([sys.executable, "-c", "from service.cli import main; main()",
                           "quota", "allocate", "--kind", "land", "--county", "371502",
                           "--project", "P", "--amount", "1", "--reason", "x"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "指标余额不足" in done.stderr or "不足" in done.stderr


def test_unknown_project_is_one_line_exit_2_and_writes_nothing(store: Store) -> None:
    env = os.environ | {"BLUEPRINT_DATABASE_URL": store.database_url,
                        "BLUEPRINT_DATA_DIR": str(store.data_dir)}
    cli = [sys.executable, "-c", "from service.cli import main; main()", "quota"]
    granted = subprocess.run([*cli, "grant", "--kind", "land", "--county", "371502",
                              "--amount", "100", "--reason", "下达"], env=env, cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    assert granted.returncode == 0, granted.stderr
    before = raw_balances(store)
    for op in ("hold", "allocate"):
        done = subprocess.run([*cli, op, "--kind", "land", "--county", "371502", "--project",
                               "LC-2026-0404", "--amount", "1", "--reason", "x"],
                              env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
        assert "项目“LC-2026-0404”不在项目库中，请先登记项目" in done.stderr
    assert raw_balances(store) == before


def test_hold_expiry_a_day_or_an_exact_time_in_china_time(blueprint) -> None:
    blueprint("grant", "--year", "2026", "--kind", "land", "--county", "371502", "--amount",
              "100", "--reason", "下达")
    hold = ("hold", "--year", "2026", "--kind", "land", "--county", "371502", "--project",
            "P1", "--amount", "1", "--reason", "审查", "--format", "json", "--expires")
    expected = {"2099-06-30": "2099-06-30T16:00:00Z",  # 24:00 China time
                "2099-06-30T00:00:00+08:00": "2099-06-29T16:00:00Z",  # exact, kept
                "2099-06-30T08:00": "2099-06-30T00:00:00Z",  # no zone: China time
                "2099-06-30T08:00:00Z": "2099-06-30T08:00:00Z"}  # in UTC with Z, as the API
    for given, stored in expected.items():
        assert as_json(blueprint(*hold, given))["expires_at"] == stored, given
    bad = blueprint(*hold, "30/06/2099", ok=False)
    assert isinstance(bad.exception, BadInput) and bad.exception.where == "--expires"


def test_date_options_share_one_parser(blueprint) -> None:
    """``--due`` a date, ``--since``/``--until``/``--on`` a date or time, ``--expires``
    either (a day ends at 24:00 China time): bad values are one BadInput naming the option."""
    cases = [
        (["lend", "--kind", "land", "--from", "371521", "--to", "371502", "--amount", "1",
          "--due", "2099-01-01T10:00", "--reason", "拆借"], "--due", "is not a date"),
        (["movements", "--since", "yesterday"], "--since", "is neither a date"),
        (["loans", "--on", "2099-13-01"], "--on", "is not a real date"),  # month 13
        (["loans", "--on", "2099-1-1x"], "--on", "is not a date or time"),
        (["hold", "--kind", "land", "--county", "371502", "--project", "P", "--amount", "1",
          "--expires", "soon", "--reason", "审查"], "--expires", "is neither a date"),
    ]
    for args, option, message in cases:
        result = blueprint(*args, ok=False)
        assert isinstance(result.exception, BadInput), result.output
        assert result.exception.where == option and message in result.exception.message
    assert as_json(blueprint("movements", "--since", "2026-01-01", "--until",
                             "2026-01-02T08:00", "--format", "json")) == []


def _doc_commands(prefix: str) -> list[list[str]]:
    """The ``blueprint quota …`` lines of README.md and docs/*.md that start with ``prefix``
    (as a shell reads them, the comment cut off), without ``blueprint quota``."""
    import shlex

    found = []
    for path in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(prefix):
                found.append(shlex.split(line, comments=True)[2:])
    return found


def test_the_docs_hold_and_lend_examples_run_today(blueprint, store: Store) -> None:
    """Every ``--expires`` of the docs and README is in a ``quota hold`` example, and those
    and the ``quota lend`` example run as written today (a hold must end in the future, a
    loan's due date must not be past), in this year's ledger."""
    every = [line for path in [REPO / "README.md", *(REPO / "docs").glob("*.md")]
             for line in path.read_text(encoding="utf-8").splitlines() if "--expires " in line]
    holds, lends = _doc_commands("blueprint quota hold "), _doc_commands("blueprint quota lend ")
    assert len(holds) == len(every) == 2 and len(lends) == 1
    register_fixed_projects(store, ["LC-2025-0001", "LC-2025-0002"])
    for kind, county in (("land", "371502"), ("energy", "371502"),
                         ("cultivated_balance", "371521")):
        blueprint("grant", "--kind", kind, "--county", county, "--amount", "10000",
                  "--reason", "下达")
    for args in holds + lends:
        done = blueprint(*args, ok=False)
        assert done.exit_code == 0, (args, done.exception)


def test_movement_dates_are_days_in_china_as_on_the_quota_page(blueprint, store: Store
                                                                ) -> None:
    """A grant posted at 01:00 on 6 May in China (17:00 UTC on 5 May) is a movement of
    6 May: ``--since 2026-05-06`` and ``--until 2026-05-06`` (the day included) find it,
    ``--until 2026-05-05`` does not; the table names the command-line operator as the page
    does."""
    from datetime import UTC, datetime

    from blueprint.analysis import quota
    from blueprint.layers.users import User

    quota.grant(year=2026, kind="land", county="371502", amount="10", reason="下达",
                user=User("cli:root", "admin"), key="at-one", store=store,
                at=datetime(2026, 5, 5, 17, 0, tzinfo=UTC))

    def found(*args: str) -> int:
        return len(as_json(blueprint("movements", *args, "--format", "json")))

    assert found("--since", "2026-05-06", "--until", "2026-05-06") == 2
    assert found("--until", "2026-05-05") == 0
    assert found("--since", "2026-05-06T00:30") == 2  # no zone: China time
    assert found("--since", "2026-05-06T01:30") == 0
    table = blueprint("movements").output
    assert "命令行（root）" in table and "cli:root" not in table


def test_grant_file_says_how_many_rows_were_new_and_how_many_on_record(
        blueprint, tmp_path: Path) -> None:
    """A re-run grants nothing and says so (it said 已下达 N 项, every line counted)."""
    header = "year,county_code,county_name,kind,amount,unit\n"
    first = tmp_path / "quotas.csv"
    first.write_text(header + "2026,371502,东昌府区,land,10,ha\n", encoding="utf-8")
    assert blueprint("grant-file", str(first)).stdout == "已下达 1 项年度指标。\n"
    again = blueprint("grant-file", str(first))
    assert again.stdout == "没有新下达的指标：文件中的 1 项此前均已下达，未重复下达。\n"
    more = tmp_path / "more.csv"
    more.write_text(header + "2026,371502,东昌府区,land,10,ha\n"
                    "2026,371521,阳谷县,land,5,ha\n2026,371521,阳谷县,energy,7,tce\n",
                    encoding="utf-8")
    assert blueprint("grant-file", str(more)).stdout == (
        "已下达 2 项年度指标；另有 1 项此前已下达，未重复下达。\n")
    rerun = as_json(blueprint("grant-file", str(more), "--format", "json"))
    assert [r["replayed"] for r in rerun] == [True, True, True]
    granted = [r for r in as_json(blueprint("balances", "--format", "json"))
               if r["type"] == "source"]
    assert sorted(str(r["granted"]) for r in granted) == ["15", "7"]  # each row once


def test_expire_holds_with_none_due_says_so_and_records_nothing(blueprint, store: Store
                                                                ) -> None:
    """没有到期的预留 and no operation, no audit row (it recorded an empty operation)."""
    from tests.helpers import StoreFingerprint

    blueprint("grant", "--kind", "land", "--county", "371502", "--amount", "10", "--reason",
              "下达")
    blueprint("hold", "--kind", "land", "--county", "371502", "--project", "P1", "--amount",
              "1", "--expires", "2099-06-30", "--reason", "审查")
    fingerprint = StoreFingerprint(store)
    before = fingerprint()
    assert blueprint("expire-holds").stdout == "没有到期的预留，未记账。\n"
    shown = as_json(blueprint("expire-holds", "--format", "json"))
    assert (shown["operation_id"], shown["expired_holds"], shown["entries"]) == (None, [], [])
    assert fingerprint() == before
