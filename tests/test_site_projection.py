"""A site's zone and projections are computed once and follow its geometry.

``vet_site`` reads the site's area (its Gauss-Krüger zone) and the capacity check reads
the site in the capacity grid's CRS, usually the same zone: :meth:`Site.in_crs` keeps each
projection, so the site is projected once, and the kept one is exactly a fresh one.
"""

from __future__ import annotations

import shapely

from blueprint.analysis.site import Site
from blueprint.layers.crs import CGCS2000, gk3_epsg, to_crs

PARK = shapely.box(115.98, 36.45, 115.985, 36.454)  # inside 东昌府区, zone 39 (EPSG:4548)


def test_projection_is_kept_and_equals_a_fresh_one() -> None:
    site = Site(geometry=PARK, parcels=1, name="park", source="test")
    assert site.zone_epsg == gk3_epsg(PARK.centroid.x) == 4548
    fresh = to_crs(PARK, CGCS2000, 4548)
    assert site.projected.equals_exact(fresh, tolerance=0)
    assert site.in_crs("EPSG:4548") is site.in_crs(4548) is site.projected
    assert site.area_m2 == float(fresh.area)


def test_a_new_geometry_is_projected_again() -> None:
    site = Site(geometry=PARK, parcels=1, name="park", source="test")
    first = site.area_m2
    bigger = shapely.box(115.98, 36.45, 115.99, 36.454)
    site.geometry = bigger
    assert site.area_m2 == float(to_crs(bigger, CGCS2000, 4548).area)
    assert site.area_m2 > first
    far = shapely.box(118.5, 36.45, 118.505, 36.454)  # zone 40 (EPSG:4549)
    site.geometry = far
    assert site.zone_epsg == 4549
    assert site.projected.equals_exact(to_crs(far, CGCS2000, 4549), tolerance=0)


def test_sites_compare_as_before() -> None:
    a = Site(geometry=PARK, parcels=1, name="park", source="test")
    b = Site(geometry=PARK, parcels=1, name="park", source="test")
    _ = a.area_m2  # a's kept projection does not make it differ from b
    assert a == b
    assert "_derived" not in repr(a)
