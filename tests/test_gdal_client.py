"""Desktop GIS reads the layers: GDAL's OGC API – Features client (the OAPIF driver, which
QGIS uses too) against ``blueprint serve`` running as a real process on a loopback port.

Blueprint's own processes switch GDAL's network drivers off (``layers.gdal_walls``), so
the client runs as a separate Python process without those settings — as QGIS would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from blueprint.layers.gdal_walls import SETTINGS
from tests.live_server import running_server

CLIENT = """
import json, sys
import pyogrio
url, what = sys.argv[1], sys.argv[2]
if what == "layers":
    print(json.dumps(sorted(str(n) for n, _ in pyogrio.list_layers(url))))
else:
    layer, extra = what, json.loads(sys.argv[3])
    bbox = tuple(extra.pop("bbox")) if "bbox" in extra else None
    df = pyogrio.read_dataframe(url, layer=layer, bbox=bbox, **extra)
    print(json.dumps({"n": len(df), "bounds": list(df.total_bounds),
                      "geographic": bool(df.crs and df.crs.is_geographic),
                      "columns": {c: [str(v) for v in df[c]] for c in df.columns
                                  if c in ("TBBH", "name")}}))
"""


def gdal(url: str, what: str, **extra: object) -> object:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    done = subprocess.run([sys.executable, "-c", CLIENT, url, what, json.dumps(extra)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def ogc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("gdal")) as base:
        yield f"OAPIF:{base}/ogc"


def test_gdal_lists_every_vector_layer(ogc):
    names = set(gdal(ogc, "layers"))  # type: ignore[arg-type]
    assert names == {"admin_boundary", "ecological_redline", "basic_farmland", "urban_boundary",
                     "zoning", "water_source", "industrial_park", "land_supply"}


def test_gdal_reads_whole_layers_through_paging(ogc):
    # pages of 100: GDAL must follow twelve "next" links to get all 1,128 blocks
    farmland = gdal(ogc, "basic_farmland", PAGE_SIZE="100")
    assert farmland["n"] == 1128 and len(set(farmland["columns"]["TBBH"])) == 1128
    assert farmland["geographic"]
    counties = gdal(ogc, "admin_boundary")
    assert "东昌府区" in set(counties["columns"]["name"])


def test_gdal_bbox_filter_matches_the_api(ogc):
    bbox = (115.95, 36.40, 116.05, 36.50)
    inside = gdal(ogc, "zoning", bbox=list(bbox))
    everything = gdal(ogc, "zoning")
    assert 0 < inside["n"] < everything["n"]
    assert inside["bounds"][0] < bbox[2] and inside["bounds"][2] > bbox[0]


def test_our_own_processes_cannot_use_the_network_drivers(ogc):
    """The same request from a process that imported Blueprint fails: OAPIF is skipped."""
    code = ("import layers, pyogrio, sys\n"
            "try:\n    pyogrio.list_layers(sys.argv[1])\nexcept Exception:\n    sys.exit(3)\n")
    done = subprocess.run([sys.executable, "-c", code, ogc], capture_output=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k not in SETTINGS})
    assert done.returncode == 3
