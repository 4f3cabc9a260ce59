"""The embedded overlay looks up one site's candidates in the small layers together
(:class:`SmallLayers`, issue #14) and in a large layer's own index: whichever layers are
small, a site's answer is the same, hit for hit and in the same order, as when every layer
is looked up alone, and as the sites' answers together (each layer's own lookups)."""

from __future__ import annotations

import pytest

from blueprint.layers.engine import embedded_overlay
from blueprint.layers.engine.embedded_overlay import overlay_embedded_many
from blueprint.layers.store import Store
from tests.test_index_sidecar import _cold, _sites, _vectors, city  # noqa: F401

pytestmark = pytest.mark.parametrize("engine_name", ["embedded"], indirect=True)


def _one_by_one(store: Store) -> list:
    layers = _vectors(store)
    sites, zones = _sites(store)
    return [[(o.layer.name, o.area_m2, sorted(o.class_area_m2.items(), key=str),
              [(h.fid, h.klass, h.area_m2, h.geometry.wkb) for h in o.hits]) for o in
             overlay_embedded_many([site], [zone], layers, store=store)[0]]
            for site, zone in zip(sites, zones, strict=True)]


def test_a_sites_answer_does_not_depend_on_which_layers_are_small(
        city: Store, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    sizes = sorted(layer.feature_count for layer in _vectors(city))
    assert sizes[0] < 50 < sizes[-1]  # some layers below the middle threshold, some above
    answers = {}
    for threshold in (0, 50, embedded_overlay.SMALL_LAYER):
        monkeypatch.setattr(embedded_overlay, "SMALL_LAYER", threshold)
        answers[threshold] = _one_by_one(_cold(city))
    default = answers[embedded_overlay.SMALL_LAYER]
    assert sum(len(hits) for site in default for *_, hits in site) > 50  # sites hit things
    assert answers[0] == default and answers[50] == default
    layers = _vectors(city)
    sites, zones = _sites(city)
    together = overlay_embedded_many(sites, zones, layers, store=city)
    assert [[(o.layer.name, [h.fid for h in o.hits]) for o in per_site]
            for per_site in together] == \
        [[(name, [h[0] for h in hits]) for name, _, _, hits in site] for site in default]


def test_the_small_layers_set_lives_in_its_store_and_goes_with_it(city: Store  # noqa: F811
                                                                   ) -> None:
    import gc
    import weakref

    from blueprint.layers.engine.embedded_index import SmallLayers

    store = _cold(city)
    sites, zones = _sites(store)
    overlay_embedded_many(sites[:1], zones[:1], _vectors(store), store=store)
    held = [x for x in store.cache.get("small-layers", {}).values()]
    assert len(held) == 1 and isinstance(held[0], SmallLayers)
    other = _cold(city)  # another store (another process's view): its own set
    overlay_embedded_many(sites[:1], zones[:1], _vectors(other), store=other)
    assert next(iter(other.cache["small-layers"].values())) is not held[0]
    gone = weakref.ref(held[0])
    del held, store
    gc.collect()
    assert gone() is None  # nothing outside the store keeps the set and its indexes
