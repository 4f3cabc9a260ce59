"""A project's amounts (总投资 in 亿元, foreign capital in 万美元) as people type them, on
both engines: a value that is not a number (``12.5亿``) is refused naming the field, and so
are one past the API's bound and one with more decimal places than a project keeps; what is
refused writes nothing. Before, ``blueprint projects create --investment 12.5亿`` ended in
"internal error: InvalidOperation" (exit 1), and an investment of 45 characters was stored by
the embedded engine while PostGIS failed on its 40-character column (a 500 over the API)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from projects_support import STAFF, city, park_project
from typer.testing import CliRunner

from blueprint.analysis.projects import create_project
from blueprint.layers.errors import BadInput
from blueprint.layers.schema import projects
from blueprint.layers.store import Store
from blueprint.service.cli import app

__all__ = ["city"]
LONG = "1." + "0" * 43 + "1"  # 46 characters


def _count(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(projects)).scalar_one())


@pytest.mark.parametrize(("field", "value", "said"), [
    ("investment", LONG, "总投资“1.0000"),
    ("investment", "1e13", "总投资“1e13”过大"),
    ("investment", "12.5亿", "总投资须为数字，如 8.5（不带单位和逗号），而非“12.5亿”"),
    ("foreign_annual_usd", "0.0000001", "小数位数过多（最多 6 位）"),
])
def test_an_amount_a_project_cannot_keep_is_refused(city: Store, field: str, value: str,
                                                    said: str) -> None:
    before = _count(city)
    with pytest.raises(BadInput) as refused:
        create_project(park_project(**{field: value}), user=STAFF, store=city)
    assert refused.value.where == field and said in refused.value.message_zh
    assert _count(city) == before


def test_what_a_project_keeps_is_kept_as_typed(city: Store) -> None:
    """Trailing zeros past the places are dropped (the text fits the column), the rest as
    typed: 12.50 stays 12.50."""
    kept = create_project(park_project(investment="12.50"), user=STAFF, store=city)
    padded = create_project(park_project(investment="8." + "0" * 40), user=STAFF, store=city)
    assert (str(kept.investment), padded.investment) == ("12.50", Decimal("8"))


def test_the_command_refuses_an_investment_with_its_unit(city: Store,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLUEPRINT_DATABASE_URL", city.database_url)
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(city.data_dir))
    before = _count(city)
    result: Any = CliRunner().invoke(app, [
        "projects", "create", "--name", "聊城新材料产业园一期", "--county", "371502",
        "--industry", "industrial", "--investment", "12.5亿", "--unit", "聊城新材料有限公司"])
    assert isinstance(result.exception, BadInput), result.exception
    assert result.exception.where == "investment"
    assert _count(city) == before
