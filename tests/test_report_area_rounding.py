"""An area on a rounding edge is one figure in the 初审意见书 (both engines): the findings
table's 重叠面积 and the finding's sentence (审查意见) beside it both come from the area's
one rounded figure (``overlap_m2``, two decimals), written by one helper
(:func:`blueprint.layers.units.m2_text`). The red line here overlaps the site by
12.344475 m × 100 m = 1,234.4475 m²: two decimals make it 1,234.45, which the table wrote
as 1,234.5 while the sentence, from the raw area, said 1,234.4."""

from __future__ import annotations

import re

import pytest

from blueprint.analysis.review.document import review_html, site_review
from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.importer import ImportOptions, import_layer
from blueprint.layers.units import m2_text
from tests.helpers import box, frame, write

OVERLAP_W, HEIGHT = 12.344435, 100.0  # about 1,234.4475 m² of red line in the site (see below)


def _text(html: str) -> str:
    body = re.sub(r"<style>.*?</style>|data:image/png;base64,[^\"]+", "", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_the_table_and_the_sentence_state_an_edge_area_alike(store, tmp_path):
    redline = write(frame([box(150, -50, 250, 300)], hxbh=["HX-1"]), tmp_path / "red.gpkg")
    import_layer(redline, ImportOptions(kind="ecological_redline", name="ecological_redline",
                                        id_field="hxbh"), store=store)
    site = read_site(write(frame([box(0, 0, 150 + OVERLAP_W, HEIGHT)], name=["边界地块"]),
                           tmp_path / "site.gpkg"))
    report = vet_site(VetRequest(site=site), store=store)
    (overlap,) = [o for o in report.overlay.overlaps if o.layer.kind == "ecological_redline"]
    raw = overlap.area_m2
    # the raw area lies on the edge: to 0.1 m² from itself it is 1,234.4, from its figure
    # (two decimals, as the report stores it) 1,234.5
    assert f"{raw:,.1f}" == "1,234.4" and f"{round(raw, 2):,.1f}" == "1,234.5", raw
    (finding,) = [f for f in report.findings if f.kind == "ecological_redline"]
    assert finding.overlap_m2 == 1234.45
    assert "重叠 1,234.5 平方米（0.1234 公顷，1.85 亩）" in finding.message
    text = _text(review_html(site_review(report, store=store, reviewer="测试"), store=store))
    row = re.search(r"生态保护红线 冲突 ([\d,.]+) 平方米（([\d,.]+) 亩） ([\d.]+%) (.*?。)", text)
    assert row, text[:3000]
    table_m2, table_mu, table_share, sentence = row.groups()
    said = re.search(r"重叠 ([\d,.]+) 平方米（[\d.]+ 公顷，([\d,.]+) 亩），占地块面积 ([\d.]+%)",
                     sentence)
    assert said, sentence
    assert (table_m2, table_mu, table_share) == said.groups() == (
        m2_text(raw), "1.85", said.group(3))
    assert table_m2 == "1,234.5"


@pytest.mark.parametrize("m2, shown", [(1234.4475, "1,234.5"), (1234.45, "1,234.5"),
                                        (1234.4449, "1,234.4"), (0.05, "0.1"),
                                        (38_667.25, "38,667.3")])
def test_an_area_is_written_from_its_two_decimal_figure_half_up(m2, shown):
    assert m2_text(m2) == shown


def test_the_vet_commands_table_writes_the_figures_as_the_sentence_does():
    """``blueprint vet``'s findings table (service/cli/vet.py) writes a finding's area and
    share from the same figures and helpers as its sentence: 38,667.25 m² is 38,667.3 in
    both (Python's ``:,.1f`` rounds that binary half to even: 38,667.2)."""
    from blueprint.analysis.messages import area_text, share_text
    from blueprint.service.cli.vet import _finding_rows

    finding = {"kind": "ecological_redline", "title": "生态保护红线", "status": "conflict",
               "overlap_m2": 38_667.25, "overlap_mu": 58.0, "overlap_share": 0.123455,
               "feature_ids": ["HX-1"]}
    (row,) = _finding_rows(finding)
    assert row[2] == "38,667.3" and area_text(38_667.25).startswith(row[2] + " 平方米")
    assert row[4] == share_text(0.123455) == "12.35%"
