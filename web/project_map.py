"""The small folium maps of the project pages: a project's site with its conflicting pieces
and the departments' condition areas, and the inbox's map to draw a condition on."""

from __future__ import annotations

import html
from typing import Any

import folium
import shapely
from branca.element import MacroElement
from folium.plugins import Draw
from folium.template import Template

from blueprint.web.map_page import DRAW_CSS, DRAW_JS, MAP_CSS, MAP_JS, _Expose, _local

PIECE_COLOURS = {"conflict": "#d7191c", "conditional": "#f39c12", "warning": "#f1c40f"}
SITE_STYLE = {"color": "#1f4e9c", "weight": 3, "fill": False}
CONDITION_STYLE = {"color": "#7b3294", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.25}


class _MetricScale(MacroElement):
    """A scale bar in metres and kilometres only (folium's own also shows feet and miles)."""

    _template = Template("{% macro script(this, kwargs) %}"
                         "L.control.scale({metric: true, imperial: false})"
                         ".addTo({{ this._parent.get_name() }});{% endmacro %}")

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


def _map(base: str, height: str) -> folium.Map:
    # zoomSnap a quarter: the view fitted to the city (or a site) fills the map, where
    # whole zoom levels left it at half the map's height or width
    fmap = folium.Map(location=(36.45, 115.98), zoom_start=10, tiles=None, height=height,
                      control_scale=False, max_zoom=19, zoom_snap=0.25)
    _MetricScale().add_to(fmap)
    fmap.default_js = _local(base, MAP_JS)
    fmap.default_css = _local(base, MAP_CSS[:1])  # Leaflet only: app.css fills the window
    return fmap


def _fit(fmap: folium.Map, geometries: list[Any]) -> None:
    shapes = [g for g in geometries if g is not None and not g.is_empty]
    if shapes:
        x0, y0, x1, y1 = shapely.total_bounds(shapes)
        fmap.fit_bounds([[y0, x0], [y1, x1]], padding=(30, 30))


def _shape(geometry: Any, name: str, style: dict[str, Any], tip: str,
           group: Any) -> None:
    folium.GeoJson(shapely.geometry.mapping(geometry), name=name,
                   style_function=lambda _f, s=style: s,
                   tooltip=folium.Tooltip(html.escape(tip))).add_to(group)


def project_map(site: Any, pieces: list[dict[str, Any]], conditions: list[dict[str, Any]],
                base: str = "", draw: bool = False) -> tuple[folium.Map, dict[str, str]]:
    """The site (blue outline), the pieces that break a rule (red / amber) and every
    condition area a department attached (purple, dashed), each with a tooltip; with
    ``draw``, the tools to draw a revised site and the names ``revise.js`` needs."""
    fmap = _map(base, "420px")
    sites = folium.FeatureGroup(name="地块").add_to(fmap)
    if site is not None:
        _shape(site, "site", SITE_STYLE, "项目地块", sites)
    found = folium.FeatureGroup(name="冲突及有条件范围").add_to(fmap)
    for piece in pieces:
        colour = PIECE_COLOURS.get(piece["status"], "#888888")
        _shape(piece["geometry"], "piece", {"color": colour, "weight": 1,
                                            "fillColor": colour, "fillOpacity": 0.55},
               piece["label"], found)
    areas = folium.FeatureGroup(name="部门条件范围").add_to(fmap)
    for cond in conditions:
        _shape(cond["geometry"], "condition", CONDITION_STYLE, cond["label"], areas)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _fit(fmap, [site] + [c["geometry"] for c in conditions])
    return fmap, (_draw_tools(fmap, base) if draw else {})


def _draw_tools(fmap: folium.Map, base: str) -> dict[str, str]:
    """Polygon and rectangle tools on ``fmap``; the names of the map and the drawn items."""
    draw = Draw(position="topleft", show_geometry_on_click=False,
                draw_options={"polyline": False, "circle": False, "marker": False,
                              "circlemarker": False,
                              "polygon": {"allowIntersection": False, "showArea": False},
                              "rectangle": {"showArea": False}},
                edit_options={"edit": False, "remove": False})
    draw.default_js = _local(base, DRAW_JS)
    draw.default_css = _local(base, DRAW_CSS)
    draw.add_to(fmap)
    _Expose(fmap.get_name()).add_to(fmap)
    return {"map": fmap.get_name(), "drawnItems": f"drawnItems_{draw.get_name()}"}


def answer_map(site: Any, base: str = "") -> tuple[folium.Map, dict[str, str]]:
    """A small map of the project's site with drawing tools for a condition area; and the
    names ``answer.js`` needs (the map, the drawn-items group)."""
    fmap = _map(base, "300px")
    group = folium.FeatureGroup(name="地块").add_to(fmap)
    if site is not None:
        _shape(site, "site", SITE_STYLE, "项目地块", group)
    names = _draw_tools(fmap, base)
    _fit(fmap, [site])
    return fmap, names
