"""Build the synthetic sample city (聊城市, Shandong) in data/sample/.

Everything except the county boundaries is invented, but plausible: river corridors roughly
where the real rivers run, urban development boundaries around the real county seats, parks
named after the real development zones.  The build is deterministic (fixed seed, no network);
run it from anywhere:

    python3 data/sample/build.py [--counties PATH] [--out DIR] [--preview PNG]

By default it rebuilds data/sample in place from the county boundaries already there
(layers/liaocheng_counties.geojson, copied unchanged from the npm package, licence beside it).

Working CRS for everything metric is EPSG:4548 (CGCS2000 3-degree GK, CM 117E, no zone
prefix); vector layers are written in EPSG:4490.  The site expectations in sites/expected.json
are computed from the layer files as written (read back), in each site's own 3-degree zone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pyogrio

from .city import City, add_counties, add_redline, add_urban, add_wetlands
from .common import DEFAULT_COUNTIES, FIXED_DATE, SAMPLE_DIR, log
from .expectations import expectations
from .land import add_farmland, add_parks, add_water, reserve_site04
from .land_supply import add_land_supply
from .quotas import write_quotas
from .rasters import write_raster
from .site_files import write_sites
from .sites import design_sites
from .writing import (
    sites_readme,
    to_geo_all,
    write_layers,
    write_manifest,
    write_sample_readme,
)
from .zoning import add_zoning

ABOUT = ("Designed facts of each demo site, computed by data/sample/build.py from the files as "
         "written. Areas in m² in the site's CGCS2000 3-degree GK zone (EPSG 4534+(zone-25)).")


def build_layers(c: City) -> None:
    """Build and write every layer, in the one order that the seeded generator allows."""
    for step in (add_counties, add_wetlands, add_urban, add_redline, add_parks, add_water,
                 reserve_site04, add_farmland, to_geo_all, add_zoning, add_land_supply,
                 write_layers,
                 write_raster, write_quotas):
        step(c)
    write_manifest(c.out)


def build_sites(c: City) -> dict[str, list]:
    """Design and write the demo sites, their expectations and their README."""
    sites = design_sites(c)
    folder = c.out / "sites"
    written, site_parts = write_sites(sites, folder)
    exp = expectations(sites, written, c.out / "layers", c.names)
    doc = {"about": ABOUT, "sites": exp}
    (folder / "expected.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n",
                                          encoding="utf-8")
    (folder / "README.md").write_text(sites_readme(exp), encoding="utf-8")
    return site_parts


def main(argv: list[str] | None = None) -> int:
    """Command line: build the sample (into data/sample unless ``--out`` says otherwise)."""
    ap = argparse.ArgumentParser(prog="build.py", description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--counties", type=Path, default=DEFAULT_COUNTIES)
    ap.add_argument("--out", type=Path, default=SAMPLE_DIR)
    ap.add_argument("--preview", type=Path, default=None, help="also draw a PNG of all layers")
    args = ap.parse_args(argv)
    t0 = time.time()
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": f"{FIXED_DATE}T00:00:00.000Z"})
    c = City(args.counties.resolve(), args.out.resolve())
    build_layers(c)
    site_parts = build_sites(c)
    write_sample_readme(c.out)
    if args.preview:
        from .preview import preview
        preview(c.out, site_parts, args.preview)
    log(f"done in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
