"""Compare two builds of the sample, file by file: ``python3 -m builder.compare DIR_A DIR_B``.

Text and other files must be byte-identical.  GeoPackages and GeoTIFFs, whose bytes may carry
incidental differences, are compared by content instead when their bytes differ: GeoPackage
layers by schema, CRS, attributes and geometry (WKB); GeoTIFFs by profile, tags, band
descriptions and pixel values.  The builder package itself (``builder/``, ``build.py``) is
not part of a build and is skipped.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

SKIP = ("builder", "build.py", "__pycache__")


def build_files(root: Path) -> dict[str, Path]:
    """Every output file under ``root`` by relative path (the builder's own files left out)."""
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*"))
            if p.is_file() and not set(p.relative_to(root).parts) & set(SKIP)}


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def same_gpkg(a: Path, b: Path) -> str | None:
    """None if the GeoPackages hold the same layers, else what differs."""
    import pyogrio

    layers_a, layers_b = pyogrio.list_layers(a).tolist(), pyogrio.list_layers(b).tolist()
    if layers_a != layers_b:
        return f"layers {layers_a} != {layers_b}"
    for name, _ in layers_a:
        da, db = pyogrio.read_dataframe(a, layer=name), pyogrio.read_dataframe(b, layer=name)
        if da.crs != db.crs or list(da.columns) != list(db.columns):
            return f"layer {name}: CRS or columns differ"
        if not da.drop(columns="geometry").equals(db.drop(columns="geometry")):
            return f"layer {name}: attributes differ"
        if list(da.geometry.to_wkb()) != list(db.geometry.to_wkb()):
            return f"layer {name}: geometries differ"
    return None


def same_tif(a: Path, b: Path) -> str | None:
    """None if the GeoTIFFs hold the same grid, metadata and pixels, else what differs."""
    import numpy as np
    import rasterio

    with rasterio.open(a) as ra, rasterio.open(b) as rb:
        if ra.profile != rb.profile or ra.tags() != rb.tags():
            return "profile or tags differ"
        if ra.descriptions != rb.descriptions:
            return "band descriptions differ"
        for i in range(1, ra.count + 1):
            if ra.tags(i) != rb.tags(i) or not np.array_equal(ra.read(i), rb.read(i)):
                return f"band {i} differs"
    return None


def compare(a: Path, b: Path) -> list[str]:
    """Differences between the builds in ``a`` and ``b`` (empty if they are the same)."""
    fa, fb = build_files(a), build_files(b)
    problems = [f"only in {a}: {n}" for n in sorted(set(fa) - set(fb))]
    problems += [f"only in {b}: {n}" for n in sorted(set(fb) - set(fa))]
    for name in sorted(set(fa) & set(fb)):
        if sha256(fa[name]) == sha256(fb[name]):
            continue
        suffix = fa[name].suffix
        why = (same_gpkg(fa[name], fb[name]) if suffix == ".gpkg"
               else same_tif(fa[name], fb[name]) if suffix == ".tif" else "bytes differ")
        if why:
            problems.append(f"{name}: {why}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Print the differences; exit status 1 if there are any."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__)
        return 2
    a, b = Path(args[0]), Path(args[1])
    problems = compare(a, b)
    for line in problems:
        print(line)
    n = len(build_files(a))
    print(f"{n} files in {a}: " + ("all the same" if not problems else f"{len(problems)} differ"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
