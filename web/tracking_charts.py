"""Small inline SVG charts for the figures page (no script, no external resource)."""

from __future__ import annotations

from decimal import Decimal
from html import escape

NO_DATA_ZH = "本月无项目数据。"  # as the figures tables below say


def _no_data(rows: list[object]) -> str:
    """A line under the title of a chart without rows (only the title was drawn)."""
    return "" if rows else (f"<text x='0' y='44' font-size='12' fill='#666' "
                            f"class='bp-no-data'>{NO_DATA_ZH}</text>")


def bar_chart(title: str, rows: list[tuple[str, Decimal | None]], *, unit: str = "%",
              scale: Decimal = Decimal(100), top: Decimal = Decimal(100)) -> str:
    """Horizontal bars: one a row (label, value 0..1 shown × ``scale``); — for no value;
    a chart without rows says so."""
    height, width, left = 26 * max(len(rows), 1) + 34, 560, 110
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' class='bp-chart' role='img' "
             f"width='{width}' height='{height}' aria-label='{escape(title)}'>",
             f"<text x='0' y='16' font-size='14' font-weight='bold'>{escape(title)}</text>",
             _no_data(list(rows))]
    for i, (label, value) in enumerate(rows):
        y = 30 + 26 * i
        parts.append(f"<text x='0' y='{y + 14}' font-size='12'>{escape(label)}</text>")
        if value is None:
            parts.append(f"<text x='{left}' y='{y + 14}' font-size='12'>—</text>")
            continue
        shown = value * scale
        length = float(min(shown, top) / top) * (width - left - 70)
        parts.append(f"<rect x='{left}' y='{y}' width='{length:.1f}' height='18' "
                     f"fill='#2b6cb0'><title>{escape(label)} {shown:.1f}{unit}</title></rect>")
        parts.append(f"<text x='{left + length + 4:.1f}' y='{y + 14}' font-size='12'>"
                     f"{shown:.1f}{unit}</text>")
    parts.append("</svg>")
    return "".join(parts)


def colour_chart(rows: list[tuple[str, int, int, int]]) -> str:
    """Stacked bars of green / yellow / red projects per county, each with its counts
    written after it (not only in the bars' tooltips); a chart without rows says so."""
    height, width, left = 26 * max(len(rows), 1) + 34, 560, 110
    most = max((g + y + r for _, g, y, r in rows), default=0) or 1
    unit = (width - left - 170) / most  # room for the counts after the longest bar
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' class='bp-chart' role='img' "
             f"width='{width}' height='{height}' aria-label='三色项目数'>",
             "<text x='0' y='16' font-size='14' font-weight='bold'>三色项目数</text>",
             _no_data(list(rows))]
    for i, (label, *counts) in enumerate(rows):
        y, x = 30 + 26 * i, float(left)
        parts.append(f"<text x='0' y='{y + 14}' font-size='12'>{escape(label)}</text>")
        for n, fill in zip(counts, ("#1a9850", "#f1c40f", "#d7191c"), strict=True):
            if n:
                parts.append(f"<rect x='{x:.1f}' y='{y}' width='{n * unit:.1f}' height='18' "
                             f"fill='{fill}'><title>{n}</title></rect>")
                x += n * unit
        said = "、".join(f"{zh} {n}" for zh, n in zip("绿黄红", counts, strict=True) if n)
        parts.append(f"<text x='{x + 4:.1f}' y='{y + 14}' font-size='12'>"
                     f"共 {sum(counts)} 个{'：' + said if said else ''}</text>")
    parts.append("</svg>")
    return "".join(parts)
