"""The layer-kind registry: a new kind is one entry in kinds.toml plus its rules in rules.toml.

The new kind here (自然保护地, nature reserves) lives only in temporary copies of
``layers/kinds.toml`` and ``analysis/rules.toml``: no other file knows it, yet it is
imported, vetted (both engines), drawn as GeoJSON and shown on the map page.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from blueprint.analysis.evaluators import OTHER_RULES, RULES
from blueprint.analysis.report_geojson import report_geojson
from blueprint.analysis.rules import DEFAULT_RULES, load_rules
from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.catalogue import KINDS, get_kind
from blueprint.layers.errors import BadInput, UnknownLayerKind
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.kinds import DEFAULT_KINDS, load_kinds, use_kinds
from tests.helpers import box, frame, write
from tests.test_web import _client

NEW_KIND = """
[kinds.nature_reserve]
title = "自然保护地"
color = "#006d2c"
class_fields = ["zrbhdlx"]
rule = "no_overlap"
one_layer = true
[kinds.nature_reserve.web]
style = { weight = 2, dashArray = "2 2" }
class_label = "保护地类型"
"""


@pytest.fixture
def reserve_rules(tmp_path: Path):
    """The registry and rules with nature reserves added (copies); the rules in use."""
    registry = tmp_path / "kinds.toml"
    registry.write_text(DEFAULT_KINDS.read_text(encoding="utf-8") + NEW_KIND, encoding="utf-8")
    rules = tmp_path / "rules.toml"
    rules.write_text(DEFAULT_RULES.read_text(encoding="utf-8").replace(
        "[industries.industrial]\n", '[industries.industrial]\nnature_reserve = "conditional"\n'),
        encoding="utf-8")
    with use_kinds(registry):
        yield load_rules(rules)
    assert "nature_reserve" not in KINDS  # the packaged registry is back


def _import_reserve(store, tmp_path: Path, name: str = "reserve") -> list[str]:
    path = write(frame([box(0, 0, 100, 100)], zrbhdlx=["自然保护区"], bh=["ZR-1"]),
                 tmp_path / f"{name}.gpkg")
    report = import_layer(path, ImportOptions(kind="nature_reserve", name=name, id_field="bh"),
                          store=store)
    return report.warnings


def _site(tmp_path: Path):
    return read_site(write(frame([box(50, 0, 100, 100)], name=["测试地块"]),
                           tmp_path / "site.gpkg"))


def test_a_new_kind_is_imported_and_vetted_by_its_registry_entry(store, tmp_path,
                                                                  reserve_rules):
    assert get_kind("nature_reserve").title == "自然保护地"
    _import_reserve(store, tmp_path)
    report = vet_site(VetRequest(site=_site(tmp_path)), store=store, rules=reserve_rules)
    found = next(f for f in report.findings if f.kind == "nature_reserve")
    assert (found.status, found.rule, found.rule_zh) == (
        "conditional", "nature_reserve.no_overlap", "不得占用自然保护地")
    assert found.overlap_m2 == pytest.approx(5000, abs=0.5) and found.feature_ids == ["ZR-1"]
    assert "地块与自然保护地重叠 5,000.0 平方米" in found.message
    assert found.message in report.summary_zh
    pieces = [f["properties"] for f in report_geojson(report)["features"][1:]]
    assert [(p["kind"], p["status"], p["class"]) for p in pieces] == [
        ("nature_reserve", "conditional", "自然保护区")]
    # an industry whose rules do not name the kind: an overlap is a conflict
    commercial = vet_site(VetRequest(site=_site(tmp_path), industry="commercial"),
                          store=store, rules=reserve_rules)
    assert commercial.verdict == "fail"
    assert next(f for f in commercial.findings if f.kind == "nature_reserve").status_zh == "冲突"
    # one_layer: a second reserve layer warns
    assert any("自然保护地" in w for w in _import_reserve(store, tmp_path, "reserve2"))


def test_a_new_kind_is_shown_on_the_map_page(store, tmp_path, reserve_rules):
    _import_reserve(store, tmp_path)
    with _client(store, tmp_path) as client:
        page = client.get("/").text
    config = json.loads(re.search(
        r'<script id="bp-config" type="application/json">(.*?)</script>', page, re.S).group(1))
    kind = config["kinds"]["nature_reserve"]
    assert (kind["title"], kind["color"], kind["classLabel"]) == ("自然保护地", "#006d2c",
                                                                   "保护地类型")
    assert kind["style"] == {"weight": 2, "dashArray": "2 2"}
    assert config["ruleZh"]["nature_reserve.no_overlap"] == "不得占用自然保护地"
    layer = next(entry for entry in config["layers"] if entry["kind"] == "nature_reserve")
    assert layer["color"] == "#006d2c" and not layer["raster"]
    assert "--c:#006d2c" in page


def test_every_kind_names_a_rule_the_code_has():
    for kind in KINDS.values():
        assert kind.rule in RULES or kind.rule in OTHER_RULES, kind.name
    assert [k for k in KINDS if KINDS[k].missing == "required"] == [
        "ecological_redline", "basic_farmland", "water_source", "urban_boundary"]


def test_a_registry_entry_with_a_typo_is_refused(tmp_path):
    path = tmp_path / "kinds.toml"
    path.write_text('[kinds.x]\ntitle = "某图层"\ncolour = "#000000"\n', encoding="utf-8")
    with pytest.raises(BadInput, match="colour"):
        load_kinds(path)
    with pytest.raises(UnknownLayerKind):
        get_kind("nature_reserve")


def _lab(hex_colour: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB colour, by the textbook formulas."""
    rgb = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _delta_e(one: str, other: str) -> float:
    return sum((p - q) ** 2 for p, q in zip(_lab(one), _lab(other), strict=True)) ** 0.5


