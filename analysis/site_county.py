"""Which counties a site lies in: the administrative boundary layer against the site.

Used where a site is filed under a county (a project): a county's staff may file only a
site in their county, and city staff are offered the county holding most of the site.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from blueprint.analysis.counties import admin_counties, admin_layers
from blueprint.analysis.overlay import overlay_site
from blueprint.analysis.quota.balances import county_name
from blueprint.analysis.site import Site
from blueprint.layers.catalogue_cache import current_layers
from blueprint.layers.errors import BadInput, NotAllowed, UnknownCRS
from blueprint.layers.repository import LayerInfo, layers_as_of
from blueprint.layers.store import Store
from blueprint.layers.users import User


@dataclass(frozen=True)
class SiteCounty:
    """One county a site overlaps: its code, name and the overlap (m², planar)."""

    code: str
    name: str
    area_m2: float


def site_counties(site: Site, *, store: Store,
                  as_of: datetime | None = None) -> list[SiteCounty]:
    """The counties of the administrative layer that ``site`` overlaps, most area first
    (empty without such a layer, or for a site wholly outside the city).

    ``as_of``: among the layer's versions current then
    (:func:`~layers.repository.layers_as_of`, what a vetting as of then reads).

    Examples
    --------
    >>> [c.code for c in site_counties(read_site("01_park_clean.txt"),
    ...                                store=store)]  # doctest: +SKIP
    ['371502']
    """
    return _counties_in(site, admin_layers(_catalogue(store, as_of)), store)


def _counties_in(site: Site, admin: list[LayerInfo], store: Store) -> list[SiteCounty]:
    """:func:`site_counties` among the administrative layers ``admin``."""
    if not admin:
        return []
    hits = [h for o in overlay_site(site.geometry, site.zone_epsg, admin, store=store)
            for h in o.hits]
    by_code: dict[str, SiteCounty] = {}
    for h in hits:
        old = by_code.get(h.fid)
        by_code[h.fid] = SiteCounty(h.fid, h.klass or h.fid,
                                    h.area_m2 + (old.area_m2 if old else 0.0))
    return sorted(by_code.values(), key=lambda c: -c.area_m2)


def _catalogue(store: Store, as_of: datetime | None) -> Sequence[LayerInfo]:
    """The layers current at ``as_of`` (now when None)."""
    if as_of is not None:
        return layers_as_of(as_of, store=store)
    return current_layers(store=store)


def site_county(site: Site, *, store: Store) -> str:
    """The code of the county holding most of ``site``: a project's county by default.
    Raises :class:`BadInput` when the site lies in no county of the city."""
    counties = site_counties(site, store=store)
    if not counties:
        raise BadInput("the site lies in no county of the city: choose the county",
                       message_zh="地块不在本市任何县区内，请选择所在县区", where="county")
    return counties[0].code


def default_county(user: User, site: Site | None, *, store: Store) -> str:
    """The county a new project is filed under when none is given: a county user's own
    (:func:`require_site_in_county` then refuses a site outside it), else the county
    holding most of ``site`` (:func:`site_county`). Raises :class:`BadInput` without a
    site to take it from."""
    if user.county:
        return user.county
    if site is None:
        raise BadInput("county is required for a project without a site", where="county",
                       message_zh="没有地块时须指定项目所在县区")
    return site_county(site, store=store)


def require_site_in_county(user: User, county: str, site: Site | None, *,
                           store: Store) -> None:
    """Refuse a county's staff a site that lies in the city but not in their county (a
    site partly in it is in it, as the vetting says): their projects are their county's.
    City-level users and administrators may file any site under any county."""
    if site is None or not user.county or user.is_city_level or user.role == "admin":
        return
    counties = site_counties(site, store=store)
    if not counties or county in {c.code for c in counties}:
        return
    names = "、".join(f"{c.name}（{c.code}）" for c in counties)
    raise NotAllowed(
        f"the site lies in {', '.join(c.code for c in counties)}, not in county {county}: "
        f"user {user.name!r} files projects of county {county} only",
        message_zh=f"地块位于{names}，不在本县区（{county_name(county, store=store)}）内："
                   "县区工作人员只能保存本县区的项目，请由市级工作人员或地块所在县区办理",
        where="site")


def require_in_city(site: Site, *, store: Store, as_of: datetime | None = None) -> None:
    """Refuse a site (pasted boundary points) with no part in the city: coordinates of
    another place, or read in the wrong coordinate system. Without an administrative layer
    nothing can be said, and nothing is refused.

    ``as_of``: the city as the layer's versions current then drew it (a vetting as of
    then is checked against the boundary it vets against)."""
    admin = admin_layers(_catalogue(store, as_of))  # the catalogue read once for both
    if not admin or _counties_in(site, admin, store):
        return
    west, south, east, north = site.geometry.bounds
    where = f"{west:.5f}, {south:.5f} – {east:.5f}, {north:.5f}"
    raise UnknownCRS(
        f"the points ({where}, longitude/latitude) lie outside the city's counties: check "
        "the coordinates and the coordinate system chosen",
        message_zh=f"界址点（换算为经纬度：{where}）不在本市行政区划范围内，请检查坐标和所选"
                   "坐标系", where=site.source)


LISTED = 30  # counties a refusal of an unknown county lists at most
_CODE = re.compile(r"[0-9A-Za-z_-]+")


def county_code(county: str, named: dict[str, str], *, where: str = "county") -> str:
    """The code of ``county``, given by its code or its name (东昌府区) among ``named``
    (code → name, the administrative boundary layer's); refused otherwise, listing the
    counties there are with their names.

    >>> county_code("阳谷县", {"371502": "东昌府区", "371521": "阳谷县"})
    '371521'
    """
    text = county.strip()
    if text in named:
        return text
    by_name = [code for code, name in named.items() if name == text]
    if len(by_name) == 1:
        return by_name[0]
    what_zh = f"县区代码“{text}”" if _CODE.fullmatch(text) else f"名为“{text}”的县区"
    if by_name:  # two counties of one name: the code tells them apart
        what_zh = f"唯一名为“{text}”的县区（有 {len(by_name)} 个，请填县区代码）"
    raise BadInput(f"no county {text!r} in the administrative boundary layer (a code or a "
                   f"name); known: {', '.join(list(named)[:LISTED])}",
                   message_zh=f"行政区划图层中没有{what_zh}{known_zh(named)}", where=where)


def known_zh(named: dict[str, str]) -> str:
    """The counties there are, with their names: ``，可选：371502（东昌府区）、…``."""
    if not named:
        return ""
    listed = "、".join(f"{code}（{name}）" if name and name != code else code
                      for code, name in list(named.items())[:LISTED])
    more = f" 等 {len(named)} 个" if len(named) > LISTED else ""
    return f"，可选：{listed}{more}（填县区代码或名称）"


def resolve_county(county: str | None, *, store: Store, where: str = "county",
                   catalogue: Sequence[LayerInfo] | None = None,
                   as_of: datetime | None = None) -> str | None:
    """``county`` (a code or a name) as the code of a county of the administrative boundary
    layer (:func:`county_code` among :func:`analysis.counties.admin_counties`); None stays
    None. Without such a layer there is nothing to check it against, and it is taken as
    given.

    ``catalogue``: the current layers, where the caller has listed them; else the current
    catalogue as the vetting keeps it (:func:`~layers.catalogue_cache.current_layers`).
    ``as_of``: the layer versions current then instead
    (:func:`~layers.repository.layers_as_of`, what :func:`~analysis.vetting.vet_site`
    reads for a request ``as_of`` then): a past vetting's county is one of the counties
    the layer named then. The counties' names are read once per version of the layer (a
    site check with a county asks on every request)."""
    if county is None:
        return None
    if as_of is not None or catalogue is None:
        catalogue = _catalogue(store, as_of)
    if not admin_layers(catalogue):
        return county
    return county_code(county, admin_counties(store=store, catalogue=catalogue), where=where)
