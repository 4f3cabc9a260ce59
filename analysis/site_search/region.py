"""Where a project may go: the allowed region for an industry, as exact polygons.

The same rules and layers the vetting applies (``analysis/rules.toml``, ``layers/kinds.toml``)
decide, layer by layer, what a candidate must avoid and what would make it conditional:

- ``conflict`` statuses (red line, farmland, level-1 water sources … per industry) are
  removed, each grown by its buffer from ``[buffers]`` of the search file;
- ``urban_boundary`` in mode ``required`` keeps only what lies inside it;
- ``conditional`` statuses (level-2 water sources, unsuitable zoning, capacity short …) are
  kept but marked;
- parks (for an industry whose rules do not ignore them) and suitable zoning are
  preferences, used by the ranking.

Features are read through the engine seam (``store.backend.class_unions``): found by the
engine's index (an STRtree, PostGIS's GiST), clipped and dissolved by shapely on both
engines alike. All geometry here is in the CGCS2000 Gauss-Krüger zone of the searched
area (metres).
"""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from blueprint.analysis.counties import admin_counties, admin_layers
from blueprint.analysis.evaluators import WATER_LEVEL_ZH, rule_of, water_level
from blueprint.analysis.rules import IndustryRules, Rules, Status
from blueprint.analysis.site_county import county_code
from blueprint.analysis.site_search.capacity_region import capacity_constraints
from blueprint.analysis.site_search.config import SearchConfig
from blueprint.analysis.site_search.region_types import (
    EMPTY,
    GRID_M,
    URBAN_SCOPE_ZH,
    Constraint,
    Region,
)
from blueprint.layers.catalogue_cache import current_layers
from blueprint.layers.crs import CGCS2000, gk3_epsg, to_crs
from blueprint.layers.errors import BadInput
from blueprint.layers.kinds import kinds
from blueprint.layers.repository import LayerInfo, load_features
from blueprint.layers.store import Store

# Without an administrative boundary layer a city-wide search looks within the layers' extent.
NO_COUNTIES = "图层范围"
NO_ADMIN_NOTE = "图层库中没有行政区划图层：在全部图层的范围内查找，不分县区"


def allowed_region(industry: IndustryRules, *, store: Store, rules: Rules,
                   config: SearchConfig, county: str | None = None,
                   emissions: dict[str, float] | None = None) -> Region:
    """The allowed region for ``industry`` in ``county`` (every county when None).

    Examples
    --------
    >>> region = allowed_region(load_rules().industry("industrial"), store=store,
    ...                         rules=load_rules(), config=load_search_config(),
    ...                         county="371502")  # doctest: +SKIP
    >>> round(region.allowed.area / 1e4)  # hectares  # doctest: +SKIP
    """
    all_layers = current_layers(store=store)  # the catalogue as the vetting keeps it
    vectors = [layer for layer in all_layers if not layer.is_raster]
    aoi_geo, place_zh, county = _area_of_interest(vectors, county, store=store)
    epsg = gk3_epsg(aoi_geo.centroid.x)
    scope_geo, scope_zh, seats = _inside_required(vectors, aoi_geo, industry, store=store)
    scope_zh = place_zh + scope_zh
    constraints: list[Constraint] = []
    park, suitable = [], []
    # what lies outside the scope but within a buffer's reach of it keeps candidates away too
    reach_geo = _grown(scope_geo, max(config.buffers.values(), default=0.0), epsg)
    for layer in vectors:
        rule = rule_of(layer.kind)
        if rule in ("no_overlap", "water_levels", "land_use", "park"):
            unions = store.backend.class_unions(layer, reach_geo, store=store)
            projected = {k: to_crs(g, CGCS2000, epsg) for k, g in unions.items()}
            constraints += _constraints(layer, rule, projected, industry, rules, config)
            if rule == "park" and industry.modes.get(layer.kind) != "ignore":
                park += list(projected.values())  # parks count where the rules say so
            elif rule == "land_use":
                suitable += [g for k, g in projected.items()
                             if suits(k, industry.suitable_landuse)]
    rasters = [layer for layer in all_layers
               if layer.is_raster and rule_of(layer.kind) == "capacity"]
    scope = _snap(polygonal(to_crs(scope_geo, CGCS2000, epsg)))
    constraints += capacity_constraints(rasters, emissions or {}, scope, epsg, rules)
    zoned = any(rule_of(layer.kind) == "land_use" for layer in vectors)
    region = _assemble(epsg, county, aoi_geo, place_zh, scope, scope_zh, constraints,
                       shapely.union_all(park) if park else EMPTY,
                       (shapely.union_all(suitable) if suitable else EMPTY) if zoned else None,
                       [to_crs(s, CGCS2000, epsg) for s in seats], all_layers)
    if place_zh == NO_COUNTIES:  # searched, but the counties were not there to search in
        region.notes_zh.insert(0, NO_ADMIN_NOTE)
    return region


