"""The one blueprint (一张蓝图): layer catalogue, import and storage."""

# GDAL must see its hostile-file settings before pyogrio or rasterio registers a driver.
from blueprint.layers import gdal_walls as _gdal_walls  # noqa: F401
