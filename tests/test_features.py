"""Features by bbox for the map: filtering, paging, simplification, rounding (both engines)."""

from __future__ import annotations

import json
import re

import pytest

from layers.errors import BadInput
from layers.features import features_in_bbox, parse_bbox
from layers.repository import get_layer


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


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "3,0,1,1"])
def test_bad_bbox(text):
    with pytest.raises(BadInput):
        parse_bbox(text)
