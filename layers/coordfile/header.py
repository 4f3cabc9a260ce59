"""The ``[属性描述]`` attributes: datum (坐标系), projection (投影类型) and unit (计量单位).

Only CGCS2000 Gauss-Krüger in metres is accepted; Xian 1980 and Beijing 1954 are recognised
and refused with a message saying so. The zone is handled in :mod:`layers.coordfile.zones`.
"""

from __future__ import annotations

import re

from blueprint.layers.coordfile.model import ATTRIBUTES, RawFile, fail
from blueprint.layers.errors import UnknownCRS

_OTHER_DATUMS = (
    (("西安", "XIAN", "1980", "西80"), "1980西安坐标系（Xian 1980）", "1980西安坐标系"),
    (("北京", "BEIJING", "1954", "北54"), "1954北京坐标系（Beijing 1954）", "1954北京坐标系"),
)
_CGCS2000_MARKERS = (
    "CGCS2000",
    "2000国家大地坐标系",
    "国家2000",
    "2000国家坐标系",
    "2000大地坐标系",
)


def attr_line(raw: RawFile, key: str) -> int:
    """Return the line of attribute ``key``, else of ``[属性描述]``, else 1."""
    return raw.attr_lines.get(key) or raw.sections.get(ATTRIBUTES) or 1


def check_datum(raw: RawFile, name: str) -> None:
    """Check that 坐标系 is given and names CGCS2000."""
    value = raw.attributes.get("坐标系", "")
    line = attr_line(raw, "坐标系")
    if not value:
        raise fail(
            name,
            line,
            "坐标系 (datum) is missing; it must be CGCS2000",
            "缺少坐标系，应为2000国家大地坐标系",
            UnknownCRS,
        )
    norm = re.sub(r"[\s\-_]", "", value).upper()
    _refuse_other_datums(value, norm, line, name)
    if not any(marker in norm for marker in _CGCS2000_MARKERS):
        raise fail(
            name,
            line,
            f"unknown datum 坐标系={value}; only CGCS2000 (2000国家大地坐标系) is supported",
            f"无法识别的坐标系“{value}”，仅支持2000国家大地坐标系",
            UnknownCRS,
        )


def _refuse_other_datums(value: str, norm: str, line: int, name: str) -> None:
    for markers, label, label_zh in _OTHER_DATUMS:
        if any(marker in norm for marker in markers):
            raise fail(
                name,
                line,
                f"坐标系={value} is {label}, which is recognised but is not CGCS2000; "
                "convert the coordinates to CGCS2000 (2000国家大地坐标系) first",
                f"坐标系“{value}”为{label_zh}，不是2000国家大地坐标系，请先将坐标转换为CGCS2000",
                UnknownCRS,
            )


def check_projection(raw: RawFile, name: str) -> None:
    """Check that 投影类型 (if given) is Gauss-Krüger and 计量单位 (if given) is metres."""
    projection = re.sub(r"[\s\-_·]", "", raw.attributes.get("投影类型", "")).upper()
    if projection and not any(m in projection for m in ("高斯", "克吕格", "GAUSS", "KRUGER", "GK")):
        raise fail(
            name,
            attr_line(raw, "投影类型"),
            f"投影类型={raw.attributes['投影类型']} is not Gauss-Krüger",
            f"投影类型“{raw.attributes['投影类型']}”不是高斯克吕格投影",
            UnknownCRS,
        )
    unit = raw.attributes.get("计量单位", "").strip().lower()
    if unit and unit not in ("米", "m", "metre", "meter", "metres", "meters"):
        raise fail(
            name,
            attr_line(raw, "计量单位"),
            f"计量单位={raw.attributes['计量单位']}: only metres (米) are supported",
            f"计量单位“{raw.attributes['计量单位']}”不受支持，应为米",
            UnknownCRS,
        )
