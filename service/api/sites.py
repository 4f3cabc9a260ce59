"""``/api/sites/download``: a posted site as a boundary-point coordinate file, GeoPackage,
GeoJSON or zipped Shapefile (the map's 下载地块; ``blueprint convert`` on the command line)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from blueprint.analysis.downloads import content_disposition
from blueprint.analysis.site import site_from_geojson
from blueprint.analysis.site_export import SiteFile, export_site
from blueprint.service.api.bounds import Name
from blueprint.service.api.deps import SettingsDep
from blueprint.service.context import site_limits

router = APIRouter(prefix="/sites", tags=["vetting"])

ExportCode = Literal["coordfile", "gpkg", "geojson", "shp"]
FormatQuery = Annotated[ExportCode, Query(
    description="coordfile: 界址点坐标文件 (GBK, CGCS2000 3-degree Gauss-Krüger with the zone "
                "prefix, header with 带号 and area); gpkg; geojson; shp: zipped Shapefile "
                "(.shp .shx .dbf .prj .cpg); the last three in EPSG:4490")]
DOWNLOAD_DOC: dict[int | str, dict[str, Any]] = {200: {
    "description": "the site as a file (Content-Disposition: attachment)",
    "content": {"text/plain": {}, "application/geopackage+sqlite3": {},
                "application/geo+json": {}, "application/zip": {}}}}


class SiteFileIn(BaseModel):
    """A site to download: the body of ``POST /api/vet`` also fits (other fields ignored)."""

    site: dict[str, Any] = Field(description="GeoJSON Feature, FeatureCollection or geometry "
                                 "in lon/lat (CGCS2000)")
    name: Name | None = Field(None, description="The site's name (default: the features' "
                              "name, else 绘制地块)")


def download(result: SiteFile) -> Response:
    """The file as an attachment; the name in UTF-8 (RFC 5987) with an ASCII fallback."""
    return Response(result.data, media_type=result.format.media_type, headers={
        "Cache-Control": "no-store",
        "Content-Disposition": content_disposition(
            result.filename, fallback=f"site{result.format.suffix}")})


def _export(body: SiteFileIn, fmt: str, limits: Any) -> SiteFile:
    site = site_from_geojson(body.site, limits=limits, field="body.site")
    if body.name:
        site.name = body.name
    return export_site(site, fmt)


@router.post("/download", summary="Download a site / 下载地块", response_class=Response,
             responses=DOWNLOAD_DOC)
async def api_site_download(body: SiteFileIn, settings: SettingsDep,
                            format: FormatQuery = "coordfile") -> Response:
    """The site as a file: 界址点坐标文件 (default), GeoPackage, GeoJSON or zipped Shapefile.

    Anyone may download what they send; nothing is stored.
    """
    result = await run_in_threadpool(_export, body, format, site_limits(settings))
    return download(result)
