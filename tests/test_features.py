"""Features by bbox for the map: filtering, paging, simplification, rounding (both engines)."""

from __future__ import annotations

import json
import re

import pytest

from blueprint.layers.errors import BadInput
from blueprint.layers.features import features_in_bbox, parse_bbox
from blueprint.layers.repository import get_layer


def test_bbox_filters_and_pages(sample_store):
    layer = get_layer("basic_farmland", store=sample_store)
    everything = features_in_bbox(layer, None, store=sample_store, limit=10_000)
    assert everything.matched == layer.feature_count == len(everything.features)
    small = (115.50, 36.60, 115.60, 36.70)  # rural 冠县/临清
    page = features_in_bbox(layer, small, store=sample_store, limit=5)
    assert 5 < page.matched < layer.feature_count and len(page.features) == 5
    rest = features_in_bbox(layer, small, store=sample_store, limit=5, offset=5)
    assert not {f["id"] for f in page.features} & {f["id"] for f in rest.features}


def test_simplified_features_have_rounded_coordinates(sample_store):
    layer = get_layer("ecological_redline", store=sample_store)
    full = features_in_bbox(layer, None, store=sample_store, limit=100)
    simple = features_in_bbox(layer, None, store=sample_store, limit=100, tolerance=0.001)
    text = json.dumps([f["geometry"] for f in simple.features])
    assert not re.search(r"\d\.\d{5,}", text)  # at most 4 decimals for a 0.001° tolerance
    assert len(text) < len(json.dumps([f["geometry"] for f in full.features]))
    assert [f["id"] for f in simple.features] == [f["id"] for f in full.features]


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "3,0,1,1", "nan,nan,nan,nan", "0,0,inf,1"])
def test_bad_bbox(text):
    with pytest.raises(BadInput):
        parse_bbox(text)


def test_bbox_keeps_only_features_that_really_intersect(sample_store):
    """Not envelopes: a box in the gap of a curved red line returns nothing of it."""
    import shapely

    from blueprint.layers.repository import load_features

    layer = get_layer("ecological_redline", store=sample_store)
    arrays = load_features(layer, store=sample_store)
    box = (115.9814, 36.3502, 115.9914, 36.3602)
    expected = sorted(str(f) for f, g in zip(arrays.fids, arrays.geoms, strict=True)
                      if shapely.intersects(g, shapely.box(*box)))
    envelopes = sorted(str(f) for f, g in zip(arrays.fids, arrays.geoms, strict=True)
                       if shapely.intersects(shapely.envelope(g), shapely.box(*box)))
    assert envelopes != expected  # the box is where envelopes and shapes differ
    page = features_in_bbox(layer, box, store=sample_store, limit=1000)
    assert sorted(f["id"] for f in page.features) == expected and page.matched == len(expected)