def test_zoning_classes_do_not_look_like_the_control_layers():
    """用途分区's 居住 was the farmland's yellow (ΔE 17), 公共管理 the land bank's pink (8),
    公用设施 the water source's blue (14), 商业 next to the red line: a class must read as
    a class, not as a control line or a check's red / amber piece."""
    zoning = get_kind("zoning").web["class_styles"]
    others = {name: kind.web.get("style", {}).get("color", kind.color)
              for name, kind in KINDS.items() if name != "zoning"}
    others |= {f"{name}.color": kind.color for name, kind in KINDS.items()
               if name != "zoning"}
    check_js = (Path(__file__).resolve().parent.parent / "web/static/check.js").read_text()
    for name in ("COLORS", "VERDICT_FILL"):
        block = re.search(name + r" = \{([^}]*)\}", check_js)
        assert block, name
        others |= {f"{name}.{k}": v for k, v in re.findall(r'(\w+): "(#[0-9a-f]{6})"',
                                                            block.group(1))}
    assert len(others) > 15
    colours = {code: s["fillColor"] for code, s in zoning.items()}
    for code, colour in colours.items():
        assert _one_colour(zoning[code]), code
        near = min(others.items(), key=lambda o: _delta_e(colour, o[1]))
        assert _delta_e(colour, near[1]) >= 25, (code, colour, near)
    distinct = {code: c for code, c in colours.items() if len(code) == 2}
    for one, other in itertools.combinations(distinct, 2):
        assert _delta_e(distinct[one], distinct[other]) >= 20, (one, other)
    for code in colours:  # 1001 is drawn as 10 (the legend lists 10 only)
        assert colours[code] == colours[code[:2]], code
    # the layer list's swatch shows the classes' colours, not one green
    swatch = get_kind("zoning").web["swatch"]
    assert set(re.findall(r"#[0-9a-f]{6}", swatch)) == set(distinct.values()), swatch


def _one_colour(style: dict) -> bool:
    """The outline and the fill of a class are one colour (the legend shows one swatch)."""
    return style.get("color") == style.get("fillColor")
