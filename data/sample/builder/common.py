"""Fixed inputs of the build: seed, CRSs, pinned date, default paths and the log."""

from __future__ import annotations

from pathlib import Path

from pyproj import Transformer

PACKAGE = Path(__file__).resolve().parent
SAMPLE_DIR = PACKAGE.parent
TEMPLATES = PACKAGE / "templates"
# the county boundaries as shipped (copied unchanged by every build, licence beside them)
DEFAULT_COUNTIES = SAMPLE_DIR / "layers" / "liaocheng_counties.geojson"

SEED = 20260115
WORK_EPSG = 4548
GEO_EPSG = 4490
FIXED_DATE = "2026-01-15"

TO_M = Transformer.from_crs(GEO_EPSG, WORK_EPSG, always_xy=True)
TO_GEO = Transformer.from_crs(WORK_EPSG, GEO_EPSG, always_xy=True)


def zone_epsg(zone: int) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger zone ``zone`` (no zone prefix)."""
    return 4534 + zone - 25


def template(name: str) -> str:
    """The text of ``templates/<name>`` (UTF-8, line ends kept)."""
    return (TEMPLATES / name).read_bytes().decode("utf-8")


def log(msg: str) -> None:
    """Print one progress line."""
    print(msg, flush=True)
