"""The embedded overlay's union areas without a union where none is needed: the answer is
always the area of ``shapely.union_all`` of the pieces (computed here independently)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from blueprint.layers.engine.embedded_overlay import interiors_overlap, union_area


def _tiles(n: int, rng: np.random.Generator) -> list[shapely.Geometry]:
    """N parcels tiling a strip: neighbours share an edge, no interior in common."""
    cuts = np.cumsum(rng.uniform(5, 30, n + 1))
    return [shapely.box(cuts[i], 0, cuts[i + 1], 40) for i in range(n)]


CASES = {
    "one piece": lambda rng: [shapely.box(0, 0, 10, 10)],
    "tiles sharing edges": lambda rng: _tiles(12, rng),
    "tiles touching at corners": lambda rng: [shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2)],
    "apart": lambda rng: [shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)],
    "two overlapping": lambda rng: [shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3)],
    "one inside another": lambda rng: [shapely.box(0, 0, 10, 10), shapely.box(2, 2, 3, 3)],
    "boxes meet, shapes do not": lambda rng: [
        shapely.Polygon([(0, 0), (10, 0), (0, 10)]), shapely.Polygon([(10, 10), (10, 1), (1, 10)])],
    "many tiles (tree path)": lambda rng: _tiles(300, rng),
    "many tiles, one overlap (tree path)": lambda rng: [*_tiles(300, rng),
                                                        shapely.box(100, 10, 180, 20)],
    "random overlapping": lambda rng: [shapely.Point(x, y).buffer(r) for x, y, r
                                       in rng.uniform(0, 50, (40, 3))],
}


@pytest.mark.parametrize("case", list(CASES))
def test_union_area_is_the_area_of_the_union(case: str) -> None:
    geoms = np.array(CASES[case](np.random.default_rng(7)), dtype=object)
    expected = shapely.union_all(geoms).area
    assert union_area(geoms, shapely.area(geoms)) == pytest.approx(expected, rel=1e-9)


def test_overlap_is_told_from_shared_edges() -> None:
    rng = np.random.default_rng(3)
    assert not interiors_overlap(np.array(_tiles(12, rng), dtype=object))
    assert not interiors_overlap(np.array(_tiles(300, rng), dtype=object))
    assert interiors_overlap(np.array([*_tiles(300, rng), shapely.box(100, 10, 180, 20)],
                                      dtype=object))
