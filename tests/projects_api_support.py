"""Helpers for the projects and consultation API tests: a fixed clock, the sample city
behind a real app, users with tokens, and a caller that posts as one of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from projects_support import site

from blueprint.analysis import clock
from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.conftest import copy_of_sample

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in China, Monday 2 March 2026
DCF, YG = "371502", "371521"  # 东昌府区, 阳谷县

# name → (role, county, department)
PERSONAS: dict[str, tuple[str, str | None, str | None]] = {
    "admin": ("admin", None, None),
    "nr_city": ("nr_staff", None, None),
    "nr_dcf": ("nr_staff", DCF, None),
    "nr_yg": ("nr_staff", YG, None),
    "quota_city": ("city_quota_manager", None, None),
    "quota_dcf": ("county_quota_manager", DCF, None),
    "quota_yg": ("county_quota_manager", YG, None),
    "dept_ee": ("department", None, "ee"),
    "dept_ee_dcf": ("department", DCF, "ee"),  # 生态环境局东昌府区分局: its county's rounds
    "dept_ee_yg": ("department", YG, "ee"),  # 生态环境局阳谷县分局: not 东昌府区's
    "dept_nr": ("department", None, "nr"),
    "dept_drc": ("department", None, "drc"),
    "dept_industry": ("department", None, "industry"),
    "dept_invest": ("department", None, "invest"),
    "dept_housing": ("department", None, "housing"),
    "viewer": ("viewer", None, None),
}


class Clock:
    """The core's clock (``analysis.clock``) held at a time the test sets."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
        self.at = at
        frozen = self

        class Fixed(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
                return frozen.at if tz is None else frozen.at.astimezone(tz)

        monkeypatch.setattr(clock, "datetime", Fixed)


def geojson(name: str) -> dict[str, Any]:
    """A sample site as a GeoJSON geometry (lon/lat CGCS2000)."""
    return dict(shapely.geometry.mapping(site(name).geometry))


class Api:
    """A test client over the sample city with a token per persona."""

    def __init__(self, client: TestClient, tokens: dict[str, str], store: Store) -> None:
        self.client, self.tokens, self.store = client, tokens, store

    def call(self, who: str | None, method: str, path: str, body: Any = None,
             **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.request(method, f"/api{path}", json=body, params=params or None,
                                   headers=headers)

    def ok(self, who: str | None, method: str, path: str, body: Any = None,
           **params: Any) -> Any:
        answer = self.call(who, method, path, body, **params)
        assert answer.status_code in (200, 201), (method, path, answer.text)
        return answer.json()


def city_api(engine_name: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[tuple[Api, Clock]]:
    """A fresh store with the sample city (a copy of one loaded once per engine:
    :func:`tests.conftest.copy_of_sample`), an app over it, every persona with a token."""
    gen = copy_of_sample(engine_name, tmp_path / "data")
    store = next(gen)
    tokens = {name: create_user(name, role, county, department=dept, store=store,
                                actor="test")
              for name, (role, county, dept) in PERSONAS.items()}
    now = Clock(monkeypatch, T0)
    app = create_app(Settings(database_url=store.database_url, data_dir=store.data_dir))
    with TestClient(app) as client:
        yield Api(client, tokens, store), now
    next(gen, None)


PROJECT = {"name": "聊城新材料产业园一期", "county": DCF, "industry": "industrial",
           "investment": "12.5", "responsible_unit": "聊城新材料有限公司",
           "origin": "attracted", "investor_type": "private", "service_officer": "李专员",
           "demands": {"land": "12.6", "energy": "3000"}, "emissions": {"SO2": 0.1}}