def suits(klass: str | None, suitable: tuple[str, ...]) -> bool:
    """A zoning class fits the industry (any class when the industry names none)."""
    if not suitable:
        return True
    return klass is not None and any(klass == s or klass.startswith(s) for s in suitable)


def _grown(geom: BaseGeometry, metres: float, epsg: int) -> BaseGeometry:
    """``geom`` (EPSG:4490) grown by ``metres`` in ``epsg``; itself when there is no buffer."""
    if metres <= 0 or geom.is_empty:
        return geom
    grown = shapely.buffer(to_crs(geom, CGCS2000, epsg), metres, quad_segs=4)
    return to_crs(grown, epsg, CGCS2000)


def _snap(geom: BaseGeometry) -> BaseGeometry:
    return shapely.set_precision(geom, GRID_M) if not geom.is_empty else geom


def polygonal(geom: BaseGeometry) -> BaseGeometry:
    """The polygons of ``geom``: what a region is made of. An intersection of polygons
    also gives the edges and corners they share (a level-2 zone beside the allowed land,
    an urban boundary along the county's edge), which are no land: the map drew them
    as lines of the conditional region."""
    if shapely.get_type_id(geom) in (3, 6) or geom.is_empty:
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else EMPTY


def _area_of_interest(vectors: list[LayerInfo], county: str | None, *, store: Store
                      ) -> tuple[BaseGeometry, str, str | None]:
    """The county (or every county) from the administrative layer, its Chinese name and its
    code (``county`` may be given by its name: :func:`~analysis.site_county.county_code`)."""
    admins = admin_layers(vectors)
    feats = [(str(fid), geom) for layer in admins
             for fid, _klass, geom in zip(*_arrays(layer, store), strict=True)]
    if not feats and (county is not None or not vectors):  # no county to find or list
        raise BadInput("the store has no administrative boundary layer to search in",
                       message_zh="图层库中没有行政区划图层，无法确定搜索范围", where="county")
    place_zh = "全市"
    if county is not None:
        named = admin_counties(store=store, catalogue=admins)
        county = county_code(county, named)
        feats = [f for f in feats if f[0] == county]
        place_zh = named[county]
    if feats:
        return shapely.union_all([f[1] for f in feats]), place_zh, county
    boxes = [shapely.box(*layer.bbox) for layer in vectors]
    return shapely.union_all(boxes), NO_COUNTIES, None


def city_area(*, store: Store) -> tuple[BaseGeometry, str] | None:
    """The city a search without a county looks in (EPSG:4490) and its name in a refusal:
    the union of the administrative boundary layer's counties (本市行政区划范围), or the
    layers' extent without such a layer (全部图层的范围); None without a vector layer."""
    vectors = [layer for layer in current_layers(store=store) if not layer.is_raster]
    if not vectors:
        return None
    area, place_zh, _ = _area_of_interest(vectors, None, store=store)
    return area, "全部图层的范围" if place_zh == NO_COUNTIES else "本市行政区划范围"


def _arrays(layer: LayerInfo, store: Store) -> tuple[Any, Any, Any]:
    """A small layer's ids, classes and geometries (the portable read of every engine)."""
    arrays = load_features(layer, store=store)
    return arrays.fids, arrays.klass, arrays.geoms


