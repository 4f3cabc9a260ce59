"""Every integer, string and enum the HTTP API takes is bounded: 4xx, never 500 (issue 12).

Values that used to reach the database and fail there: years and offsets beyond 64 bits,
ids of 10^20, NUL bytes in names, codes, reasons and keys. Both engines (PostgreSQL
refuses NUL in text with an exception; SQLite overflows on integers beyond 2^63).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from blueprint.layers.errors import BadInput
from blueprint.layers.inputs import check_fields, check_text
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

SHAPE = {"error", "message", "message_zh", "where"}
BIG = "99999999999999999999"
REASON = {"reason": "测试"}

# (method, path, json body, query) — each must be refused with 4xx and the error body.
CASES: list[tuple[str, str, Any, dict[str, str] | None]] = [
    ("GET", "/api/quota/balances", None, {"year": BIG}),
    ("GET", "/api/quota/balances", None, {"year": "1999"}),
    ("GET", "/api/quota/balances", None, {"as_of": "9999-12-31"}),  # its end overflowed
    ("GET", "/api/quota/balances", None, {"as_of": "0001-01-01T00:00"}),
    ("GET", "/api/quota/movements", None, {"offset": "9223372036854775808"}),
    ("GET", "/api/quota/movements", None, {"since": "0001-01-01T00:00"}),  # was a 500
    ("GET", "/api/quota/movements", None, {"until": "1999-12-31T23:59"}),
    ("GET", "/api/quota/loans", None, {"on": "9999-12-31"}),
    ("POST", "/api/quota/holds/expire", {"year": int(BIG), **REASON}, None),
    ("GET", "/api/quota/movements", None, {"project": "LC\x00"}),
    ("GET", "/api/quota/loans", None, {"county": "3715\x0002"}),
    ("GET", "/api/layers/x/features", None, {"offset": "9223372036854775808"}),
    ("GET", "/api/audit", None, {"project": "A\x00B"}),
    ("GET", "/api/projects", None, {"county": "\x00"}),
    ("GET", "/api/projects/LC%00", None, None),
    ("GET", f"/api/rounds/{BIG}", None, None),
    ("GET", "/api/rounds/0", None, None),
    ("POST", f"/api/meeting/items/{BIG}/decide", {"decision": "proceed"}, None),
    ("POST", f"/api/quota/operations/{BIG}/reverse", REASON, None),
    ("POST", f"/api/quota/holds/{BIG}/release", REASON, None),
    ("POST", "/api/quota/grants", {"year": int(BIG), "kind": "land", "county": "371502",
                                   "amount": "1", "reason": "r"}, None),
    ("POST", "/api/quota/grants", {"year": 2026, "kind": "land", "county": "371502",
                                   "amount": "1", "reason": "下达\x00"}, None),
    ("POST", "/api/quota/grants", {"year": 2026, "kind": "land\x00", "county": "371502",
                                   "amount": "1", "reason": "r"}, None),
    ("POST", "/api/quota/grants", {"year": 2026, "kind": "land", "county": "371502",
                                   "amount": "1E+100000", "reason": "r"}, None),
    ("POST", "/api/quota/grants", {"year": 2026, "kind": "land", "county": "x" * 1000,
                                   "amount": "1", "reason": "r"}, None),
    ("POST", "/api/quota/holds", {"year": 2026, "kind": "land", "county": "371502",
                                  "project": "P1", "amount": "1", "reason": "r",
                                  "expires": "9999-12-31"}, None),
    ("POST", "/api/projects", {"name": "园区\x00", "county": "371502", "industry": "industrial",
                               "investment": "1", "responsible_unit": "u"}, None),
    ("POST", "/api/projects", {"name": "园区", "county": "371502", "industry": "industrial",
                               "investment": "1", "responsible_unit": "u", "level": "x"}, None),
    ("POST", "/api/projects/LC-2026-0001/exit", {"reason": "\x00"}, None),
    ("POST", "/api/projects/LC-2026-0001/rounds", {"period_days": int(BIG)}, None),
    ("POST", "/api/vet", {"site": {}, "year": int(BIG)}, None),
    ("POST", "/api/vet", {"site": {}, "county": "\x00"}, None),
    ("POST", "/api/vet", {"site": {}, "emissions": {"SO2": 1e300}}, None),
    ("POST", "/api/site-search", {"area_m2": 0}, None),
    ("POST", "/api/site-search", {"area_m2": 1e300}, None),
    ("POST", "/api/site-search", {"area_m2": 1, "top": 51}, None),
    ("POST", "/api/site-search", {"area_m2": 1, "near": [1e300, 0]}, None),
    ("POST", "/api/site-search", {"area_m2": 1, "tolerance": 2}, None),
    ("POST", "/api/site-search", {"area_m2": 1, "county": "\x00"}, None),
    ("GET", "/ogc/collections/x/items", None, {"offset": "9223372036854775808"}),
    ("GET", "/ogc/collections/x%00/items/1", None, None),
    ("GET", "/api/layers/x/image", None, {"band": "S\x00"}),
    ("POST", "/api/sites/download", {"site": {}}, {"format": "kml"}),
    ("POST", "/api/sites/download", {"site": {}, "name": "地块\x00"}, None),
    ("POST", "/api/sites/download", {"site": {}, "name": "x" * 1000}, None),
    ("GET", "/api/projects/LC%00/site", None, None),
    ("GET", "/api/projects/LC-2026-0001/site", None, {"format": "x" * 1000}),
    ("POST", "/api/vet/points", {"points": "J1,1,4034895.777,39413513.313\nJ2," + "9" * 4500
                                 + ",4034983.100,39413924.135"}, None),  # was a 500
]


@pytest.fixture
def client(store):
    token = create_user("boss", "admin", None, store=store, actor="t")
    app = create_app(Settings(data_dir=store.data_dir, database_url=store.database_url))
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


@pytest.mark.parametrize(("method", "path", "body", "query"), CASES,
                         ids=[f"{c[0]} {c[1]} {c[3] or ''}"[:60] for c in CASES])
def test_out_of_bounds_values_are_4xx_with_the_error_body(client, method, path, body, query):
    headers = {"Idempotency-Key": "bounds-test"} if method == "POST" else {}
    answer = client.request(method, path, json=body, params=query, headers=headers)
    assert 400 <= answer.status_code < 500, answer.text
    assert set(answer.json()) >= SHAPE and answer.json()["message_zh"], answer.text


def test_idempotency_key_is_bounded(client):
    body = {"year": 2026, "kind": "land", "county": "371502", "amount": "1", "reason": "r"}
    answer = client.post("/api/quota/grants", json=body, headers={"Idempotency-Key": "k" * 181})
    assert answer.status_code == 422 and "Idempotency-Key" in answer.json()["where"]


def test_schema_states_the_bounds(client):
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/quota/movements"]["get"]
              ["parameters"]}
    year = params["year"]["anyOf"][0]
    assert (year["minimum"], year["maximum"]) == (2000, 2100)
    assert params["offset"]["maximum"] == 2**31 - 1
    assert params["project"]["anyOf"][0]["maxLength"] == 64
    reason = spec["components"]["schemas"]["GrantIn"]["properties"]["reason"]
    assert reason["maxLength"] == 5000 and "\\x00" in reason["pattern"]


def test_page_forms_refuse_nul(client):
    answer = client.post("/login", data={"name": "王科长\x00", "password": "x"})
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    assert "“用户名”含有控制字符 U+0000" in answer.text  # a page, not the API's JSON
    anonymous = client.post(f"/inbox/{BIG}/answer", data={}, follow_redirects=False)
    assert anonymous.status_code in (303, 422)


def test_check_text_names_the_field_and_position():
    assert check_text("第一行\n第二行\t", "reason") == "第一行\n第二行\t"
    with pytest.raises(BadInput) as caught:
        check_text("ab\x00", "name")
    assert caught.value.where == "name" and "position 3" in caught.value.message
    with pytest.raises(BadInput):
        check_fields([("reason", "x" * 5001)])
    check_fields([("site", "x" * 5001)], long=("site",))


@pytest.mark.parametrize("length", ["9" * 5000, "1" + "0" * 30, "2001"],
                         ids=["5000 digits", "31 digits", "4 digits"])
def test_a_content_length_of_any_size_over_the_limit_is_413(length: str) -> None:
    """A Content-Length longer than ``int()`` reads (4300 digits) is over the limit like
    any other: 413 before the body is read, not a ValueError (uvicorn's parser refuses
    such a header first; the app must not rely on it)."""
    import asyncio

    from blueprint.service.api.body_limit import BodyLimit

    reached: list[str] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/vet", "headers": [
        (b"content-type", b"application/json"), (b"content-length", length.encode())]}
    asyncio.run(BodyLimit(app, upload_bytes=1000, other_bytes=1000)(scope, receive, send))
    assert reached == [] and sent[0]["status"] == 413
