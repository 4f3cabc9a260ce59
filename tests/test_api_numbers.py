"""Numbers in request bodies are JSON numbers, never ``true``/``false``: pydantic alone read
``{"area_m2": true}`` as 1 m² and ``"period_days": true`` as one working day. Every numeric
field of every body is declared through :mod:`service.api.bounds` (checked over the app's
routes) and a boolean is refused naming the field, in Chinese (the real app, both engines)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.api.bounds import INTEGER_NOT_BOOLEAN, NUMBER_NOT_BOOLEAN
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

CHECKS = {NUMBER_NOT_BOOLEAN.func, INTEGER_NOT_BOOLEAN.func}
SITE = {"type": "Polygon", "coordinates": [[[115.98, 36.44], [115.981, 36.44],
                                            [115.981, 36.441], [115.98, 36.44]]]}


def _unchecked_numbers(schema: Any, checked: bool = False, at: str = "") -> Iterator[str]:
    """Where a core schema reads an int, float or decimal without the boolean check
    wrapped around it (directly, or through constraints pydantic adds after it)."""
    if isinstance(schema, list):
        for item in schema:
            yield from _unchecked_numbers(item, checked, at)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind in ("int", "float", "decimal") and not checked:
        yield f"{at} ({kind})"
    function = schema.get("function")
    ours = kind == "function-before" and isinstance(function, dict) \
        and function.get("function") in CHECKS
    # constraints pydantic applies after our check still sit above the number
    keeps = ours or (checked and kind in ("function-after", "function-before"))
    for key, value in schema.items():
        if key in ("function", "cls", "metadata", "config"):
            continue
        yield from _unchecked_numbers(value, keeps, f"{at}.{key}" if at else str(key))


def _body_annotations(items: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every body parameter of every API route (through included routers and mounts)."""
    for route in items:
        if hasattr(route, "original_router"):  # an included router (FastAPI ≥ 0.12x)
            yield from _body_annotations(route.original_router.routes,
                                         prefix + route.include_context.prefix)
        elif hasattr(route, "routes") and not hasattr(route, "methods"):  # a mount
            yield from _body_annotations(route.routes, prefix + getattr(route, "path", ""))
        elif isinstance(route, APIRoute):
            for param in route.dependant.body_params:
                yield f"{prefix}{route.path} {param.name}", param.field_info.annotation


def test_every_number_of_every_request_body_is_checked_against_booleans() -> None:
    bodies = dict(_body_annotations(create_app(Settings(data_dir=Path("/nonexistent"))).routes))
    assert "/api/site-search body" in bodies and "/api/quota/grants body" in bodies, bodies
    unchecked = [f"{where}: {at}" for where, annotation in bodies.items()
                 for at in _unchecked_numbers(TypeAdapter(annotation).core_schema)]
    assert unchecked == []


def _client(store: Store, tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(data_dir=store.data_dir,
                                          database_url=store.database_url)))


def _refused(answer: Any, where: str, expected_zh: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.json()["where"] == where, answer.text
    assert answer.json()["message_zh"] == \
        f"请求参数有误（{where}）：须为{expected_zh}，不能是 true 或 false", answer.text


def test_a_boolean_for_a_number_is_refused_naming_the_field(store: Store,
                                                            tmp_path: Path) -> None:
    token = create_user("city", "city_quota_manager", None, store=store, actor="test")
    head = {"Authorization": f"Bearer {token}", "Idempotency-Key": "numbers-1"}
    with _client(store, tmp_path) as client:
        search = "/api/site-search"
        _refused(client.post(search, json={"area_m2": True}), "body.area_m2", "数字")
        _refused(client.post(search, json={"area_m2": 120000, "top": True}), "body.top", "整数")
        _refused(client.post(search, json={"area_m2": 120000, "near": [116.0, False]}),
                 "body.near.1", "数字")
        _refused(client.post(search, json={"area_m2": 120000, "tolerance": False}),
                 "body.tolerance", "数字")
        _refused(client.post(search, json={"area_m2": 120000, "emissions": {"SO2": True}}),
                 "body.emissions.SO2", "数字")
        _refused(client.post("/api/vet", json={"site": SITE, "emissions": {"SO2": True}}),
                 "body.emissions.SO2", "数字")
        _refused(client.post("/api/vet", json={"site": SITE, "year": True}),
                 "body.year", "整数")
        grant = {"year": 2026, "kind": "land", "county": "371502", "reason": "年度下达"}
        _refused(client.post("/api/quota/grants", json=grant | {"amount": True}, headers=head),
                 "body.amount", "数字")
        _refused(client.post("/api/quota/grants", json=grant | {"amount": 5, "year": True},
                             headers=head), "body.year", "整数")
        # numbers, and numbers written as text, are read as before
        assert client.post(search, json={"area_m2": "120000", "top": "1", "county": "nowhere"}
                           ).json()["where"] == "county"
        assert client.get("/api/quota/movements", headers=head).json() == []
