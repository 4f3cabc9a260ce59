"""Who did something, as the pages say it (the real app, FastAPI TestClient, both engines):
a command run at the server by the OS user root (stored ``cli:root``) reads 命令行（root） on
the project page (审查人, 阶段记录) and in its 初审意见书; a user reads as their login name."""

from __future__ import annotations

from pathlib import Path

from projects_support import city, park_project, site  # noqa: F401  (city: fixture)

from blueprint.analysis.projects import create_project, vet_project
from blueprint.layers.store import Store
from blueprint.layers.users import User
from tests.test_pages import _client, _login, _users

OPERATOR = User("cli:root", "admin")  # what `blueprint projects create` acts as by default


def test_the_project_page_names_a_command_line_operator_as_a_person_reads_it(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    code = create_project(park_project(name="命令行登记项目"), site=site("01_park_clean.txt"),
                          user=OPERATOR, store=city).code
    vet_project(code, user=OPERATOR, store=city)
    _users(city)
    with _client(city, tmp_path) as client:
        _login(client, "nr")
        page = client.get(f"/projects/{code}").text
        assert "审查人 命令行（root），" in page
        history = page.split('id="bp-history"', 1)[1].split("</table>", 1)[0]
        assert "<td>命令行（root）</td>" in history
        assert "cli:root" not in page
        review = client.get(f"/projects/{code}/report").text
        assert "审查人：命令行（root）" in review and "cli:root" not in review


def test_the_tracking_page_names_a_command_line_reporter_as_a_person_reads_it(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    from datetime import date

    from blueprint.analysis import tracking

    code = create_project(park_project(name="命令行填报项目"), user=OPERATOR, store=city).code
    tracking.set_plan(code, milestones=[tracking.Milestone("start", date(2026, 6, 1), "住建局")],
                      investment={"2026-02": "100"}, user=OPERATOR, store=city)
    tracking.submit_report(code, "2026-02", investment="90", user=OPERATOR, store=city)
    _users(city)
    with _client(city, tmp_path) as client:
        _login(client, "nr")
        page = client.get(f"/tracking/projects/{code}").text
        row = page.split("2026-02", 1)[1].split("</tr>", 1)[0]
        assert "<td>命令行（root）</td>" in row, row
        assert "cli:root" not in page