def _inside_required(vectors: list[LayerInfo], aoi: BaseGeometry, industry: IndustryRules,
                     *, store: Store) -> tuple[BaseGeometry, str, list[BaseGeometry]]:
    """The area a site must lie inside (urban boundary when required), its words, the seats."""
    urban = [layer for layer in vectors if rule_of(layer.kind) == "urban_boundary"]
    pieces = [g for layer in urban
              for g in store.backend.class_unions(layer, aoi, store=store).values()]
    inside = shapely.union_all(pieces) if pieces else EMPTY
    parts = [p for p in shapely.get_parts(inside)] if pieces else []
    big = max((p.area for p in parts), default=0.0)
    seats = [p.centroid for p in parts if p.area >= big * 0.05] or [aoi.centroid]
    required = [layer for layer in urban if industry.modes.get(layer.kind) == "required"]
    if not required:
        return aoi, "范围内", seats
    need = shapely.union_all([g for layer in required for g in
                              store.backend.class_unions(layer, aoi, store=store).values()]
                             or [EMPTY])
    return need, URBAN_SCOPE_ZH, seats


def _status_of(layer: LayerInfo, rule: str, klass: str | None, industry: IndustryRules,
               rules: Rules) -> tuple[str, str, Status]:
    """(key, title, status) of one class of a layer for this industry."""
    if rule == "no_overlap":
        return layer.kind, layer.title, industry.on_overlap.get(layer.kind, "conflict")
    if rule == "water_levels":
        lvl = water_level(klass)
        key = f"{layer.kind}_{lvl}"
        return key, WATER_LEVEL_ZH[lvl], industry.on_overlap.get(key, "conflict")
    if rule == "land_use" and not suits(klass, industry.suitable_landuse):
        return layer.kind, f"不符合{industry.title.removesuffix('项目')}用途的用途分区", \
            rules.zoning_unsuitable
    return layer.kind, layer.title, "ok"


def _constraints(layer: LayerInfo, rule: str, unions: dict[str | None, BaseGeometry],
                 industry: IndustryRules, rules: Rules, config: SearchConfig
                 ) -> list[Constraint]:
    grouped: dict[tuple[str, str, Status], list[BaseGeometry]] = {}
    for klass, geom in unions.items():
        what = _status_of(layer, rule, klass, industry, rules)
        if what[2] in ("conflict", "conditional"):
            grouped.setdefault(what, []).append(geom)
    out = []
    for (key, title, status), geoms in grouped.items():
        geom = shapely.union_all(geoms)
        buffer = config.buffers.get(key, 0.0)
        if buffer > 0:
            geom = shapely.buffer(geom, buffer, quad_segs=4)
        out.append(Constraint(key=key, title=title, status=status, geometry=geom,
                              buffer_m=buffer))
    return out


def _assemble(epsg: int, county: str | None, aoi_geo: BaseGeometry, place_zh: str,
              scope: BaseGeometry,
              scope_zh: str, constraints: list[Constraint], park: BaseGeometry,
              suitable: BaseGeometry | None, seats: list[BaseGeometry],
              all_layers: list[LayerInfo]) -> Region:
    excluded = [c.geometry for c in constraints if c.status == "conflict"]
    marked = [c.geometry for c in constraints if c.status == "conditional"]
    allowed = _snap(polygonal(shapely.difference(scope, shapely.union_all(excluded)))
                    if excluded else scope)
    present = {layer.kind for layer in all_layers}
    missing = [kinds().kinds[k].title for k in kinds().missing("required") if k not in present]
    notes = [f"图层库中没有{t}图层，候选地块的审查结论至多为有条件通过" for t in missing]
    if missing:
        conditional = allowed
    else:
        conditional = _snap(polygonal(shapely.intersection(allowed, shapely.union_all(marked)))
                            if marked else EMPTY)
    return Region(epsg=epsg, county=county, area_geo=aoi_geo, place_zh=place_zh, scope=scope,
                  scope_zh=scope_zh, allowed=allowed, conditional=conditional, park=park,
                  suitable=suitable, seats=seats, constraints=constraints, notes_zh=notes)
