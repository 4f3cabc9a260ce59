"""A refusal for another county names the user's own county as they know it, 本县（阳谷县）,
not by its code (只能办理本县（371521）的项目): the API's policy, the quota ledger's
``User.require``, tracking's reporter check, the pages' forms, the CLI (the core's checks),
both engines; the English ``message`` keeps the code. The name is read only when a refusal
is raised, not on each request that passes or each page that merely hides a button."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from projects_api_support import DCF, PROJECT, T0, YG, Api, Clock, city_api
from projects_support import city

from blueprint.layers.errors import NotAllowed
from blueprint.layers.store import Store
from blueprint.layers.users import User, create_user
from tests.test_pages import _client, _csrf, _login, _saved_project

__all__ = ["city"]
YANGGU = "本县（阳谷县）"
BY_CODE = f"本县（{YG}）"


@pytest.fixture
def api(engine_name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
        ) -> Iterator[tuple[Api, Clock]]:
    yield from city_api(engine_name, tmp_path, monkeypatch)


def _refused(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 403, answer.text
    body: dict[str, Any] = answer.json()
    assert BY_CODE not in body["message_zh"] and YG in body["message"]
    return body


def test_the_api_names_the_users_county(api: tuple[Api, Clock]) -> None:
    api_, _ = api
    code = api_.ok("nr_dcf", "POST", "/projects", PROJECT)["code"]
    exit_ = _refused(api_.call("nr_yg", "POST", f"/projects/{code}/exit", {"reason": "越权"}))
    assert exit_["message_zh"] == f"用户“nr_yg”无权调出项目：只能办理{YANGGU}的项目"
    new = _refused(api_.call("nr_yg", "POST", "/projects", PROJECT))  # the body's county
    assert f"只能办理{YANGGU}的项目" in new["message_zh"]
    report = _refused(api_.call("nr_yg", "POST", f"/tracking/projects/{code}/reports",
                                {"month": "2026-02", "investment": "1"}))
    assert f"只能办理{YANGGU}的项目" in report["message_zh"]
    hold = _refused(api_.client.post(
        "/api/quota/holds", json={"year": 2026, "kind": "land", "county": DCF, "project": code,
                                  "amount": "1", "reason": "越权预留"},
        headers={"Authorization": f"Bearer {api_.tokens['quota_yg']}",
                 "Idempotency-Key": "county-named-1"}))
    assert hold["message_zh"] == f"用户“quota_yg”只能操作{YANGGU}的数据"


def _plan(code: str, store: Store) -> None:
    """A plan, which makes the project one the tracking pages show."""
    from blueprint.analysis.tracking import Milestone, set_plan

    set_plan(code, milestones=[Milestone("start", date(2026, 3, 15), "住房和城乡建设局")],
             investment={"2026-03": "100"}, user=User("nr", "nr_staff"), store=store)


def test_the_pages_forms_name_the_users_county(city: Store, tmp_path: Path) -> None:
    code = _saved_project(city, tmp_path)
    _plan(code, city)
    with _client(city, tmp_path) as yg:
        _login(yg, "nr_yg")
        refused = yg.post(f"/projects/{code}/actions", data={
            "csrf": _csrf(yg), "action": "exit", "reason": "试图越权"})
        assert refused.status_code == 403
        assert f"只能办理{YANGGU}的项目" in refused.text and BY_CODE not in refused.text
        new = yg.post("/projects/new", data={
            "csrf": _csrf(yg, "/projects/new"), "name": "越权项目", "county": DCF,
            "industry": "logistics", "investment": "6", "responsible_unit": "某公司"})
        assert new.status_code == 403
        assert f"只能办理{YANGGU}的项目" in new.text and BY_CODE not in new.text
        report = yg.post(f"/tracking/projects/{code}/reports", data={
            "csrf": _csrf(yg, f"/tracking/projects/{code}"), "month": "2026-02",
            "investment": "1"})
        assert report.status_code == 403
        assert f"只能办理{YANGGU}的项目" in report.text and BY_CODE not in report.text


def typed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
          ) -> Callable[..., tuple[int, str]]:
    """A runner of ``blueprint …`` as typed, through ``main``: its exit status and what it
    wrote on stderr (a refusal: the one line)."""
    from blueprint.service.cli.root import main

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["blueprint", *args])
        capsys.readouterr()
        try:
            main()
            status = 0
        except SystemExit as exc:
            status = int(exc.code or 0)
        return status, capsys.readouterr().err

    return run


@pytest.fixture
def cli(city: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
        ) -> Iterator[Any]:
    """``blueprint …`` as typed, through ``main`` (a refusal: the one line on stderr)."""
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))
    Clock(monkeypatch, T0)
    for name, role, county in (("nr_dcf", "nr_staff", DCF), ("nr_yg", "nr_staff", YG),
                               ("quota_yg", "county_quota_manager", YG)):
        create_user(name, role, county, store=city, actor="test")

    yield typed(monkeypatch, capsys)


def test_the_cli_names_the_users_county(cli: Any) -> None:
    """The CLI calls the core, whose own checks refuse (no policy in front of them)."""
    ok, err = cli("projects", "create", "--name", "东昌府项目", "--county", DCF, "--industry",
                  "logistics", "--investment", "6", "--unit", "某公司", "--user", "nr_dcf")
    assert ok == 0, err
    ok, err = cli("tracking", "plan", "set", "LC-2026-0001", "--milestone",
                  "start=2026-03-15@住房和城乡建设局", "--investment", "2026-03=100",
                  "--user", "nr_dcf")
    assert ok == 0, err
    refusals = {
        f"只能办理{YANGGU}的项目": ("projects", "exit", "LC-2026-0001", "--reason", "越权",
                                "--user", "nr_yg"),
        f"只能填报{YANGGU}的项目": ("tracking", "report", "LC-2026-0001", "--month", "2026-02",
                                "--investment", "1", "--user", "nr_yg"),
        f"只能操作{YANGGU}的数据": ("quota", "hold", "--kind", "land", "--county", DCF,
                                "--project", "LC-2026-0001", "--amount", "1", "--reason",
                                "越权", "--user", "quota_yg"),
    }
    for said, args in refusals.items():
        status, err = cli(*args)
        assert status == 2 and said in err and BY_CODE not in err, (args, err)
        assert f"county {YG}" in err  # the English keeps the code


def test_a_county_without_a_name_is_still_said_by_its_code(store: Store) -> None:
    """Nothing names the code (no boundary layer, grant or project): 本县（代码）, as before."""
    from blueprint.analysis.quota.balances import county_name

    user = User("quota_yg", "county_quota_manager", YG)
    with pytest.raises(NotAllowed) as refused:
        user.require("county_quota_manager", county=DCF,
                     named=lambda code: county_name(code, store=store))
    assert refused.value.message_zh == f"用户“quota_yg”只能操作{BY_CODE}的数据"


def _count_name_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each read of the counties' names (:func:`known_counties`, what the refusals name
    the county by) from now on."""
    balances = importlib.import_module("blueprint.analysis.quota.balances")  # not the function
    read: list[str] = []
    real = balances.known_counties

    def counted(*, store: Store) -> dict[str, str]:
        read.append("known_counties")
        return real(store=store)

    monkeypatch.setattr(balances, "known_counties", counted)
    return read


