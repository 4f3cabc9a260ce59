"""The layer catalogue: which kinds of layer the one blueprint holds."""

from __future__ import annotations

from dataclasses import dataclass

from layers.errors import UnknownLayerKind


@dataclass(frozen=True)
class LayerKind:
    """One kind of layer: its Chinese title, storage form and class attribute."""

    name: str
    title: str
    raster: bool = False
    class_fields: tuple[str, ...] = ()
    color: str = "#3388ff"


KINDS: dict[str, LayerKind] = {
    k.name: k
    for k in (
        LayerKind("admin_boundary", "行政区划", class_fields=("name", "xzqmc", "county_name"),
                  color="#555555"),
        LayerKind("ecological_redline", "生态保护红线", color="#d7191c"),
        LayerKind("basic_farmland", "永久基本农田", color="#f4c542"),
        LayerKind("urban_boundary", "城镇开发边界", color="#7b3294"),
        LayerKind("zoning", "用途分区", class_fields=("landuse", "ydyh", "ydxz", "dlbm", "class",
                                                      "用地性质", "用地类型"), color="#1a9641"),
        LayerKind("water_source", "饮用水水源保护区",
                  class_fields=("level", "bhqjb", "jb", "级别", "保护区级别"), color="#2b83ba"),
        LayerKind("industrial_park", "产业园区", color="#fdae61"),
        LayerKind("env_capacity", "环境容量", raster=True, color="#abdda4"),
    )
}

# Fields that name features, most specific first: codes (标识码, 图斑编号, 红线编号, 地块编号,
# 行政区划代码, 保护区编码), then names (名称) — the first one whose values are unique wins.
ID_FIELDS = ("id", "fid", "bsm", "tbbh", "hxbh", "dkbh", "code", "xzqdm", "xzqhdm", "adcode",
             "county_code", "bhqbm", "yqbm", "name", "mc", "xzqmc", "bhqmc", "yqmc")


def get_kind(name: str) -> LayerKind:
    """Return the layer kind called ``name`` or raise :class:`UnknownLayerKind`."""
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(KINDS)
        raise UnknownLayerKind(
            f"unknown layer kind {name!r}; known kinds: {known}",
            message_zh=f"未知的图层类型“{name}”，可用类型：{known}",
        ) from None
