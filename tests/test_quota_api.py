"""``/api/quota``: authentication, roles and county scope, idempotency, every operation."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from quota_support import raw_balances, register_fixed_projects

from blueprint.layers.store import Store
from blueprint.layers.users import create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings


@pytest.fixture
def api(store: Store) -> Iterator[tuple[TestClient, dict[str, str]]]:
    tokens = {name: create_user(name, role, county, store=store, actor="test")
              for name, role, county in [("city", "city_quota_manager", None),
                                         ("dcf", "county_quota_manager", "371502"),
                                         ("yg", "county_quota_manager", "371521"),
                                         ("viewer", "viewer", None)]}
    register_fixed_projects(store, {"P1": "371502", "YG-1": "371521", "YG-2": "371521"})
    app = create_app(Settings(database_url=store.database_url, data_dir=store.data_dir))
    with TestClient(app) as client:
        yield client, tokens


class Caller:
    """Posts as one user with a fresh idempotency key unless one is given."""

    def __init__(self, client: TestClient, token: str | None):
        self.client, self.token, self.n = client, token, 0

    def headers(self, key: str | None = None) -> dict[str, str]:
        self.n += 1
        head = {"Idempotency-Key": key or f"{self.token}-{self.n}"[-60:].replace(" ", "")}
        if self.token:
            head["Authorization"] = f"Bearer {self.token}"
        return head

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> Any:
        return self.client.post(f"/api/quota{path}", json={"reason": "测试"} | body,
                                headers=self.headers(key))

    def get(self, path: str, **params: Any) -> Any:
        head = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return self.client.get(f"/api/quota{path}", params=params, headers=head)


GRANT = {"year": 2026, "kind": "land", "county": "371502", "amount": "100",
         "county_name": "东昌府区"}


def _callers(api) -> dict[str, Caller]:
    client, tokens = api
    return {name: Caller(client, token) for name, token in tokens.items()} | {
        "anonymous": Caller(client, None), "forged": Caller(client, "not-a-token")}


def test_without_a_valid_token_nothing_is_read_or_changed(api) -> None:
    who = _callers(api)
    for caller in (who["anonymous"], who["forged"]):
        assert caller.post("/grants", GRANT).status_code == 401
        assert caller.get("/balances").status_code == 401
        assert caller.get("/export").status_code == 401
    assert who["city"].get("/balances").json() == []


def test_roles_and_county_scope(api) -> None:
    who = _callers(api)
    for name in ("viewer", "dcf"):
        answer = who[name].post("/grants", GRANT)
        assert answer.status_code == 403 and answer.json()["error"] == "not_allowed"
    assert who["city"].post("/grants", GRANT).status_code == 200
    assert who["city"].post("/grants", GRANT | {"county": "371521"}).status_code == 200
    project = {"year": 2026, "kind": "land", "county": "371521", "project": "YG-1",
               "amount": "5"}
    assert who["dcf"].post("/allocations", project).status_code == 403
    assert who["dcf"].post("/holds", project).status_code == 403
    assert who["yg"].post("/allocations", project).status_code == 200
    assert who["yg"].post("/allocations", project | {"project": "YG-2", "from_pool": True}
                          ).status_code == 403
    assert who["dcf"].post("/projects/YG-1/reclaim", {}).status_code == 403
    assert who["yg"].post("/projects/YG-1/reclaim", {}).status_code == 200
    assert who["viewer"].get("/balances").status_code == 200  # reading is open to staff


def test_idempotency_key_header(api) -> None:
    city = _callers(api)["city"]
    client, tokens = api
    missing = client.post("/api/quota/grants", json=GRANT | {"reason": "x"},
                          headers={"Authorization": f"Bearer {tokens['city']}"})
    assert missing.status_code == 422 and "Idempotency-Key" in missing.json()["where"]
    first = city.post("/grants", GRANT, key="grant-dcf-2026")
    again = city.post("/grants", GRANT | {"reason": "重试"}, key="grant-dcf-2026")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    changed = city.post("/grants", GRANT | {"amount": "99"}, key="grant-dcf-2026")
    assert changed.status_code == 409 and changed.json()["error"] == "conflict"
    pool = [r for r in city.get("/balances").json() if r["account"] == "pool"]
    assert pool[0]["available"] == "30"


def test_errors_are_mapped(api) -> None:
    city = _callers(api)["city"]
    city.post("/grants", GRANT)
    short = city.post("/allocations", {"year": 2026, "kind": "land", "county": "371502",
                                       "project": "P1", "amount": "70.0001"})
    assert short.status_code == 409 and short.json()["error"] == "quota_exceeded"
    assert "不足" in short.json()["message_zh"]
    bad = city.post("/grants", GRANT | {"kind": "gold"})
    assert bad.status_code == 422 and bad.json()["where"] == "kind"
    assert city.post("/holds/999/release", {}).status_code == 404
    assert city.post("/grants", GRANT | {"amount": "1.00001"}).status_code == 422


def test_a_date_or_a_yes_no_the_api_cannot_read_says_what_it_must_be(api) -> None:
    """A due date, a since/until/on or an overdue flag pydantic cannot read is refused
    saying the field and what it must be (it said 请求参数有误（body.due） and no more)."""
    city = _callers(api)["city"]
    city.post("/grants", GRANT)
    city.post("/grants", GRANT | {"county": "371521", "county_name": "阳谷县"})
    loan = {"year": 2026, "kind": "land", "lender": "371521", "borrower": "371502",
            "amount": "5"}
    for due, said in (("2027-13-01", "2027-13-01 不是有效日期"),
                      ("2027-1-01", "须为日期 YYYY-MM-DD"),
                      ("2027-01-01T10:00", "须为日期 YYYY-MM-DD（不含时刻）")):
        bad = city.post("/loans", loan | {"due": due})
        assert bad.status_code == 422
        assert (bad.json()["where"], bad.json()["message_zh"]) == (
            "body.due", f"请求参数有误（body.due）：{said}")
    for path, params, where, said in (
            ("/movements", {"since": "2026-13-01"}, "query.since",
             "须为日期 YYYY-MM-DD 或时间 YYYY-MM-DDTHH:MM"),
            ("/loans", {"on": "明天"}, "query.on", "须为日期 YYYY-MM-DD"),
            ("/loans", {"overdue": "也许"}, "query.overdue", "须为 true 或 false")):
        bad = city.get(path, **params)
        assert bad.status_code == 422
        assert (bad.json()["where"], bad.json()["message_zh"]) == (
            where, f"请求参数有误（{where}）：{said}")
    assert city.get("/loans").json() == []  # nothing was lent


def test_unknown_project_is_404_and_other_county_409_and_nothing_written(
        api, store: Store) -> None:
    city = _callers(api)["city"]
    city.post("/grants", GRANT)
    before = raw_balances(store), len(city.get("/movements").json())
    for path in ("/holds", "/allocations"):
        body = {"year": 2026, "kind": "land", "county": "371502", "amount": "1"}
        unknown = city.post(path, body | {"project": "LC-2026-0404"}, key=f"u{path[1:]}")
        assert unknown.status_code == 404, unknown.json()
        assert unknown.json()["error"] == "not_found" and unknown.json()["where"] == "project"
        assert unknown.json()["message_zh"] == "项目“LC-2026-0404”不在项目库中，请先登记项目"
        other = city.post(path, body | {"project": "YG-1"})
        assert other.status_code == 409 and other.json()["error"] == "conflict"
        # the counties as the grants named them: 371502 was granted as 东昌府区
        assert other.json()["message_zh"] == "项目“YG-1”属于县区 371521，不属于东昌府区（371502）"
    assert (raw_balances(store), len(city.get("/movements").json())) == before
    # The refused key was not recorded: once the project exists the same key runs.
    register_fixed_projects(store, ["LC-2026-0404"])
    done = city.post("/holds", {"year": 2026, "kind": "land", "county": "371502",
                                "amount": "1", "project": "LC-2026-0404"}, key="uholds")
    assert done.status_code == 200, done.json()


def test_expiring_holds_of_a_county_no_grant_named_is_404_and_writes_nothing(
        api, store: Store) -> None:
    city = _callers(api)["city"]
    city.post("/grants", GRANT)

    def written() -> list[int]:
        with store.engine.connect() as conn:
            return [conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                    for t in ("quota_operations", "quota_entries", "audit_log")]

    before = written()
    unknown = city.post("/holds/expire", {"county": "999999"})
    assert unknown.status_code == 404, unknown.json()
    assert unknown.json()["error"] == "not_found" and unknown.json()["where"] == "county"
    assert "999999" in unknown.json()["message_zh"]
    assert written() == before
    none_due = city.post("/holds/expire", {"county": "371502"})
    assert none_due.status_code == 200, none_due.json()
    assert (none_due.json()["operation_id"], none_due.json()["expired_holds"]) == (None, [])
    assert written() == before  # nothing due: no operation, no audit row (it wrote both)


def test_a_county_manager_expiring_their_county_before_its_first_grant_is_404(
        api, store: Store) -> None:
    """As a city-level user's unknown county: 404 at county and nothing written (it wrote
    an empty operation and an audit row), whether the manager names their county or not."""
    from tests.helpers import StoreFingerprint

    who = _callers(api)
    who["city"].post("/grants", GRANT | {"county": "371521", "county_name": "阳谷县"})
    fingerprint = StoreFingerprint(store)
    before = fingerprint()
    for body in ({"county": "371502"}, {}):
        answer = who["dcf"].post("/holds/expire", body)
        assert answer.status_code == 404, answer.json()
        assert answer.json()["error"] == "not_found" and answer.json()["where"] == "county"
        assert "371502" in answer.json()["message_zh"]
    assert fingerprint() == before
    assert who["yg"].post("/holds/expire", {}).status_code == 200  # a granted county's


def test_every_operation_over_http(api) -> None:
    who = _callers(api)
    city, dcf, yg = who["city"], who["dcf"], who["yg"]
    assert city.post("/grants", GRANT).json()["to_county"] == "70"
    city.post("/grants", GRANT | {"county": "371521", "county_name": "阳谷县"})
    held = dcf.post("/holds", {"year": 2026, "kind": "land", "county": "371502",
                               "project": "P1", "amount": "10", "expires": "2099-12-31"})
    assert held.status_code == 200 and held.json()["expires_at"].startswith("2099-12-31T16")
    hold_id = held.json()["operation_id"]
    assert dcf.post(f"/holds/{hold_id}/release", {}).json()["amount"] == "10"
    expired = city.post("/holds/expire", {})
    assert expired.status_code == 200 and expired.json()["expired_holds"] == []
    allocated = city.post("/allocations", {"year": 2026, "kind": "land", "county": "371502",
                                           "project": "P1", "amount": "75",
                                           "from_pool": True})
    assert (allocated.json()["from_county"], allocated.json()["from_pool"]) == ("70", "5")
    loan = city.post("/loans", {"year": 2026, "kind": "land", "lender": "371521",
                                "borrower": "371502", "amount": "20", "due": "2099-01-31"})
    assert loan.status_code == 200, loan.json()
    loan_id = loan.json()["operation_id"]
    assert city.get("/loans", overdue="true", on="2099-01-31").json() == []
    overdue = city.get("/loans", overdue="true", on="2099-02-01").json()
    assert [x["loan_id"] for x in overdue] == [loan_id] and overdue[0]["outstanding"] == "20"
    assert dcf.post(f"/loans/{loan_id}/repay", {"amount": "5"}).json()["outstanding"] == "15"
    adjusted = city.post("/adjustments", {"year": 2026, "kind": "land", "seller": "371521",
                                          "buyer": "371502", "amount": "3", "price": "90000"})
    assert adjusted.json()["price"] == "90000.00"
    retired = city.post("/retirements", {"year": 2026, "kind": "land", "account": "pool",
                                         "amount": "1"})
    assert retired.status_code == 200
    reclaimed = dcf.post("/projects/P1/reclaim", {"kind": "land"})
    assert sorted((r["to"], r["amount"]) for r in reclaimed.json()["returned"]) == [
        ("county:371502", "70"), ("pool", "5")]
    reversed_ = city.post(f"/operations/{reclaimed.json()['operation_id']}/reverse", {})
    assert [e["from"] for e in reversed_.json()["entries"]] == ["pool", "county:371502"]
    rows = {r["account"]: r for r in yg.get("/balances", kind="land").json()}
    # 371502: 70 - 70 allocated + 20 borrowed - 5 repaid + 3 adjusted (+70 -70 reclaim/reverse)
    assert rows["county:371502"]["available"] == "18"
    assert rows["project:P1"]["allocated"] == "75"
    assert rows["county:371521"]["lent"] == "15"
    assert rows["pool"]["available"] == "54"  # 30 + 30 - 5 allocated - 1 retired
    moves = yg.get("/movements", project="P1").json()
    assert {m["from"] for m in moves} >= {"county:371502", "pool", "hold:P1"}
    assert len(yg.get("/movements", op="grant").json()) == 4
    # a reversing entry says what it reverses, in words, beside its reverses_id
    undone = {m["id"]: m for m in moves if m["op"] == "reclaim"}
    back = [m for m in yg.get("/movements", op="reverse").json()]
    assert back and all(m["reverses_zh"] == f"冲正分录 {m['reverses_id']}（操作 "
                        f"{undone[m['reverses_id']]['operation_id']}，收回）" for m in back)


def test_kinds_and_exports(api) -> None:
    city = _callers(api)["city"]
    city.post("/grants", GRANT)
    kinds = {k["code"]: k for k in city.get("/kinds").json()}
    assert kinds["emission_SO2"]["unit"] == "t/yr" and kinds["energy"]["pool_share"] == "0.3"
    xlsx = city.get("/export", what="balances", format="xlsx")
    assert xlsx.status_code == 200
    assert xlsx.headers["content-disposition"] == (  # RFC 6266/5987: Chinese, ASCII fallback
        "attachment; filename=\"balances.xlsx\"; filename*=UTF-8''" + quote("指标余额.xlsx"))
    named = city.get("/export", what="movements", format="csv", year="2026", kind="land")
    disposition = named.headers["content-disposition"]
    assert 'filename="movements-2026-new_construction_land.csv"; ' in disposition
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "指标流水-2026-新增建设用地.csv"
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["年度", "指标类型", "单位", "账户类型", "账户"]
    titles = {row[4]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert titles["东昌府区县级储备"][header.index("可用")] == 70
    text = city.get("/export", what="movements", format="csv").content.decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [(r["调出账户"], r["调入账户"], r["数量"]) for r in table] == [
        ("上级下达", "市级统筹池", "30"), ("上级下达", "东昌府区县级储备", "70")]
    assert city.get("/export", what="nothing").status_code == 422


def test_hold_expiry_a_day_or_an_exact_time_in_china_time(api) -> None:
    city = _callers(api)["city"]
    city.post("/grants", GRANT)
    hold = {"year": 2026, "kind": "land", "county": "371502", "project": "P1", "amount": "1"}
    expected = {"2099-06-30": "2099-06-30T16:00:00Z",  # the end of that day in China
                "2099-06-30T00:00:00+08:00": "2099-06-29T16:00:00Z",  # an exact time stays
                "2099-06-30T00:00:00": "2099-06-29T16:00:00Z",  # no zone: China time
                "2099-06-30T08:00:00Z": "2099-06-30T08:00:00Z"}
    for given, stored in expected.items():
        answer = city.post("/holds", hold | {"expires": given})
        assert answer.status_code == 200, answer.json()
        assert answer.json()["expires_at"] == stored, given
    for bad in (4102444800, "30/06/2099", "tomorrow"):
        answer = city.post("/holds", hold | {"expires": bad})
        assert answer.status_code == 422 and answer.json()["where"].endswith("expires"), bad


def test_movements_since_and_until_without_a_zone_are_china_time(api, store: Store) -> None:
    """A grant posted at 01:00 on 6 May in China (17:00 UTC on 5 May): ``since`` 00:30 with
    no zone is China time and finds it (read as UTC it would not); ``until`` 01:30 too."""
    from datetime import UTC, datetime

    from blueprint.analysis import quota
    from blueprint.layers.users import User

    quota.grant(year=2026, kind="land", county="371502", amount="10", reason="下达",
                user=User("city", "city_quota_manager"), key="at-one", store=store,
                at=datetime(2026, 5, 5, 17, 0, tzinfo=UTC))
    city = _callers(api)["city"]

    def found(**params: str) -> int:
        answer = city.get("/movements", **params)
        assert answer.status_code == 200, answer.text
        return int(answer.headers["X-Total-Count"])

    assert found(since="2026-05-06T00:30:00") == 2  # pool and county reserve
    assert found(until="2026-05-06T00:30:00") == 0
    assert found(since="2026-05-06T01:30:00") == 0
    assert found(since="2026-05-05T16:30:00Z", until="2026-05-05T17:30:00Z") == 2
