"""GDAL's own configuration for a process that opens hostile files: the second wall.

The first wall is :mod:`layers.safe_open`: a user's file is opened only after its bytes
say it is one of the allowed formats. This module makes sure that even a file that got
past it could not make GDAL follow a reference: every driver outside the allow-list is
skipped when GDAL registers its drivers (VRT, connection-string and network drivers among
them), ``/vsicurl/`` is refused, GDAL's HTTP client goes to a dead proxy, and PROJ stays
offline. Two GDAL libraries live in the process (pyogrio's and rasterio's wheels each
bundle one); both read these settings from the environment when they first register
drivers, so this module must be imported before either (``layers/__init__.py`` does).
"""

from __future__ import annotations

import logging
import os
import re

ALLOWED_DRIVERS = frozenset({
    "ESRI Shapefile", "GPKG", "GeoJSON", "OpenFileGDB",  # vector files users send
    "GTiff", "COG",  # rasters users send, and the stored copies
    "PNG", "MEM", "Memory",  # rendering capacity images in memory
})

# Every other driver of the GDAL builds we ship with (GDAL 3.10 in rasterio, 3.12 in
# pyogrio). ``tests/test_hostile_files.py`` fails when a new GDAL registers a driver that
# is in neither list, so this list cannot silently fall behind.
SKIPPED_DRIVERS = (
    "AAIGrid ACE2 ADBC ADRG AIG AIVector AVCBin AVCE00 AirSAR AmigoCloud BAG BIGGIF BLX BMP "
    "BSB BT BYN CALS CEOS COASP COSAR CPG CSV CSW CTG CTable2 Carto DAAS DERIVED DGN DIMAP "
    "DIPEx DOQ1 DOQ2 DTED DXF ECRGTOC EDIGEO EEDA EEDAI EHdr EIR ELAS ENVI ERS ESAT ESRIC "
    "ESRIJSON Elasticsearch FAST FIT FlatGeobuf GDALG GFF GIF GML GMLAS GNMDatabase GNMFile "
    "GPSBabel GPX GRASSASCIIGrid GRIB GS7BG GSAG GSBG GSC GTFS GTI GTX GXF GenBin GeoJSONSeq "
    "GeoRSS HDF4 HDF4Image HDF5 HDF5Image HF2 HFA HTTP ILWIS IRIS ISCE ISG ISIS2 ISIS3 Idrisi "
    "JAXAPALSAR JDEM JML JP2OpenJPEG JPEG JSONFG KML KMLSUPEROVERLAY KRO L1B LAN LCP LIBKML "
    "LOSLAS LVBAG Leveller MAP MBTiles MFF MFF2 MRF MSGN MSSQLSpatial MVT MapML MiraMonVector "
    "MySQL NAS NDF NGSGEOID NGW NITF NOAA_B NSIDCbin NTv2 NWT_GRC NWT_GRD OAPIF OCI ODBC ODS "
    "OGCAPI OGR_GMT OGR_PDS OGR_SDTS OGR_VRT OSM OZI PAux PCIDSK PCRaster PDF PDS PDS4 PGDUMP "
    "PGeo PLMOSAIC PLSCENES PMTiles PNM PRF PostGISRaster PostgreSQL R RIK RMF ROI_PAC RPFTOC "
    "RRASTER RS2 RST Rasterlite S102 S104 S111 S57 SAFE SAGA SAR_CEOS SDTS SENTINEL2 SGI "
    "SIGDEM SNAP_TIFF SNODAS SQLite SRP SRTMHGT STACIT STACTA SVG SXF Selafin TGA TIL TSX "
    "Terragen TileDB TopoJSON USGSDEM VDV VFK VICAR VRT WAsP WCS WEBP WFS WMS WMTS XLS XLSX "
    "XPM XYZ ZMap Zarr netCDF"
).split() + ["MapInfo File"]

# GDAL's HTTP client (libcurl) is sent to a proxy on a loopback port nobody listens on.
DEAD_PROXY = "127.0.0.1:1"

SETTINGS = {
    # comma-separated: one name ("MapInfo File") has a space
    "GDAL_SKIP": ",".join(SKIPPED_DRIVERS),
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".blueprint-network-access-is-off",
    "GDAL_HTTP_PROXY": DEAD_PROXY,
    "GDAL_HTTPS_PROXY": DEAD_PROXY,
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "PROJ_NETWORK": "OFF",
    # pyogrio's GDAL warns on stderr for each skipped name its build lacks; its errors reach
    # us as exceptions anyway. An operator who wants GDAL's messages sets CPL_LOG to a file.
    "CPL_LOG": os.devnull,
}


# rasterio's GDAL (3.10) lacks some drivers pyogrio's (3.12) has, and one GDAL_SKIP serves
# both: on every driver registration it says so once per missing name, through rasterio's
# logger. Exactly that message, for exactly our names, is dropped; any other stays.
_UNKNOWN_SKIP = re.compile(r"Unable to find driver [`']?(.+?)'? to unload from GDAL_SKIP")


class SkipListNoise(logging.Filter):
    """Drop GDAL's "Unable to find driver X to unload from GDAL_SKIP" for our skip list."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for the message about one of :data:`SKIPPED_DRIVERS`."""
        found = _UNKNOWN_SKIP.search(record.getMessage())
        return found is None or found.group(1) not in SKIPPED_DRIVERS


def quiet_skip_list_noise() -> None:
    """Install :class:`SkipListNoise` on rasterio's GDAL logger (once)."""
    logger = logging.getLogger("rasterio._env")
    if not any(isinstance(f, SkipListNoise) for f in logger.filters):
        logger.addFilter(SkipListNoise())


def apply() -> None:
    """Put the settings into this process's environment (before GDAL registers drivers).

    Child processes inherit them. Values already set by an operator are kept, except that
    the skip list always contains every skipped driver.
    """
    for key, value in SETTINGS.items():
        if key == "GDAL_SKIP":
            given = [d for d in os.environ.get(key, "").split(",") if d.strip()]
            os.environ[key] = ",".join(dict.fromkeys(given + SKIPPED_DRIVERS))
        else:
            os.environ.setdefault(key, value)
    quiet_skip_list_noise()


apply()
