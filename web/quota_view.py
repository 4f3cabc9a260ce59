"""Pieces of the quota dashboard: the choropleth of the counties and the bar chart of one
county (inline SVG drawn here, no chart library, no CDN), and the effect sentence a
confirmation states before an operation is posted."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

import folium
import shapely

from blueprint.web.project_map import _map

# Light to dark green: more quota available is darker.
RAMP = ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c")
NONE_COLOUR = "#dddddd"
BARS = (("granted", "下达县级储备"), ("pool_share", "统筹池份额"), ("available", "可用"),
        ("held", "预留"), ("allocated", "已配置"), ("lent", "借出"), ("borrowed", "借入"),
        ("retired", "核销"))
BAR_COLOURS = {"granted": "#4c78a8", "pool_share": "#9ecae9", "available": "#31a354",
               "held": "#f58518", "allocated": "#e45756", "lent": "#b279a2",
               "borrowed": "#72b7b2", "retired": "#888888"}


def colour_for(value: Decimal | None, top: Decimal) -> str:
    """The ramp colour of ``value`` between 0 and ``top``."""
    if value is None:
        return NONE_COLOUR
    if top <= 0:
        return RAMP[0]
    step = int(min(Decimal(len(RAMP) - 1), value / top * (len(RAMP) - 1)))
    return RAMP[step]


def choropleth(features: list[dict[str, Any]], available: dict[str, Decimal], unit: str,
               base: str, link: str, names: dict[str, str] | None = None) -> folium.Map:
    """The counties coloured by available quota; a click on one opens its card (the page
    script follows ``properties.link``; ``link`` is the dashboard URL without the county).
    A county is named as ``names`` (the city's one list, by code) has it, the boundary
    layer's name only for a code the list lacks or knows by its code alone."""
    names = names or {}
    fmap = _map(base, "380px")
    top = max(available.values(), default=Decimal(0))
    shapes = []
    for f in features:
        code = str(f.get("id"))
        if code not in available:
            continue
        geom = shapely.geometry.shape(f["geometry"])
        shapes.append(geom)
        listed = names.get(code)
        name = html.escape(listed if listed and listed != code
                           else str(f["properties"].get("name", code)))
        value = available[code]
        style = {"color": "#333333", "weight": 1, "fillOpacity": 0.8,
                 "fillColor": colour_for(value, top)}
        props = {"code": code, "link": f"{link}&county={code}"}
        layer = folium.GeoJson({"type": "Feature", "id": code, "properties": props,
                                "geometry": f["geometry"]}, name=name,
                               style_function=lambda _f, s=style: s,
                               tooltip=folium.Tooltip(f"{name}：可用 {value} {html.escape(unit)}"))
        layer.add_to(fmap)
    if shapes:
        x0, y0, x1, y1 = shapely.total_bounds(shapes)
        fmap.fit_bounds([[y0, x0], [y1, x1]], padding=(10, 10))
    return fmap


def bar_chart(card: dict[str, Any], unit: str) -> str:
    """A horizontal bar chart (SVG) of one county's figures."""
    reserve = card["reserve"]
    values = [(key, label, Decimal(card["pool_share"] if key == "pool_share"
                                   else reserve[key] or 0)) for key, label in BARS]
    top = max((v for _, _, v in values), default=Decimal(0)) or Decimal(1)
    width, left, row = 460, 96, 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="bp-chart" role="img" '
             f'aria-label="{html.escape(card["name"])}指标构成" width="{width}" '
             f'height="{row * len(values) + 8}" viewBox="0 0 {width} {row * len(values) + 8}">']
    for i, (key, label, value) in enumerate(values):
        y = 4 + i * row
        length = float(value / top) * (width - left - 110)
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" font-size="12">{label}</text>'
            f'<rect data-figure="{key}" x="{left}" y="{y + 3}" width="{max(length, 0):.1f}" '
            f'height="16" fill="{BAR_COLOURS[key]}"></rect>'
            f'<text x="{left + max(length, 0) + 4:.1f}" y="{y + 15}" font-size="12">'
            f'{format(value.normalize(), "f")} {html.escape(unit)}</text>')  # 71.219, not 71.2190
    parts.append("</svg>")
    return "".join(parts)


def effect_zh(op: str, f: dict[str, str], kind_title: str, unit: str,
              names: dict[str, str], project_name: str = "") -> str:
    """What an operation will do, in one Chinese sentence, before it is posted (the
    project named by its code and ``project_name``)."""
    def name(code: str) -> str:
        return f"{names.get(code, code)}（{code}）"

    code = f.get("project", "")  # its name in full-width brackets, or a space before the verb
    project = f"{code}（{project_name}）" if project_name else f"{code} "

    amount = f"{f.get('amount', '')} {unit}{kind_title}"
    pool = "，县级储备不足部分从市级统筹池调入" if f.get("from_pool") else ""
    if op == "hold":
        until = (f"，预留至 {f['expires']}（北京时间当日 24 时）" if f.get("expires")
                 else "，不设期限")
        return f"从{name(f['county'])}县级储备为项目 {project}预留 {amount}{pool}{until}。"
    if op == "allocate":
        return (f"向项目 {project}配置 {amount}：先使用该项目的预留，再使用"
                f"{name(f['county'])}县级储备{pool}。")
    if op == "lend":
        return (f"由{name(f['lender'])}向{name(f['borrower'])}临时拆借 {amount}，"
                f"归还期限 {f['due']}。")
    if op == "repay":
        what = f"{f['amount']} {unit}" if f.get("amount") else "全部未还数量"
        return f"归还临时拆借第 {f['loan_id']} 号：{what}。"
    if op == "reclaim":
        return (f"收回项目 {project}在 {f['year']} 年度的{kind_title}预留和已配置指标，"
                "退回其来源账户。")
    return f"冲正第 {f.get('operation_id', '')} 号操作：以反向分录抵销其全部分录，原记录保留。"
