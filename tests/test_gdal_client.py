"""Desktop GIS reads the layers: GDAL's OGC API – Features client (the OAPIF driver, which
QGIS uses too) against ``blueprint serve`` running as a real process on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pyogrio
import pytest

from tests.live_server import running_server


@pytest.fixture(scope="module")
def ogc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("gdal")) as base:
        yield f"OAPIF:{base}/ogc"


def test_gdal_lists_every_vector_layer(ogc):
    names = {str(name) for name, _ in pyogrio.list_layers(ogc)}
    assert names == {"admin_boundary", "ecological_redline", "basic_farmland", "urban_boundary",
                     "zoning", "water_source", "industrial_park"}


def test_gdal_reads_whole_layers_through_paging(ogc):
    # pages of 100: GDAL must follow twelve "next" links to get all 1,128 blocks
    farmland = pyogrio.read_dataframe(ogc, layer="basic_farmland", PAGE_SIZE="100")
    assert len(farmland) == 1128 and farmland["TBBH"].is_unique
    assert farmland.crs is not None and farmland.crs.is_geographic
    counties = pyogrio.read_dataframe(ogc, layer="admin_boundary")
    assert "东昌府区" in set(counties["name"])


def test_gdal_bbox_filter_matches_the_api(ogc):
    bbox = (115.95, 36.40, 116.05, 36.50)
    inside = pyogrio.read_dataframe(ogc, layer="zoning", bbox=bbox)
    everything = pyogrio.read_dataframe(ogc, layer="zoning")
    assert 0 < len(inside) < len(everything)
    assert inside.total_bounds[0] < bbox[2] and inside.total_bounds[2] > bbox[0]
