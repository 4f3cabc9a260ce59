"""``blueprint projects | consult | meeting | audit | users`` through typer's CliRunner, on
both engines: a project from planning through two rounds and the joint meeting's list to
its exit; the audit log for city-level users only; users listed, disabled, re-tokened and
given a password at a hidden prompt."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from projects_api_support import T0, Clock
from projects_support import SITES, city
from typer.testing import CliRunner

from blueprint.analysis.clock import CST
from blueprint.layers.errors import IllegalTransition, NotAllowed
from blueprint.layers.store import Store
from blueprint.layers.users import authenticate, authenticate_password, create_user
from blueprint.service.cli import app

__all__ = ["city"]
DEPARTMENTS = ("nr", "ee", "drc", "industry", "invest")


@pytest.fixture
def blueprint(city: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))
    monkeypatch.setenv("BLUEPRINT_ACTOR", "cli-operator")
    monkeypatch.setenv("COLUMNS", "250")
    Clock(monkeypatch, T0)
    for dept in DEPARTMENTS:
        create_user(f"dept_{dept}", "department", None, department=dept, store=city,
                    actor="test")
    create_user("nr_yg", "nr_staff", "371521", store=city, actor="test")
    runner = CliRunner()

    def run(*args: str, ok: bool = True, input: str | None = None) -> Any:
        result = runner.invoke(app, list(args), input=input)
        if ok:
            assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    yield run


def _json(result: Any) -> Any:
    return json.loads(result.stdout)


def test_a_project_through_the_commands(blueprint: Any) -> None:
    created = blueprint("projects", "create", "--name", "聊城新材料产业园一期", "--county",
                        "371502", "--industry", "industrial", "--investment", "12.5", "--unit",
                        "聊城新材料有限公司", "--origin", "attracted", "--demand",
                        "land=12.6,energy=3000", "--emissions", "SO2=0.1",
                        "--site", str(SITES / "02_redline_conflict.txt"))
    assert "LC-2026-0001" in created.stdout and "不通过" in created.stdout
    code = "LC-2026-0001"
    listed = blueprint("projects", "list")
    assert "聊城新材料产业园一期" in listed.stdout and "策划生成 1" in listed.stdout
    assert "东昌府区" in listed.stdout and "371502" not in listed.stdout  # 县区 by name
    first = _json(blueprint("consult", "start", code, "--format", "json"))
    assert {d["department"] for d in first["departments"]} == set(DEPARTMENTS)
    inbox = blueprint("consult", "inbox", "--user", "dept_ee").stdout
    assert "聊城新材料产业园一期" in inbox and "待办会商（生态环境局）" in inbox
    rid = str(first["id"])
    said = blueprint("consult", "answer", rid, "--answer", "disagree", "--text",
                     "占用生态保护红线，不同意。", "--user", "dept_nr")
    assert "不同意" in said.stdout
    refused = blueprint("consult", "answer", rid, "--answer", "agree", "--text", "同意。",
                        "--user", "nr_yg", ok=False)  # staff answer for no department
    assert isinstance(refused.exception, NotAllowed)
    blueprint("consult", "close", rid, "--outcome", "revise", "--reason", "避让生态保护红线")
    blueprint("projects", "revise", code, "--reason", "避让生态保护红线", "--site",
              str(SITES / "01_park_clean.txt"))
    assert code in blueprint("projects", "stale").stdout
    assert "通过" in blueprint("projects", "vet", code).stdout
    second = _json(blueprint("consult", "start", code, "--format", "json"))
    rid = str(second["id"])
    blueprint("consult", "answer", rid, "--answer", "conditional", "--text",
              "西侧保留绿化隔离带。", "--user", "dept_ee", "--condition",
              str(SITES / "01_park_clean.txt"))
    for dept in ("nr", "drc", "industry", "invest"):
        blueprint("consult", "answer", rid, "--answer", "agree", "--text", "同意。", "--user",
                  f"dept_{dept}")
    shown = blueprint("projects", "show", code)
    assert "储备" in shown.stdout and "有条件同意" in shown.stdout
    skip = blueprint("projects", "advance", code, "--to", "started", "--reason", "x", ok=False)
    assert isinstance(skip.exception, IllegalTransition)
    assert "不能转为" in skip.exception.message_zh
    blueprint("projects", "advance", code, "--to", "signed", "--reason", "签约")
    blueprint("quota", "allocate", "--year", "2026", "--kind", "land", "--county", "371502",
              "--project", code, "--amount", "12.6", "--reason", "配置")
    out = blueprint("projects", "exit", code, "--reason", "不再实施")
    assert "已收回其全部指标" in out.stdout
    audit = _json(blueprint("audit", "--project", code, "--format", "json"))
    assert audit[0]["action"] == "project.create" and audit[-1]["action"] == "project.reclaim"
    assert "阶段变更" in blueprint("audit", "--project", code).stdout
    county = blueprint("audit", "--user", "nr_yg", ok=False)
    assert isinstance(county.exception, NotAllowed)
    assert "无权查看审计日志" in county.exception.message_zh  # not "无权修改全市图层"
    assert "县级用户" in county.exception.message_zh


def test_the_joint_meeting(blueprint: Any) -> None:
    blueprint("projects", "create", "--name", "东昌湖畔项目", "--county", "371502",
              "--industry", "industrial", "--investment", "3", "--unit", "某公司", "--site",
              str(SITES / "02_redline_conflict.txt"))
    rid = str(_json(blueprint("consult", "start", "LC-2026-0001", "--format", "json"))["id"])
    blueprint("consult", "answer", rid, "--answer", "disagree", "--text", "不同意。",
              "--user", "dept_nr")
    blueprint("consult", "close", rid, "--outcome", "meeting", "--reason", "确需实施")
    items = _json(blueprint("meeting", "list", "--format", "json"))
    assert [i["problem"] for i in items] == ["确需实施"]
    done = blueprint("meeting", "decide", str(items[0]["id"]), "--decision", "exit", "--date",
                     "2026-03-02", "--attendee", "副市长", "--attendee", "自然资源和规划局局长",
                     "--text", "不予实施，调出项目库。")
    assert "调出" in done.stdout
    assert blueprint("meeting", "list").stdout.count("确需实施") == 0
    assert "确需实施" in blueprint("meeting", "list", "--all").stdout


def test_another_countys_staff_revising_are_refused_as_such_whatever_the_site(
        blueprint: Any, city: Store) -> None:
    """阳谷县's staff revising a 东昌府区 project with a site in 茌平 were told the site was not
    in 本县区（东昌府区）, "user 'nr_yg' files projects of county 371502 only", as if they
    were 东昌府区's: the command checked the site before whose project it is (the API did
    not). Now the refusal a site in 东昌府区 gets: their own county only."""
    blueprint("projects", "create", "--name", "聊城新材料产业园一期", "--county", "371502",
              "--industry", "industrial", "--investment", "3", "--unit", "某公司")
    for site in ("03_farmland.txt", "02_redline_conflict.txt"):  # 茌平, 东昌府区
        refused = blueprint("projects", "revise", "LC-2026-0001", "--reason", "调整选址",
                            "--site", str(SITES / site), "--user", "nr_yg", ok=False)
        assert isinstance(refused.exception, NotAllowed), refused.exception
        assert refused.exception.message_zh == "用户“nr_yg”只能办理本县（阳谷县）的项目"
    assert _json(blueprint("projects", "show", "LC-2026-0001", "--format", "json")
                 )["site_version"] == 0


def test_users_add_refuses_a_county_the_city_does_not_know(blueprint: Any, city: Store
                                                           ) -> None:
    """A county code mistyped (371052 for 371502) was taken: a county user bound to no
    county of the city, who could never act. Refused naming the known codes, nobody added."""
    from blueprint.layers.errors import NotFound
    from blueprint.layers.users import list_users

    before = [u.name for u in list_users(store=city)]
    refused = blueprint("users", "add", "王科长", "--role", "county_quota_manager", "--county",
                        "371052", ok=False)
    assert isinstance(refused.exception, NotFound), refused.exception
    assert refused.exception.where == "--county" and "371502" in refused.exception.message_zh
    assert [u.name for u in list_users(store=city)] == before
    blueprint("users", "add", "王科长", "--role", "county_quota_manager", "--county", "371502")
    assert [u.county for u in list_users(store=city) if u.name == "王科长"] == ["371502"]


def test_users_list_disable_rotate_and_password(blueprint: Any, city: Store) -> None:
    made = blueprint("users", "add", "环保局张科长", "--role", "department", "--department",
                     "ee", "--password-prompt", input="long-enough-1\nlong-enough-1\n")
    token = made.stdout.strip().splitlines()[-1]
    assert authenticate(token, store=city).department == "ee"
    assert authenticate_password("环保局张科长", "long-enough-1", store=city).role == "department"
    mismatch = blueprint("users", "add", "某人", "--role", "viewer", "--password-prompt",
                         input="long-enough-1\nother-words-2\nlong-enough-1\nlong-enough-1\n")
    assert mismatch.exit_code == 0  # asked again until both match, in Chinese
    assert "两次输入的密码不一致" in mismatch.output and "再次输入密码" in mismatch.output
    assert "Repeat" not in mismatch.output and "Error" not in mismatch.output
    listed = blueprint("users", "list")
    assert "环保局张科长" in listed.stdout and "已设置" in listed.stdout
    made_at = datetime.fromisoformat(next(u["created_at"] for u in _json(blueprint(
        "users", "list", "--format", "json")) if u["name"] == "环保局张科长"))
    made_at = made_at if made_at.tzinfo else made_at.replace(tzinfo=UTC)
    assert made_at.astimezone(CST).strftime("%Y-%m-%d %H:%M") in listed.stdout  # China time
    rotated = blueprint("users", "rotate-token", "环保局张科长").stdout.strip().splitlines()[-1]
    assert rotated != token and authenticate(rotated, store=city).name == "环保局张科长"
    blueprint("users", "disable", "环保局张科长")
    assert not [u for u in _json(blueprint("users", "list", "--format", "json"))
                if u["name"] == "环保局张科长" and u["active"]]


def test_a_reimported_layer_makes_stale_and_revet_shows_the_change(blueprint: Any,
                                                                    tmp_path: Any) -> None:
    """``projects stale`` lists the project once its red line is re-imported over the site;
    ``projects revet`` vets it again and says its verdict changed (通过 → 不通过)."""
    import geopandas as gpd

    from blueprint.analysis.site import read_site

    site = SITES / "01_park_clean.txt"
    blueprint("projects", "create", "--name", "红线复核项目", "--county", "371502",
              "--industry", "industrial", "--investment", "3", "--unit", "某公司",
              "--site", str(site))
    assert "LC-2026-0001" not in blueprint("projects", "stale").stdout
    redline = gpd.GeoDataFrame({"code": ["HX-NEW"]}, crs=4490,
                               geometry=[read_site(site).geometry.buffer(0.001)])
    path = tmp_path / "redline.geojson"
    redline.to_file(path, driver="GeoJSON", engine="pyogrio")
    blueprint("layers", "import", str(path), "--kind", "ecological_redline", "--name",
              "ecological_redline", "--id-field", "code")
    stale = blueprint("projects", "stale").stdout
    assert "LC-2026-0001" in stale and "ecological_redline" in stale
    (result,) = _json(blueprint("projects", "revet", "--format", "json"))
    assert (result["project"], result["before"], result["after"], result["changed"]) == (
        "LC-2026-0001", "pass", "fail", True)
    assert "LC-2026-0001" not in blueprint("projects", "stale").stdout
    assert "不通过" in blueprint("projects", "show", "LC-2026-0001").stdout


def test_audit_says_what_changed(blueprint: Any) -> None:
    """``audit`` prints each row's change as ``field: before → after`` lines (a new record's
    fields as ``field: value``, the rest of the detail as ``key: value``), never raw JSON;
    ``--format json`` keeps the whole detail for machines."""
    blueprint("projects", "create", "--name", "审计展示项目", "--county", "371502",
              "--industry", "industrial", "--investment", "3", "--unit", "某公司",
              "--demand", "land=2.5", "--site", str(SITES / "01_park_clean.txt"))
    code = "LC-2026-0001"
    blueprint("projects", "tags", code, "city_key", "--reason", "列入市重点")
    blueprint("consult", "start", code)
    shown = blueprint("audit", "--project", code).stdout
    assert "阶段：策划生成 → 会商中" in shown, shown
    assert "—" in shown and "→ 市重点项目库" in shown  # the libraries: none → city_key
    assert "名称：审计展示项目" in shown and "事由：列入市重点" in shown
    assert '{"' not in shown and '"before"' not in shown
    # the round's departments by their names (the store's departments table), not codes
    assert "会商部门：自然资源和规划局=" in shown and "会商部门：nr=" not in shown, shown
    users = blueprint("audit", "--action", "user.create").stdout
    assert "部门：生态环境局" in users and "部门：ee" not in users, users
    assert "县区：东昌府区" in shown and "县区：阳谷县" in users  # counties too, not 371502
    assert not re.search(r"县区：\d", shown + users)
    rows = _json(blueprint("audit", "--project", code, "--format", "json"))
    stage = next(r for r in rows if r["action"] == "project.stage")
    assert stage["detail"]["before"] == {"stage": "planned"}
    assert stage["detail"]["after"] == {"stage": "consulting"}
    start = next(r for r in rows if r["action"] == "round.start")  # JSON keeps the codes
    assert "nr" in start["detail"]["after"]["departments"]


def test_audit_table_reads_in_a_100_column_terminal(blueprint: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """At 100 columns the 内容 column takes the room the others leave: each change is one
    whole line; actions in Chinese; a project's own rows name it once (another record's row
    names the record, its project under it); an instant in China time, as 时间 is."""
    from rich.console import Console

    # the console reads its width once, when the CLI starts (COLUMNS or the terminal's)
    monkeypatch.setattr("blueprint.service.cli.console.out", Console(markup=False, width=100))
    blueprint("projects", "create", "--name", "审计窄屏项目", "--county", "371502",
              "--industry", "industrial", "--investment", "3", "--unit", "聊城某公司",
              "--demand", "land=2.5", "--site", str(SITES / "01_park_clean.txt"))
    code = "LC-2026-0001"
    blueprint("consult", "start", code)
    shown = blueprint("audit", "--project", code).stdout
    lines = shown.splitlines()
    assert max(map(len, lines)) <= 100, shown
    for change in ("阶段：策划生成 → 会商中", "名称：审计窄屏项目",
                   "责任单位：聊城某公司"):
        assert any(change in line for line in lines), (change, shown)
    assert "新建项目" in shown and "发起会商" in shown and "project.create" not in shown
    assert f"project:{code}" not in shown and "round:" not in shown and "会商轮次" in shown
    users = blueprint("audit", "--action", "user.create").stdout
    assert re.search(r"令牌有效期至：\d{4}-\d\d-\d\d", users), users
    assert not re.search(r"\dT\d|\+00:00", users) and "创建用户" in users


def test_every_audit_action_has_a_chinese_name() -> None:
    """Each action the product writes to the audit log (found in its source) reads in Chinese
    in ``blueprint audit`` (the ledger's by their operation's name)."""
    import re
    from pathlib import Path

    from blueprint.analysis.audit_view import action_zh
    from blueprint.analysis.quota.history import OP_ZH

    repo = Path(__file__).resolve().parents[1]
    source = "\n".join(p.read_text(encoding="utf-8") for folder in
                       ("analysis", "layers", "service", "web")
                       for p in (repo / folder).rglob("*.py"))
    actions = set(re.findall(r'action="([a-z_]+\.[a-z_.]+)"', source))
    actions |= set(re.findall(r'_audit\(conn, [\w.]+, "(round\.[a-z_]+)"', source))
    actions |= {f"round.{s}" for s in ("agreed", "rejected", "referred")}  # round.{status}
    actions |= {f"tracking.problem.{k}" for k in ("escalate", "reassign", "close")}
    actions |= {f"quota.{op}" for op in OP_ZH}
    assert len(actions) > 30 and "project.stage" in actions and "layer.import" in actions
    untranslated = sorted(a for a in actions if action_zh(a) == a)
    assert untranslated == [], untranslated


def test_a_negative_or_non_numeric_demand_is_named_not_called_a_bad_format(
        blueprint: Any, city: Store) -> None:
    """``--demand land=-1`` has the right format: every command that reads ``--demand``
    (projects create, vet, site-search) refuses the amount, naming the kind and the amount;
    the real entry point prints it as one line on stderr and exits 2; nothing is stored."""
    import subprocess
    import sys
    from pathlib import Path

    from blueprint.analysis.projects import list_projects
    from blueprint.layers.errors import BadInput

    site = str(SITES / "01_park_clean.txt")
    commands = {
        "projects": ["projects", "create", "--name", "负数需求项目", "--county", "371502",
                     "--industry", "industrial", "--investment", "3", "--unit", "某公司"],
        "vet": ["vet", site, "--county", "371502"],
        "site-search": ["site-search", "--area", "2", "--county", "371502"]}
    for name, args in commands.items():
        for demand, zh in (("land=-1", "新增建设用地指标需求数量“-1”不能为负数"),
                           ("energy=十", "能耗指标需求数量“十”不是有效数字")):
            refused = blueprint(*args, "--demand", demand, ok=False)
            assert isinstance(refused.exception, BadInput), (name, refused.output)
            assert refused.exception.message_zh == zh, name
            assert refused.exception.where == f"demands.{demand.split('=')[0]}"
    assert list_projects(store=city) == []
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", "from service.cli import main; main()",
                           "vet", site, "--demand", "land=-1"], cwd=repo,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr == ("error: demands.land: the land demand amount -1 is negative; "
                           "amounts are numbers >= 0 (新增建设用地指标需求数量“-1”不能为负数)\n")
