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
    holds the whole city (the boundaries), not only the projects' corner of it.

    Every project given is drawn (the city's picture, however long the list's pages):
    one GeoJSON layer per colour, each site and a marker-sized ring at it (so that a small
    site shows at city scale) as its features, the tooltip a property of each, not a
    Leaflet layer and a tooltip of its own per project (300 projects: 220 KB, not 690)."""
    fmap = _map(base, "560px")
    if boundaries:
        folium.GeoJson({"type": "FeatureCollection", "features": boundaries},
                       name="行政区划", style_function=lambda _f: BOUNDARY_STYLE,
                       interactive=False, control=False).add_to(fmap)
    shapes = []
    for colour, zh in (("red", "红色"), ("yellow", "黄色"), ("green", "绿色")):
        group = folium.FeatureGroup(name=f"{zh}项目").add_to(fmap)
        features = []
        for s in statuses:
            site = s.project.site
            if s.colour != colour or site is None:
                continue
            tip = html.escape(
                f"{s.project.code} {s.project.name}（{names.get(s.project.county, '')}，"
                f"{s.project.stage_zh}）：{s.to_dict()['colour_zh']}"
                + (f"——{'；'.join(s.reasons)}" if s.reasons else ""))
            centre = site.representative_point()
            features += [_feature(shapely.geometry.mapping(site), tip),
                         _feature({"type": "Point", "coordinates": [centre.x, centre.y]}, tip)]
            shapes.append(site)
        if features:
            hexa = COLOUR_HEX[colour]
            folium.GeoJson(
                {"type": "FeatureCollection", "features": features},
                style_function=lambda _f, c=hexa: {"color": c, "weight": 3, "fillColor": c,
                                                   "fillOpacity": 0.6},
                marker=folium.CircleMarker(radius=9, fill=True, fill_opacity=0.8),
                tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
            ).add_to(group)
    folium.LayerControl(collapsed=False).add_to(fmap)
    _fit(fmap, shapes + [shapely.geometry.shape(f["geometry"]) for f in boundaries or []])
    return fmap


def _feature(geometry: dict[str, Any], tip: str) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {"tip": tip}}
