"""Folium maps and pages."""

# GDAL must see its hostile-file settings before pyogrio or rasterio registers a driver.
import blueprint.layers as _layers  # noqa: F401
