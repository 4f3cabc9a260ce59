"""A static map of a vetted site for the printed report: our own layers around the site,
the pieces that break a rule, a scale bar and a north arrow (matplotlib, no tiles, no
network). Drawn in the site's Gauss-Krüger zone, so the scale bar is true."""

from __future__ import annotations

import io
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from blueprint.layers.crs import gk3_epsg, to_crs
from blueprint.layers.features import features_in_bbox
from blueprint.layers.kinds import kinds
from blueprint.layers.repository import LayerInfo, list_layers
from blueprint.layers.store import Store

PIECE_COLOURS = {"conflict": "#d7191c", "conditional": "#f39c12", "warning": "#f1c40f"}
PIECE_LABELS = {"conflict": "冲突部分", "conditional": "有条件部分", "warning": "提示部分"}
CJK_FONTS = ["Noto Sans CJK SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei",
             "Microsoft YaHei", "PingFang SC", "DejaVu Sans"]
MAX_FEATURES = 3000


def site_map_png(site: BaseGeometry, pieces: list[tuple[BaseGeometry, str]], *,
                 store: Store, layers: list[LayerInfo] | None = None,
                 width_cm: float = 16.0, height_cm: float = 11.0) -> bytes:
    """A PNG of the site (black outline) over every vector layer near it, with ``pieces``
    (geometry in EPSG:4490, status) filled red / amber, a scale bar and a north arrow.
    ``layers``: the layer versions to draw (the ones the report was vetted on), else the
    current ones."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epsg = gk3_epsg(site.centroid.x)
    frame = _frame(to_crs(site, 4490, epsg))
    with plt.rc_context({"font.family": "sans-serif", "font.sans-serif": CJK_FONTS,
                         "axes.unicode_minus": False}):
        fig, ax = plt.subplots(figsize=(width_cm / 2.54, height_cm / 2.54), dpi=150)
        drawn = list_layers(store=store) if layers is None else layers
        handles = _draw_layers(ax, frame, epsg, drawn, store)
        order = {"warning": 0, "conditional": 1, "conflict": 2}  # conflicts drawn on top
        for geom, status in sorted(pieces, key=lambda p: order.get(p[1], 2)):
            _fill(ax, to_crs(geom, 4490, epsg), PIECE_COLOURS.get(status, "#d7191c"), 0.75,
                  PIECE_LABELS.get(status))
        _fill(ax, to_crs(site, 4490, epsg), "none", 1.0, "地块范围", edge="#000000", lw=1.6)
        ax.set_xlim(frame[0], frame[2])
        ax.set_ylim(frame[1], frame[3])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        _scale_bar(ax, frame)
        _north_arrow(ax)
        _legend(ax, handles)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
        plt.close(fig)
    return buf.getvalue()


def _frame(planar: BaseGeometry) -> tuple[float, float, float, float]:
    """The site's bounds, padded by half its size (at least 200 m), in metres."""
    x0, y0, x1, y1 = planar.bounds
    pad = max(200.0, 0.5 * max(x1 - x0, y1 - y0))
    return x0 - pad, y0 - pad, x1 + pad, y1 + pad


def _draw_layers(ax: Any, frame: tuple[float, float, float, float], epsg: int,
                 layers: list[LayerInfo], store: Store) -> dict[str, Any]:
    """Every vector layer of ``layers`` in the frame, in its kind's colour; legend handles
    by title."""
    from matplotlib.patches import Patch

    corners = to_crs(shapely.box(*frame), epsg, 4490).bounds
    registry = kinds().kinds
    handles: dict[str, Any] = {}
    for layer in layers:
        if layer.is_raster:
            continue
        page = features_in_bbox(layer, corners, store=store, limit=MAX_FEATURES,
                                tolerance=0.00001)
        if not page.features:
            continue
        colour = registry[layer.kind].color if layer.kind in registry else "#3388ff"
        admin = registry[layer.kind].rule == "admin" if layer.kind in registry else False
        geoms = [shapely.geometry.shape(f["geometry"]) for f in page.features]
        planar = to_crs(shapely.GeometryCollection(geoms), 4490, epsg)
        if admin:
            _fill(ax, planar, "none", 1.0, None, edge="#555555", lw=0.8, dashed=True)
        else:
            _fill(ax, planar, colour, 0.3, None, edge=colour, lw=0.6)
        handles[layer.title] = Patch(facecolor="none" if admin else colour,
                                     edgecolor="#555555" if admin else colour,
                                     alpha=1.0 if admin else 0.5, label=layer.title)
    return handles


def _fill(ax: Any, geom: BaseGeometry, colour: str, alpha: float, label: str | None, *,
          edge: str | None = None, lw: float = 0.0, dashed: bool = False) -> None:
    """Polygons (holes kept) as patches; lines drawn as lines."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    for part in shapely.get_parts(geom, return_index=False):
        if isinstance(part, shapely.GeometryCollection):
            _fill(ax, part, colour, alpha, label, edge=edge, lw=lw, dashed=dashed)
            continue
        if part.geom_type == "Polygon":
            rings = [part.exterior, *part.interiors]
            verts = [xy for r in rings for xy in r.coords]
            codes = [c for r in rings for c in
                     [Path.MOVETO] + [Path.LINETO] * (len(r.coords) - 2) + [Path.CLOSEPOLY]]
            ax.add_patch(PathPatch(Path(verts, codes), facecolor=colour,
                                   alpha=alpha if colour != "none" else None,
                                   edgecolor=edge or "none", linewidth=lw,
                                   linestyle="--" if dashed else "-", label=label))
            label = None
        elif part.geom_type in ("LineString", "LinearRing"):
            x, y = part.xy
            ax.plot(x, y, color=edge or colour, linewidth=max(lw, 0.8))


def _nice_length(span: float) -> float:
    """1, 2 or 5 × 10ⁿ metres, about a quarter of ``span``."""
    target = span / 4
    power = 10 ** int(f"{target:e}".split("e")[1])
    return max(m * power for m in (1, 2, 5) if m * power <= target) if target >= power else power


def _scale_bar(ax: Any, frame: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = frame
    length = _nice_length(x1 - x0)
    left, base = x0 + 0.04 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    height = 0.012 * (y1 - y0)
    for i, colour in enumerate(("black", "white")):
        ax.add_patch(_rect(left + i * length / 2, base, length / 2, height, colour))
    text = f"{length / 1000:g} 千米" if length >= 1000 else f"{length:g} 米"
    ax.text(left, base + 2 * height, "0", fontsize=7, ha="center")
    ax.text(left + length, base + 2 * height, text, fontsize=7, ha="center")


def _rect(x: float, y: float, w: float, h: float, colour: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=colour, edgecolor="black", linewidth=0.6)


def _north_arrow(ax: Any) -> None:
    ax.annotate("北", xy=(0.94, 0.95), xytext=(0.94, 0.80), xycoords="axes fraction",
                ha="center", va="center", fontsize=10,
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5})


def _legend(ax: Any, handles: dict[str, Any]) -> None:
    from matplotlib.patches import Patch

    items = list(handles.values())
    items += [Patch(facecolor=c, alpha=0.75, label=PIECE_LABELS[s])
              for s, c in PIECE_COLOURS.items() if s != "warning"]
    items.append(Patch(facecolor="none", edgecolor="black", linewidth=1.6, label="地块范围"))
    ax.legend(handles=items, loc="upper left", fontsize=6, framealpha=0.85, ncol=1)
