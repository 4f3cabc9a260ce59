"""Coordinate reference systems: CGCS2000, its Gauss-Krüger zones, plausibility checks."""

from __future__ import annotations

from functools import lru_cache

import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

from layers.errors import UnknownCRS

CGCS2000 = 4490
# Mainland China and its seas, lon/lat degrees, with a margin.
CHINA_BOUNDS = (72.0, 3.0, 136.0, 54.0)


def gk3_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger zone (no zone prefix) at ``lon``.

    Examples
    --------
    >>> gk3_epsg(116.0)   # zone 39, central meridian 117°E
    4548
    """
    zone = int(round(lon / 3.0))
    if not 25 <= zone <= 45:
        raise UnknownCRS(f"longitude {lon:.4f} lies outside the CGCS2000 3-degree zones of China",
                         message_zh="经度超出我国 3 度带范围")
    return 4534 + zone - 25


@lru_cache(maxsize=64)
def transformer(src: int | str, dst: int | str) -> Transformer:
    """A cached always-xy transformer between two CRSs."""
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def to_crs(geom: BaseGeometry, src: int | str, dst: int | str) -> BaseGeometry:
    """Transform a shapely geometry (or array) between CRSs, vectorised."""
    tr = transformer(src, dst)
    return shapely.transform(geom, lambda xy: _apply(tr, xy))


def _apply(tr: Transformer, xy):  # type: ignore[no-untyped-def]
    import numpy as np

    x, y = tr.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def in_china(bounds: tuple[float, float, float, float]) -> bool:
    """True when lon/lat bounds lie within China's extent."""
    minx, miny, maxx, maxy = bounds
    cminx, cminy, cmaxx, cmaxy = CHINA_BOUNDS
    return cminx <= minx <= maxx <= cmaxx and cminy <= miny <= maxy <= cmaxy


def check_plausible(bounds: tuple[float, float, float, float], crs: CRS, where: str) -> None:
    """Refuse coordinates that cannot be in ``crs`` (metres as degrees, swapped X/Y).

    ``bounds`` are the data's bounds in ``crs``. Raises :class:`UnknownCRS` saying
    what looks wrong.
    """
    minx, miny, maxx, maxy = bounds
    if crs.is_geographic:
        if max(abs(minx), abs(maxx)) > 360 or max(abs(miny), abs(maxy)) > 90:
            raise UnknownCRS(
                f"coordinates up to ({maxx:.0f}, {maxy:.0f}) are not degrees but the CRS "
                f"{crs.to_string()} is geographic: projected metres labelled as degrees? "
                "give the right CRS with --crs",
                message_zh="坐标数值是米而坐标系声明为经纬度,请用 --crs 指定正确的投影坐标系",
                where=where)
        lonlat = (minx, miny, maxx, maxy)
    else:
        lonlat = transformer(crs.to_string(), CGCS2000).transform_bounds(minx, miny, maxx, maxy)
    if in_china(lonlat):
        return
    _raise_outside(bounds, crs, where)


def _raise_outside(bounds: tuple[float, float, float, float], crs: CRS, where: str) -> None:
    minx, miny, maxx, maxy = bounds
    swapped = (miny, minx, maxy, maxx)
    if crs.is_geographic:
        swapped_ok = in_china(swapped)
    else:
        tr = transformer(crs.to_string(), CGCS2000)
        swapped_ok = in_china(tr.transform_bounds(*swapped))
    if swapped_ok:
        raise UnknownCRS(
            "X and Y appear swapped: the coordinates fall in China only with X and Y exchanged "
            "(surveying order northing/easting?)",
            message_zh="X、Y 坐标疑似颠倒(测量坐标 X 为北坐标),请检查后重新导入", where=where)
    raise UnknownCRS(
        f"coordinates {bounds} cannot be in {crs.to_string()}: they fall outside China; "
        "is the declared CRS right?",
        message_zh="坐标不在声明的坐标系的中国范围内,请检查坐标系", where=where)


def parse_crs(text: str) -> CRS:
    """Parse a user-given CRS such as ``EPSG:4527``, raising :class:`UnknownCRS`."""
    try:
        return CRS.from_user_input(text)
    except Exception:  # pyproj raises CRSError, a broad family
        raise UnknownCRS(f"unknown CRS {text!r}", message_zh=f"无法识别的坐标系“{text}”") from None
