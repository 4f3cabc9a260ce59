"""The blueprint map page (一张蓝图), built with folium and served without any CDN.

The page holds no layer data: each vector layer is an empty ``FeatureGroup`` that
``web/static/app.js`` fills from ``/api/layers/{name}/features`` for the current viewport,
simplified for the zoom, or, for a layer of more than 3,000 features, with vector tiles
(``/api/layers/{name}/tiles/{z}/{x}/{y}.pbf``, Leaflet.VectorGrid); the capacity raster
is a PNG from ``/api/layers/{name}/image.png``.
How each kind is drawn (style, popup labels, the rule of a result piece) comes from the
layer-kind registry (``layers/kinds.toml``), sent in the page's ``bp-config`` as ``kinds``.
Folium's default scripts and stylesheets (Leaflet, jQuery, Bootstrap, Font Awesome from
public CDNs) are replaced by the vendored copies under ``/static/vendor``.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import Figure, MacroElement
from folium.plugins import Draw
from folium.template import Template

from blueprint.analysis import messages as msg
from blueprint.analysis.capacity import POLLUTANT_NAMES_ZH
from blueprint.layers.kinds import LayerKind, kinds
from blueprint.layers.repository import LayerInfo
from blueprint.web.panel import panel_html

VENDOR = "/static/vendor"
MAP_JS = [("leaflet", f"{VENDOR}/leaflet/leaflet.js"),
          ("leaflet_vectorgrid",
           f"{VENDOR}/leaflet-vectorgrid/Leaflet.VectorGrid.bundled.min.js")]
MAP_CSS = [("leaflet_css", f"{VENDOR}/leaflet/leaflet.css"), ("blueprint_css", "/static/app.css")]
DRAW_JS = [("leaflet_draw_js", f"{VENDOR}/leaflet-draw/leaflet.draw.js"),
           ("leaflet_draw_zh", "/static/draw-zh.js")]
DRAW_CSS = [("leaflet_draw_css", f"{VENDOR}/leaflet-draw/leaflet.draw.css")]
CHINA_CENTRE = (35.0, 105.0)
TILED_ABOVE = 3000  # a layer with more features is drawn from vector tiles (docs/web.md)


@dataclass
class PageOptions:
    """What the page needs besides the layers."""

    base: str = ""  # the app's root path (behind a reverse proxy), "" normally
    basemap_url: str = ""
    basemap_attribution: str = ""
    industries: list[tuple[str, str]] = field(default_factory=list)  # (code, Chinese title)
    counties: list[tuple[str, str]] = field(default_factory=list)  # (code, name), for 找地块
    save_refused: str = ""  # why the signed-in user may not save a project ("" if they may)
    header: str = ""  # the pages' links and who is signed in (HTML, ``render.header_parts``)
    county: str = ""  # the signed-in user's county: 找地块 searches it first ("" city-wide)
    signed_in: bool = False  # someone is signed in: 找地块 takes quota demands (要素需求)
    # the land-use classes' names by code (the rules' landuse_names): the zoning legend
    class_names: dict[str, str] = field(default_factory=dict)


class _Expose(MacroElement):
    """Makes a folium object's JavaScript variable global (folium declares some with ``let``,
    which ``app.js`` cannot reach as ``window[name]``)."""

    _template = Template("{% macro script(this, kwargs) %}"
                         "window.{{ this.target }} = {{ this.target }};{% endmacro %}")

    def __init__(self, target: str):
        super().__init__()
        self._name = "Expose"
        self.target = target


def _local(base: str, links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, base + url) for name, url in links]


def _kind(name: str) -> LayerKind:
    """The kind of a layer; a plain vector kind for one the registry does not know."""
    return kinds().kinds.get(name) or LayerKind(name=name, title=name)


def _label(info: LayerInfo) -> str:
    kind = _kind(info.kind)
    swatch = f"--c:{kind.color}" + (f";{kind.web['swatch']}" if "swatch" in kind.web else "")
    return (f'<span class="bp-swatch bp-swatch-{html.escape(info.kind)}" '
            f'style="{html.escape(swatch)}"></span>{html.escape(info.title)}')


def kinds_config() -> dict[str, Any]:
    """How the page draws each kind (read by ``app.js`` and ``check.js``), from the registry."""
    return {kind.name: {
        "title": kind.title, "color": kind.color, "raster": kind.raster,
        "county": kind.rule == "admin", "style": kind.web.get("style", {}),
        "classStyles": kind.web.get("class_styles", {}),
        "classLabel": kind.web.get("class_label", "分类"),
        "classNames": kind.web.get("class_names", {}),
        "labelFields": kind.web.get("label_fields", []),
        "labelMinZoom": kind.web.get("label_min_zoom", 0),
        "pieceRules": kind.web.get("piece_rules", {}),
    } for kind in kinds().kinds.values()}


def _bounds(layers: list[LayerInfo]) -> list[list[float]] | None:
    boxes = [info.bbox for info in layers if all(v is not None for v in info.bbox)]
    if not boxes:
        return None
    return [[min(b[1] for b in boxes), min(b[0] for b in boxes)],
            [max(b[3] for b in boxes), max(b[2] for b in boxes)]]


def build_map(layers: list[LayerInfo], options: PageOptions) -> folium.Map:
    """The folium map: one group per layer, drawing tools, the layer control and the panel."""
    fmap = folium.Map(location=CHINA_CENTRE, zoom_start=5, tiles=None, prefer_canvas=True,
                      control_scale=False, max_zoom=19)
    fmap.default_js = _local(options.base, MAP_JS)
    fmap.default_css = _local(options.base, MAP_CSS)
    if options.basemap_url:
        folium.TileLayer(options.basemap_url, attr=options.basemap_attribution or "底图",
                         name="底图", overlay=False, control=False, max_zoom=19).add_to(fmap)
    groups = []
    for info in layers:
        group = folium.FeatureGroup(name=_label(info),
                                    show=_kind(info.kind).web.get("shown", True))
        group.add_to(fmap)
        groups.append(_layer_config(info, group.get_name()))
    draw = Draw(position="topleft", show_geometry_on_click=False,
                draw_options={"polyline": False, "circle": False, "marker": False,
                              "circlemarker": False,
                              "polygon": {"allowIntersection": False, "showArea": False},
                              "rectangle": {"showArea": False}},
                edit_options={"edit": False, "remove": False})
    draw.default_js = _local(options.base, DRAW_JS)
    draw.default_css = _local(options.base, DRAW_CSS)
    draw.add_to(fmap)
    # expanded, as the legend; app.js collapses it on narrow screens (it covers popups there)
    control = folium.LayerControl(position="topright", collapsed=False).add_to(fmap)
    _Expose(control.get_name()).add_to(fmap)
    bounds = _bounds(layers)  # app.js fits the map to them, without animation
    config = {"base": options.base, "map": fmap.get_name(),
              "drawnItems": f"drawnItems_{draw.get_name()}", "layers": groups,
              "layerControl": control.get_name(), "bounds": bounds,
              "statusZh": msg.STATUS_ZH, "ruleZh": dict(msg.RULE_ZH),
              "otherRuleZh": msg.OTHER_RULE_ZH, "kinds": _with_class_names(options.class_names),
              "fieldLabels": dict(kinds().field_labels),
              "countyNames": county_names(options.counties),
              "pollutantsZh": dict(POLLUTANT_NAMES_ZH)}
    _add_page_parts(fmap, config, options)
    return fmap


def _with_class_names(landuse: dict[str, str]) -> dict[str, Any]:
    """:func:`kinds_config` with the land-use classes' names (the rules' ``landuse_names``)
    for the zoning kinds (rule ``land_use``), under the kind's own: its popups and legend
    name a class (商业服务业用地), not only its code (09)."""
    config = kinds_config()
    for kind in kinds().kinds.values():
        if kind.rule == "land_use" and landuse:
            config[kind.name]["classNames"] = {**landuse, **config[kind.name]["classNames"]}
    return config


def county_names(counties: list[tuple[str, str]]) -> dict[str, str]:
    """The counties' names by code as the city's one list has them (a county known only by
    its code is left out: the map labels it with the boundary layer's name)."""
    return {code: name for code, name in counties if name and name != code}


def tiled(info: LayerInfo) -> bool:
    """Whether the page draws ``info`` from vector tiles: a vector layer of more than
    :data:`TILED_ABOVE` features whose kind has no permanent labels (county names)."""
    return (not info.is_raster and info.feature_count > TILED_ABOVE
            and not _kind(info.kind).web.get("label_fields"))


def _layer_config(info: LayerInfo, group: str) -> dict[str, Any]:
    return {"name": info.name, "kind": info.kind, "title": info.title, "group": group,
            "color": _kind(info.kind).color, "raster": info.is_raster,
            "bands": info.bands, "count": info.feature_count, "tiled": tiled(info),
            "version": info.version}


def _add_page_parts(fmap: folium.Map, config: dict[str, Any], options: PageOptions) -> None:
    figure = fmap.get_root()
    assert isinstance(figure, Figure)
    figure.header.add_child(folium.Element(
        '<title>一张蓝图 · 选址初审</title>'
        f'<link rel="icon" href="{options.base}/static/favicon.svg" type="image/svg+xml">'
        f'<script defer src="{options.base}/static/fields.js"></script>'
        f'<script defer src="{options.base}/static/check.js"></script>'
        f'<script defer src="{options.base}/static/search.js"></script>'
        f'<script defer src="{options.base}/static/app.js"></script>'), name="bp_head")
    payload = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    pollutants = list(POLLUTANT_NAMES_ZH.items())
    figure.html.add_child(folium.Element(
        panel_html(options.industries, pollutants, options.base, options.counties,
                   options.save_refused, options.header, options.county,
                   options.signed_in)
        + f'<script id="bp-config" type="application/json">{payload}</script>'),
        name="bp_panel")


# folium's map writes this tag, which stops a reader from zooming the page (WCAG 1.4.4)
_NO_ZOOM = re.compile(r'<meta name="viewport"[^>]*user-scalable=no[^>]*>')
ZOOMABLE = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def zoomable(head: str, keep: str = "") -> str:
    """``head`` with folium's zoom-blocking viewport tag replaced by ``keep`` (a page's
    own tag, or nothing where the page template has one)."""
    return _NO_ZOOM.sub(keep, head)


def render_page(layers: list[LayerInfo], options: PageOptions) -> str:
    """The whole HTML page, with ``lang="zh-CN"``."""
    fmap = build_map(layers, options)
    page = zoomable(fmap.get_root().render(), ZOOMABLE)
    # the map is the page's main content (the panel beside it is an <aside>): a landmark,
    # so that a screen reader can go to it and every part of the page is in one
    mapdiv = f'<div class="folium-map" id="{fmap.get_name()}"'
    page = page.replace(mapdiv, f'{mapdiv} role="main" aria-label="地图"', 1)
    return page.replace("<html>", '<html lang="zh-CN">', 1)
