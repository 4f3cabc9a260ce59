"""One term for one thing in what users read (docs/glossary.md)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_project_code_is_called_项目编号_everywhere() -> None:
    """The pages said 项目编号, the bulletin and the CLI's tables 项目代码 (the national
    investment platform's word for its own, different number). Now 项目编号 everywhere."""
    from blueprint.analysis.tracking.bulletin import PROBLEM_COLUMNS, PROJECT_COLUMNS
    from blueprint.service.cli.projects import PROJECT_COLUMNS as CLI_COLUMNS

    assert "项目编号" in PROJECT_COLUMNS and "项目编号" in PROBLEM_COLUMNS
    assert CLI_COLUMNS[0] == "项目编号"
    found = [f"{path.relative_to(ROOT)}:{n}"
             for folder in ("analysis", "layers", "service", "web")
             for path in sorted((ROOT / folder).rglob("*"))
             if path.suffix in (".py", ".html", ".toml", ".j2")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if "项目代码" in line]
    assert found == []
    assert "| 项目、项目编号 |" in (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")


def test_the_glossary_gives_the_units_the_product_shows() -> None:
    """Emissions and what remains of the environment's capacity read 吨/年 on pages and in
    reports (the glossary said t/a); each quota kind's unit as the ledger writes it."""
    from blueprint.analysis.quota.kinds import KINDS
    from blueprint.analysis.review.document import UNITS_ZH

    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): line for line in text.splitlines()
            if line.startswith("| ")}
    assert UNITS_ZH["t/a"] == "吨/年" and "吨/年" in rows["env_capacity"]
    assert "t/a remaining" not in rows["env_capacity"]
    assert all(kind.unit_zh in rows["quota, quota kind"] for kind in KINDS.values())
    assert "吨/年" in rows["emissions (a project's)"]
