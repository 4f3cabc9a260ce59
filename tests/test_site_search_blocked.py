"""When nothing is found, ``blocked_zh`` says what blocks the project: not the land when the
land has room and the vetting fails every site placed in it (both engines, sample city)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from blueprint.analysis.rules import load_rules
from blueprint.analysis.site_search import SearchRequest, search_sites
from blueprint.layers.store import Store
from tests.conftest import REPO


def test_a_quota_no_one_can_cover_is_named_not_called_scattered_land(
        sample_store: Store) -> None:
    result = search_sites(SearchRequest(
        industry="industrial", area_m2=120_000, county="371502", top=2, source="anywhere",
        demands={"energy": Decimal("30000000")}), store=sample_store)
    assert result.candidates == []
    assert result.vetted > 0  # sites were placed: the county has room for 12 公顷
    # it said 用地零散，最大一片约 25,316.72 公顷，容纳不下 12 公顷的地块
    text = result.blocked_zh or ""
    assert "零散" not in text and "容纳不下" not in text, text
    assert text.startswith("东昌府区在可用地范围内布设的 "), text
    assert "个候选地块初审均不通过：要素指标（" in text, text
    assert "能耗需求 30000000 吨标准煤" in text and "全市合计仍缺" in text, text


def test_a_county_without_parcels_on_offer_says_so(sample_store: Store) -> None:
    """The sample's land bank has parcels in 东昌府区 and 临清市 only (data/sample/layers/
    land_supply.geojson): 东阿县 has none to offer."""
    result = search_sites(SearchRequest(industry="industrial", area_m2=120_000,
                                        county="371524", source="land_bank"),
                          store=sample_store)
    assert result.candidates == []
    # it said 东阿县的 0 个储备或可供地块中没有面积与 12 公顷相符的。
    assert result.blocked_zh == "东阿县没有可供应的储备或可供地块。"


def test_one_piece_too_irregular_for_the_site_is_not_called_scattered(
        sample_store: Store) -> None:
    """东阿县's land for industry within its urban boundary is one piece of about 5,095 公顷
    (the boundary, 5,159 公顷 in the sample's file, less its level-1 water source): no site of
    5,000 公顷 fits in it, for its shape, not because the land is in scattered pieces."""
    result = search_sites(SearchRequest(industry="industrial", area_m2=5e7, county="371524",
                                        source="anywhere"), store=sample_store)
    assert result.candidates == []
    text = result.blocked_zh or ""
    # it said 用地零散，最大一片约 5,094.73 公顷，容纳不下 5,000 公顷的地块
    assert "零散" not in text, text
    assert text.startswith("东阿县城镇开发边界内可用于工业项目的用地最大一片约 "), text
    assert "公顷，但形状不规则，容纳不下 5,000 公顷的地块" in text, text


def test_capacity_short_everywhere_is_not_said_to_occupy_the_land(
        sample_store: Store, tmp_path: Path) -> None:
    """A rules file that makes capacity short a conflict, and more SO2 than any cell of the
    sample's raster can take (4.953 t/a at most): no land is left, and the sentence says
    the capacity is short; it said 均已被二氧化硫环境容量不足、…占用 (capacity "occupying")."""
    text = (REPO / "analysis" / "rules.toml").read_text("utf-8")
    assert 'capacity_exceeded = "conditional"' in text
    path = tmp_path / "rules.toml"
    path.write_text(text.replace('capacity_exceeded = "conditional"',
                                 'capacity_exceeded = "conflict"'), "utf-8")
    result = search_sites(SearchRequest(industry="industrial", area_m2=120_000,
                                        county="371502", emissions={"SO2": 5.0}),
                          store=sample_store, rules=load_rules(path))
    assert result.candidates == []
    assert result.blocked_zh == ("东昌府区城镇开发边界内符合工业用途的用地"
                                 "或已被饮用水水源一级保护区占用，或二氧化硫环境容量不足。")
