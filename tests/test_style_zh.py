"""Chinese text a reviewer pastes: full-width punctuation, no nested parentheses.

The static scan reads every string literal of the core, the edges and the map's scripts
(docs/style-guide-zh.md); the dynamic check vets every sample site and reads what came out.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, vet_site
from tests.zh_style import nested_parens, scan, violations

REPO = Path(__file__).resolve().parent.parent
SITES = REPO / "data" / "sample" / "sites"


def test_every_message_template_uses_full_width_punctuation():
    found = scan(REPO)
    assert not found, "half-width punctuation in Chinese text:\n" + "\n".join(found)


@pytest.mark.parametrize(("text", "bad"), [
    ("初审结论:不通过。", [4]), ("地块与{}重叠 {},占地块面积", [8]),
    ("平方米(3.8667 公顷,58.00 亩)", [3, 13, 21]), ("范围（EPSG:4490）", []),
    ("SO2=1,NOx=2", []), ("1,234.5 平方米", []), ("the file is bad: 坐标系 is missing", []),
])
def test_the_scanner_finds_half_width_punctuation_in_chinese_only(text, bad):
    assert violations(text.replace("{}", "\x00")) == bad


def test_the_style_guide_exists_and_names_the_test():
    guide = (REPO / "docs" / "style-guide-zh.md").read_text(encoding="utf-8")
    assert "，" in guide and "test_style_zh.py" in guide


@pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)
def test_every_sample_report_reads_as_one_style(sample_store):
    for path in sorted(SITES.iterdir()):
        if path.suffix not in (".txt", ".geojson"):
            continue
        request = VetRequest(site=read_site(path), emissions={"SO2": 1.5, "NOx": 300},
                             demands={"land": Decimal("5")})
        report = vet_site(request, store=sample_store).to_json()
        texts = [report["summary_zh"], report["quota"]["message"]]
        texts += [f["message"] for f in report["findings"]]
        for text in texts:
            assert not violations(text), (path.name, text)
            assert not nested_parens(text), (path.name, text)
        assert report["summary_zh"].startswith("初审结论：")
