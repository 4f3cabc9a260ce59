"""A site checked for a county it does not lie in (a project's county, whose quota it
draws on) is flagged, not taken on trust: the administrative division's finding turns
conditional and says where the site is (both engines, the sample city)."""

from __future__ import annotations

from blueprint.analysis.rules import load_rules
from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, vet_site
from tests.conftest import SAMPLE

FARMLAND = SAMPLE / "sites" / "03_farmland.txt"
DCF = "371502"  # 东昌府区, where the farmland site is not


def _admin(report):  # noqa: ANN001, ANN202
    return next(f for f in report.findings if f.kind == "admin_boundary")


def test_a_site_outside_the_county_given_is_flagged(sample_store):
    site, rules = read_site(FARMLAND), load_rules()
    located = vet_site(VetRequest(site=site), store=sample_store, rules=rules)
    home = located.county  # where the site lies, from the boundary layer alone
    assert home and home != DCF and _admin(located).status == "ok"
    own = vet_site(VetRequest(site=site, county=home), store=sample_store, rules=rules)
    assert _admin(own).status == "ok" and own.verdict == located.verdict
    other = vet_site(VetRequest(site=site, county=DCF), store=sample_store, rules=rules)
    admin = _admin(other)
    assert admin.status == "conditional" and admin.rule == "admin_boundary.county"
    assert admin.rule_zh == "须位于所填县区内（要素指标按县区核算）"
    assert "不在所填县区东昌府区（371502）内" in admin.message
    assert _admin(located).message.removesuffix("。") in admin.message  # where it lies
    assert other.verdict != "pass" and "请核实项目所属县区" in other.summary_zh
    assert other.county == DCF  # the quota is still the given county's


def test_the_api_flags_it_too(sample_store, tmp_path):
    from tests.test_web import _client

    with _client(sample_store, tmp_path) as client, FARMLAND.open("rb") as fh:
        answer = client.post("/api/vet/file", files={"file": (FARMLAND.name, fh)},
                             data={"county": DCF})
    assert answer.status_code == 200, answer.text
    admin = next(f for f in answer.json()["findings"] if f["kind"] == "admin_boundary")
    assert admin["status"] == "conditional" and "东昌府区（371502）" in admin["message"]
