"""The designed facts of every demo site, asserted on the expectations as computed."""

from __future__ import annotations

from typing import Any

Expected = dict[str, dict[str, Any]]
TOL = 0.01  # m²


class Facts:
    """Short accessors into the expectations of every site."""

    def __init__(self, e: Expected):
        self.e = e

    def o(self, f: str, k: str) -> float:
        """Overlap of site ``f`` with layer ``k``."""
        return self.e[f]["overlap_m2"][k]

    def cls(self, f: str, k: str) -> dict[str, float]:
        """Overlap of site ``f`` with layer ``k`` by class."""
        return self.e[f]["overlap_by_class_m2"].get(k, {})

    def area(self, f: str) -> float:
        """Area of site ``f``."""
        return self.e[f]["area_m2"]


def check_designed_facts(e: Expected) -> None:
    """The designed facts must hold on the files as written."""
    x = Facts(e)
    for f in e:
        assert abs(x.o(f, "admin_boundary") - x.area(f)) < TOL, f
        if f != "09_zone38_noprefix.txt":
            assert e[f]["zone"] == 39, f
    _check_01_to_04(x)
    _check_05_06(x)
    _check_park_sites(x)
    _check_10_11(x)


def _check_01_to_04(x: Facts) -> None:
    o, cls, area = x.o, x.cls, x.area
    # 01
    f = "01_park_clean.txt"
    assert abs(o(f, "industrial_park") - area(f)) < TOL
    assert abs(cls(f, "zoning").get("1001", 0) - area(f)) < TOL
    assert o(f, "ecological_redline") == o(f, "basic_farmland") == o(f, "water_source") == 0
    assert abs(o(f, "urban_boundary") - area(f)) < TOL
    # 02
    f = "02_redline_conflict.txt"
    assert 0.2 * area(f) < o(f, "ecological_redline") < 0.8 * area(f)
    assert abs(o(f, "ecological_redline") + o(f, "urban_boundary") - area(f)) < 1.0
    assert o(f, "basic_farmland") == o(f, "water_source") == o(f, "industrial_park") == 0
    # 03
    f = "03_farmland.txt"
    assert abs(o(f, "basic_farmland") - area(f)) < TOL
    assert o(f, "urban_boundary") == o(f, "ecological_redline") == o(f, "water_source") == 0
    # 04
    f = "04_partly_outside_boundary.geojson"
    assert 0.3 * area(f) < o(f, "urban_boundary") < 0.7 * area(f)
    assert o(f, "basic_farmland") == o(f, "ecological_redline") == o(f, "water_source") == 0


def _check_05_06(x: Facts) -> None:
    o, cls, area = x.o, x.cls, x.area
    # 05
    f = "05_water_source_l1.txt"
    assert cls(f, "water_source").get("1", 0) > 0
    # 06
    f = "06_water_source_l2.geojson"
    assert cls(f, "water_source").get("1", 0) == 0
    assert abs(cls(f, "water_source").get("2", 0) - area(f)) < TOL
    assert abs(cls(f, "zoning").get("1001", 0) - area(f)) < TOL
    assert abs(o(f, "industrial_park") - area(f)) < TOL
    assert o(f, "ecological_redline") == o(f, "basic_farmland") == 0


def _check_park_sites(x: Facts) -> None:
    o, cls, area, e = x.o, x.cls, x.area, x.e
    # 07, 08, 09, 12: clean park sites
    for f in ("07_multi_parcel.txt", "08_with_hole.txt", "09_zone38_noprefix.txt",
              "12_gbk_zone39.txt"):
        assert abs(o(f, "industrial_park") - area(f)) < TOL, f
        assert abs(o(f, "zoning") - area(f)) < TOL, f
        assert set(cls(f, "zoning")) <= {"1001", "1101"}, f
        assert o(f, "ecological_redline") == o(f, "basic_farmland") == 0, f
        assert o(f, "water_source") == 0, f
    for f in ("07_multi_parcel.txt", "08_with_hole.txt", "09_zone38_noprefix.txt"):
        assert set(cls(f, "zoning")) == {"1001"}, f
    assert set(cls("12_gbk_zone39.txt", "zoning")) == {"1101"}
    assert e["07_multi_parcel.txt"]["parcels"] == 2
    assert e["09_zone38_noprefix.txt"]["zone"] == 38
    assert e["12_gbk_zone39.txt"]["zone"] == 39


def _check_10_11(x: Facts) -> None:
    o, cls, area = x.o, x.cls, x.area
    # 10
    f = "10_commercial_on_residential.geojson"
    assert abs(cls(f, "zoning").get("07", 0) - area(f)) < TOL
    assert o(f, "industrial_park") == o(f, "water_source") == o(f, "ecological_redline") == 0
    # 11
    f = "11_linear_road.geojson"
    assert o(f, "basic_farmland") > 0.5 * area(f)
    assert 0 < o(f, "urban_boundary") < 0.1 * area(f)
    assert o(f, "ecological_redline") == o(f, "water_source") == 0
