"""``blueprint convert``: a site as a coordinate file, GeoPackage, GeoJSON or zipped Shapefile."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from blueprint.layers.errors import BadInput
from blueprint.service.cli.console import err, output_file, read_site_file

TARGETS = ("coordfile", "gpkg", "geojson", "shp")
SUFFIXES = {"coordfile": ".txt", "gpkg": ".gpkg", "geojson": ".geojson", "shp": ".zip"}


def _target(site_file: Path, to: str, output: Path | None, force: bool) -> Path | None:
    """Where to write: ``-o`` (``-`` is stdout, text formats only), else ``<SITE stem>.<suffix>``
    in the current folder; an existing file (or the site itself) only with ``--force``."""
    if output is not None and str(output) == "-":
        if to in ("gpkg", "shp"):
            raise BadInput(f"--to {to} is a binary file; give -o FILE", where="-o",
                           message_zh=f"{to} 为二进制文件，请用 -o 指定输出文件")
        return None
    target = output or Path(site_file.stem + SUFFIXES[to])
    itself = target.exists() and target.resolve() == site_file.resolve()
    return output_file(target, where="-o", force=force and not itself)


def convert(
    site_file: Annotated[Path, typer.Argument(metavar="SITE", help="Site file (any format "
                                              "`blueprint vet` reads)")],
    to: Annotated[str, typer.Option("--to", help="coordfile (界址点坐标文件, GBK, CGCS2000 "
                                    "3-degree Gauss-Krüger), gpkg, geojson or shp (zip)")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file (default: "
                                                "SITE's name with the format's suffix; - for "
                                                "stdout)")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS when the file has none")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of SITE")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing output file")] = False,
) -> None:
    """Write a site in the form an applicant or a surveyor uses (exit 2 on bad input)."""
    if to not in TARGETS:
        raise BadInput(f"--to must be one of {', '.join(TARGETS)}", where="--to",
                       message_zh=f"--to 须为 {'、'.join(TARGETS)} 之一")
    target = _target(site_file, to, output, force)
    from blueprint.analysis.site_export import export_site

    site = read_site_file(site_file, crs=crs, encoding=encoding)
    result = export_site(site, to)
    for warning in site.warnings:
        err.print(f"提示：{warning}")
    if target is None:
        sys.stdout.buffer.write(result.data)
        sys.stdout.buffer.flush()
        return
    target.write_bytes(result.data)
    err.print(f"已写出 {target}：{result.format.title_zh}，{site.parcels} 个地块，"
              f"面积 {site.area_m2 / 10_000:.4f} 公顷（按 EPSG:{site.zone_epsg} 计算）")
