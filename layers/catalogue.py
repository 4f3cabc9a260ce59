"""The layer catalogue: which kinds of layer the one blueprint holds (see ``layers/kinds.toml``)."""

from __future__ import annotations

from blueprint.layers.errors import UnknownLayerKind
from blueprint.layers.kinds import LayerKind, LiveMapping, kinds

__all__ = ["ID_FIELDS", "KINDS", "LayerKind", "get_kind"]

# Every kind of the registry in use, by name (a live view: see layers.kinds.use_kinds).
KINDS: LiveMapping[LayerKind] = LiveMapping(lambda: kinds().kinds)

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
