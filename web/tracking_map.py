"""The battle map (挂图作战): every tracked key project's site, filled with its colour, a
tooltip with its name, stage and why; offline (Leaflet from ``/static``, no tiles)."""

from __future__ import annotations

import html
from typing import Any

import folium
import shapely

from blueprint.web.project_map import _fit, _map

COLOUR_HEX = {"green": "#1a9850", "yellow": "#f1c40f", "red": "#d7191c"}


BOUNDARY_STYLE = {"color": "#7f8c8d", "weight": 1.5, "fill": False}


def battle_map(statuses: list[Any], names: dict[str, str], base: str = "",
               boundaries: list[dict[str, Any]] | None = None) -> folium.Map:
    """One polygon (or point) per project, coloured by its computed status, over the county
    boundaries (grey outlines, not interactive) when given as GeoJSON features; the view
    holds the whole city (the boundaries), not only the projects' corner of it."""
    fmap = _map(base, "560px")
    if boundaries:
        folium.GeoJson({"type": "FeatureCollection", "features": boundaries},
                       name="行政区划", style_function=lambda _f: BOUNDARY_STYLE,
                       interactive=False, control=False).add_to(fmap)
    groups = {c: folium.FeatureGroup(name=f"{zh}项目").add_to(fmap)
              for c, zh in (("red", "红色"), ("yellow", "黄色"), ("green", "绿色"))}
    shapes = []
    for s in statuses:
        site = s.project.site
        if site is None:
            continue
        colour = COLOUR_HEX[s.colour]
        tip = (f"{s.project.code} {s.project.name}（{names.get(s.project.county, '')}，"
               f"{s.project.stage_zh}）：{s.to_dict()['colour_zh']}"
               + (f"——{'；'.join(s.reasons)}" if s.reasons else ""))
        style = {"color": colour, "weight": 3, "fillColor": colour, "fillOpacity": 0.6}
        folium.GeoJson(shapely.geometry.mapping(site), name=s.project.code,
                       style_function=lambda _f, st=style: st,
                       tooltip=folium.Tooltip(html.escape(tip))).add_to(groups[s.colour])
        # a marker-sized ring so a small site shows at city scale
        centre = site.representative_point()
        folium.CircleMarker((centre.y, centre.x), radius=9, color=colour, weight=3,
                            fill=True, fill_color=colour, fill_opacity=0.8,
                            tooltip=html.escape(tip)).add_to(groups[s.colour])
        shapes.append(site)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _fit(fmap, shapes + [shapely.geometry.shape(f["geometry"]) for f in boundaries or []])
    return fmap
