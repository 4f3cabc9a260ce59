"""Helpers for the project and consultation tests: users, sites, a sample-city store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from blueprint.analysis.projects import ProjectInput
from blueprint.analysis.site import Site, read_site
from blueprint.layers.schema import (
    audit_log,
    consultation_rounds,
    project_reports,
    project_sites,
    project_stages,
    projects,
)
from blueprint.layers.store import Store
from blueprint.layers.users import User
from tests.conftest import SAMPLE, copy_of_sample

SITES = SAMPLE / "sites"
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in China, Monday 2 March 2026
DCF = "371502"  # 东昌府区
STAFF = User("nr_city", "nr_staff")
DCF_STAFF = User("nr_dcf", "nr_staff", DCF)
YG_STAFF = User("nr_yg", "nr_staff", "371521")
CITY_QUOTA = User("city", "city_quota_manager")
VIEWER = User("viewer", "viewer")


def dept_user(code: str) -> User:
    """A user answering for department ``code``."""
    return User(f"dept_{code}", "department", department=code)


def site(name: str) -> Site:
    """One of the sample city's sites (``01_park_clean.txt`` …)."""
    return read_site(SITES / name)


def park_project(**changes: object) -> ProjectInput:
    """An industrial project in 东昌府区 needing land and energy, with emissions."""
    values: dict[str, object] = dict(
        name="聊城新材料产业园一期", county=DCF, industry="industrial",
        investment=Decimal("12.5"), responsible_unit="聊城新材料有限公司",
        origin="attracted", investor_type="private", service_officer="李专员",
        demands={"land": Decimal("12.6"), "energy": Decimal("3000")},
        emissions={"SO2": 0.1})
    values.update(changes)
    return ProjectInput(**values)  # type: ignore[arg-type]


@pytest.fixture
def city(engine_name: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh, writable store with the sample city loaded (layers and 2026 quotas): a copy
    of one loaded once per engine (:func:`tests.conftest.copy_of_sample`)."""
    yield from copy_of_sample(engine_name, tmp_path / "data")


def project_state(store: Store, code: str) -> dict[str, Any]:
    """Every row a revision, a vetting or a round writes of the project ``code``: to compare
    before and after a refusal (nothing written)."""
    with store.engine.connect() as conn:
        pid = conn.execute(sa.select(projects.c.id).where(projects.c.code == code)).scalar_one()

        def rows(table: Any, *where: Any) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in conn.execute(
                sa.select(table).where(*where).order_by(table.c.id))]

        return {"project": rows(projects, projects.c.id == pid),
                "sites": rows(project_sites, project_sites.c.project_id == pid),
                "reports": rows(project_reports, project_reports.c.project_id == pid),
                "stages": rows(project_stages, project_stages.c.project_id == pid),
                "rounds": rows(consultation_rounds, consultation_rounds.c.project_id == pid),
                "audit": rows(audit_log, audit_log.c.project == code)}
