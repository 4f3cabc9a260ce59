"""The edges: command line (``blueprint``) and HTTP API (FastAPI)."""

# GDAL must see its hostile-file settings before pyogrio or rasterio registers a driver.
import blueprint.layers as _layers  # noqa: F401