def test_the_api_reads_the_name_only_for_a_refusal(api: tuple[Api, Clock],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    api_, _ = api
    code = api_.ok("nr_dcf", "POST", "/projects", PROJECT)["code"]
    read = _count_name_reads(monkeypatch)
    tags = {"tags": ["investment"], "reason": "调整"}
    api_.ok("nr_dcf", "PUT", f"/projects/{code}/tags", tags)
    assert read == []
    _refused(api_.call("nr_yg", "PUT", f"/projects/{code}/tags", tags))
    assert read == ["known_counties"]


def test_a_page_hiding_buttons_reads_no_name(city: Store, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The project page asks the policy once per button and hides another county's from
    its viewer: no name is read for that; the refused form reads it once."""
    code = _saved_project(city, tmp_path)
    with _client(city, tmp_path) as yg:
        _login(yg, "nr_yg")
        csrf = _csrf(yg)
        read = _count_name_reads(monkeypatch)
        page = yg.get(f"/projects/{code}")
        assert page.status_code == 200 and "bp-actions" not in page.text
        assert read == []
        refused = yg.post(f"/projects/{code}/actions", data={
            "csrf": csrf, "action": "exit", "reason": "试图越权"})
        assert refused.status_code == 403 and YANGGU in refused.text
        assert read == ["known_counties"]
