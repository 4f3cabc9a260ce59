"""Storing projects: create (with a generated code), read, list, revise, tag.

Every write is one transaction with its audit row (``project`` = the code). Codes are
``<prefix>-<year>-<seq>`` (``LC-2026-0001``): the next number of the year, inserted
under a unique constraint; two writers that pick the same number at once (PostgreSQL)
make one of them fail and try again with the next.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc, today_cn, utc
from blueprint.analysis.projects.config import load_settings
from blueprint.analysis.projects.model import (
    EXITED,
    INVESTOR_TYPES,
    LEVELS,
    ORIGINS,
    PLANNED,
    STAGE_ZH,
    Project,
    ProjectInput,
    SiteParcel,
)
from blueprint.analysis.quota.balances import county_name
from blueprint.analysis.quota.common import check_county
from blueprint.analysis.quota.kinds import resolve_kind, to_units
from blueprint.analysis.rules import Rules, load_rules
from blueprint.analysis.site import Site, check_site_vettable
from blueprint.analysis.site_county import require_site_in_county
from blueprint.layers.engine.registry import backend_of
from blueprint.layers.errors import BadInput, IllegalTransition, NotAllowed, NotFound
from blueprint.layers.inputs import field_zh
from blueprint.layers.schema import project_sites, project_stages, project_tags, projects
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User

STAFF_ROLES = ("nr_staff", "city_quota_manager", "county_quota_manager")
ATTEMPTS = 20


def require_staff(user: User, county: str, *, store: Store) -> None:
    """Project staff (natural resources, quota managers, admin); county users only for
    their own county (a refusal names it as they know it, read from ``store`` then)."""
    user.require(*STAFF_ROLES)
    if user.role != "admin" and user.county and user.county != county:
        raise NotAllowed(f"user {user.name!r} acts only for county {user.county}, not {county}",
                         message_zh=f"用户“{user.name}”只能办理本县"
                                    f"（{county_name(user.county, store=store)}）的项目")


def _choice(value: str, allowed: dict[str, str], where: str) -> str:
    if value not in allowed:
        raise BadInput(f"{where} {value!r} is not one of {', '.join(allowed)}",
                       message_zh=f"{where} 取值无效，可选：{'、'.join(allowed.values())}",
                       where=where)
    return value


def _text(value: str | None, where: str, required: bool = True) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise BadInput(f"{where} is required", message_zh=f"请填写{field_zh(where)}",
                       where=where)
    if len(text) > 200:
        raise BadInput(f"{where} is longer than 200 characters", where=where,
                       message_zh=f"{field_zh(where)}超过 200 字")
    return text or None


# An amount of a project (亿元, 万美元): at most the API's bound and PLACES decimal places,
# so that its text fits the column (40 characters) on both engines.
MAX_AMOUNT, PLACES = Decimal(10) ** 12, 6
STEP = Decimal(10) ** -PLACES


def _decimal(value: Any, where: str, positive: bool = True) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        number = Decimal("NaN")
    if not number.is_finite():
        raise BadInput(f"{where} must be a decimal number, not {str(value)[:40]!r}",
                       message_zh=f"{field_zh(where)}须为数字，如 8.5（不带单位和逗号），"
                                  f"而非“{str(value)[:40]}”", where=where)
    if number < 0 or (positive and number == 0):
        raise BadInput(f"{where} must be a positive decimal number, not {str(value)[:40]!r}",
                       message_zh=f"{field_zh(where)}必须是正数", where=where)
    if number > MAX_AMOUNT:
        raise BadInput(f"{where} {str(value)[:40]} is implausibly large (at most {MAX_AMOUNT})",
                       message_zh=f"{field_zh(where)}“{str(value)[:40]}”过大", where=where)
    if number != number.quantize(STEP):
        raise BadInput(f"{where} {str(value)[:40]} has more than {PLACES} decimal places",
                       message_zh=f"{field_zh(where)}“{str(value)[:40]}”的小数位数过多"
                                  f"（最多 {PLACES} 位）", where=where)
    exponent = number.as_tuple().exponent  # an int: the number is finite
    return number.quantize(STEP) if isinstance(exponent, int) and exponent < -PLACES else number


def check_input(data: ProjectInput) -> dict[str, Any]:
    """The column values of a project's attributes, checked (industry from the vetting
    rules, demand kinds from the quota kinds, libraries from the settings)."""
    settings = load_settings()
    demands = {}
    for kind, amount in data.demands.items():
        k = resolve_kind(kind)
        to_units(amount)  # positive, exact to the ledger's scale
        demands[k.code] = str(_decimal(amount, f"demands.{kind}"))
    unknown = [t for t in data.tags if t not in settings.libraries]
    if unknown:
        raise BadInput(f"unknown libraries {unknown}; known: {', '.join(settings.libraries)}",
                       message_zh="未知的项目库", where="tags")
    foreign = {key: None if value is None else str(_decimal(value, key, positive=False))
               for key, value in (("foreign_annual_usd", data.foreign_annual_usd),
                                  ("foreign_cash_usd", data.foreign_cash_usd))}
    return {
        "name": _text(data.name, "name"), "county": check_county(data.county),
        "level": _choice(data.level, LEVELS, "level"),
        "investor_type": _choice(data.investor_type, INVESTOR_TYPES, "investor_type"),
        "origin": _choice(data.origin, ORIGINS, "origin"),
        "industry": load_rules().industry(data.industry).code,
        "investment": str(_decimal(data.investment, "investment")),
        "newly_planned": bool(data.newly_planned), "cross_county": bool(data.cross_county),
        **foreign,
        "demands": json.dumps(demands, sort_keys=True),
        "emissions": json.dumps({str(k): float(v) for k, v in data.emissions.items()},
                                sort_keys=True),
        "responsible_unit": _text(data.responsible_unit, "responsible_unit"),
        "service_officer": _text(data.service_officer, "service_officer", required=False),
    }


def parcels_text(site: Site) -> str | None:
    """The site's parcels as given, as a project stores them (``project_sites.parcels``,
    ``projects.site_parcels``): JSON ``[{"wkb": hex WKB (EPSG:4490), "parcel_name": …,
    "land_use": …}]``, each parcel's attributes as ``Site.parcel_attributes`` holds them;
    None for a site with no parcels of its own (its outline's polygons are its parcels)."""
    import shapely

    geoms = site.parcel_geometries
    if not geoms:
        return None
    given = site.parcel_attributes if len(site.parcel_attributes) == len(geoms) else []
    return json.dumps([{"wkb": shapely.to_wkb(g, hex=True), **(given[i] if given else {})}
                       for i, g in enumerate(geoms)], ensure_ascii=False)


def parcels_of(text: str | None) -> tuple[SiteParcel, ...]:
    """The parcels :func:`parcels_text` stored (none for NULL: not kept)."""
    import shapely

    if not text:
        return ()
    return tuple(SiteParcel(shapely.from_wkb(item["wkb"]),
                            {k: str(v) for k, v in item.items() if k != "wkb"})
                 for item in json.loads(text))


def _site_row(project_id: int, version: int, site: Site, actor: str, reason: str,
              at: datetime) -> dict[str, Any]:
    import shapely

    return {"project_id": project_id, "version": version,
            "geom": shapely.to_wkb(site.geometry), "parcels": parcels_text(site),
            "name": site.name[:200], "source": site.source[:200], "area_m2": site.area_m2,
            "created_at": at, "created_by": actor, "reason": reason}


def create_project(data: ProjectInput, *, user: User, store: Store, site: Site | None = None,
                   rules: Rules | None = None, at: datetime | None = None) -> Project:
    """Plan a project (策划生成): store it with a new code, its site and libraries.

    A site the vetting under ``rules`` (the packaged ones when None) would refuse as too
    small (:func:`~blueprint.analysis.site.check_site_vettable`) is refused before anything
    is stored, not stored to be refused by the vetting that follows.

    Examples
    --------
    >>> p = create_project(ProjectInput("聊城新材料产业园", "371502", "industrial",
    ...                                 Decimal("12.5"), "东昌府区发展和改革局"),
    ...                    site=site, user=staff, store=store)  # doctest: +SKIP
    >>> p.code, p.stage  # doctest: +SKIP
    ('LC-2026-0001', 'planned')
    """
    values = check_input(data)
    require_staff(user, values["county"], store=store)
    if site is not None:
        check_site_vettable(site, (rules or load_rules()).min_overlap_m2)
    require_site_in_county(user, values["county"], site, store=store)
    at = now_utc(at)
    year, prefix = today_cn(at).year, load_settings().code_prefix
    for attempt in range(ATTEMPTS):
        try:
            with store.engine.begin() as conn:
                code = _insert(conn, values, data, site, user, prefix, year, at)
            return get_project(code, store=store)
        except sa.exc.IntegrityError:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _insert(conn: Connection, values: dict[str, Any], data: ProjectInput, site: Site | None,
            user: User, prefix: str, year: int, at: datetime) -> str:
    # The audit lock first (its row is written below anyway): creators queue for the next
    # number instead of racing for it (PostgreSQL; SQLite writers queue already), so the
    # retries above are for the unforeseen, not for every busy minute.
    backend_of(conn).lock_audit(conn)
    seq = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(projects.c.seq), 0)).where(
        projects.c.year == year)).scalar_one()) + 1
    code = f"{prefix}-{year}-{seq:04d}"
    import shapely

    project_id = conn.execute(projects.insert().values(
        code=code, year=year, seq=seq, **values, stage=PLANNED,
        site=shapely.to_wkb(site.geometry) if site else None, site_version=1 if site else 0,
        site_parcels=parcels_text(site) if site else None,
        created_at=at, created_by=user.name, updated_at=at).returning(projects.c.id)
    ).scalar_one()
    if site is not None:
        conn.execute(project_sites.insert().values(
            _site_row(project_id, 1, site, user.name, "策划生成", at)))
    for tag in dict.fromkeys(data.tags):
        conn.execute(project_tags.insert().values(project_id=project_id, tag=tag, added_at=at,
                                                  added_by=user.name))
    conn.execute(project_stages.insert().values(project_id=project_id, from_stage=None,
                                                to_stage=PLANNED, at=at, actor=user.name,
                                                reason="策划生成"))
    after = {**values, "demands": json.loads(values["demands"]), "tags": list(data.tags),
             "site_area_m2": round(site.area_m2, 2) if site else None, "stage": PLANNED}
    write_audit(conn, actor=user.name, action="project.create", obj=f"project:{code}",
                project=code, detail={"before": None, "after": after}, at=at)
    return code


def _tags(conn: Connection, ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The tags of the projects ``ids``, sorted, in one query per thousand projects."""
    found: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        for pid, tag in conn.execute(sa.select(project_tags.c.project_id, project_tags.c.tag)
                                     .where(project_tags.c.project_id.in_(chunk))
                                     .order_by(project_tags.c.tag)):
            found[pid].append(tag)
    return {i: tuple(t) for i, t in found.items()}


def _project(conn: Connection, row: Any, tags: tuple[str, ...] | None = None) -> Project:
    import shapely

    if tags is None:
        tags = _tags(conn, [row.id])[row.id]
    return Project(
        id=row.id, code=row.code, name=row.name, county=row.county, level=row.level,
        investor_type=row.investor_type, origin=row.origin, industry=row.industry,
        investment=Decimal(row.investment), newly_planned=bool(row.newly_planned),
        cross_county=bool(row.cross_county),
        foreign_annual_usd=Decimal(row.foreign_annual_usd) if row.foreign_annual_usd else None,
        foreign_cash_usd=Decimal(row.foreign_cash_usd) if row.foreign_cash_usd else None,
        demands={k: Decimal(v) for k, v in json.loads(row.demands).items()},
        emissions=json.loads(row.emissions),
        site=shapely.from_wkb(row.site) if row.site is not None else None,
        site_version=row.site_version, responsible_unit=row.responsible_unit,
        service_officer=row.service_officer, stage=row.stage, tags=tags,
        opinion_round_id=row.opinion_round_id, created_at=utc(row.created_at),
        created_by=row.created_by,
        # a query that leaves the column out did not read them (None), NULL: none kept (())
        site_parcels=parcels_of(row.site_parcels) if "site_parcels" in row._fields else None,
        updated_at=utc(row.updated_at) if "updated_at" in row._fields else None)


def load_project(conn: Connection, code: str, *, for_update: bool = False) -> Project:
    """The project ``code`` read on ``conn`` (row-locked with ``for_update`` on PostgreSQL;
    SQLite writers are serialised already), or :class:`NotFound`."""
    query = sa.select(projects).where(projects.c.code == code)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFound(f"no project {code!r}", message_zh=f"项目“{code}”不存在",
                       where="project")
    return _project(conn, row)


def get_project(code: str, *, store: Store) -> Project:
    """The project ``code`` or :class:`NotFound`."""
    with store.read() as conn:
        return load_project(conn, code)


def project_filters(county: str | None = None, stage: str | None = None,
                    tag: str | None = None, industry: str | None = None) -> list[Any]:
    """The conditions on ``projects`` of the library's filters (None: no filter)."""
    found = [column == value for column, value in (
        (projects.c.county, county), (projects.c.stage, stage),
        (projects.c.industry, industry)) if value is not None]
    if tag is not None:
        found.append(projects.c.id.in_(sa.select(project_tags.c.project_id).where(
            project_tags.c.tag == tag)))
    return found


def _filtered(query: Any, county: str | None, stage: str | None, tag: str | None,
              industry: str | None) -> Any:
    return query.where(*project_filters(county, stage, tag, industry))


def check_filters(*, store: Store, county: str | None = None, stage: str | None = None,
                  tag: str | None = None, industry: str | None = None) -> None:
    """Library filters that can match (None: no filter), else refused naming what each may
    be, not answered with an empty list: a stage, a library of the settings, an industry of
    the vetting rules, a county the city knows (:func:`~blueprint.analysis.quota.balances.
    known_county`). The API and the CLI, which take codes, are told the codes with their
    names (``message_zh``), a page the names it offers (``page_zh``)."""
    from blueprint.analysis.quota.balances import known_county

    for where, value, allowed, what in (
            ("stage", stage, STAGE_ZH, "阶段"),
            ("tag", tag, load_settings().libraries, "项目库"),
            ("industry", industry, {c: i.title for c, i in load_rules().industries.items()},
             "行业")):
        if value is not None and value not in allowed:
            refused = f"没有{what}“{value[:40]}”，可选："
            raise BadInput(f"{where} {value[:40]!r} is not one of {', '.join(allowed)}",
                           message_zh=refused + "、".join(f"{c}（{zh}）"
                                                         for c, zh in allowed.items()),
                           page_zh=refused + "、".join(allowed.values()), where=where)
    known_county(county, store=store)


def list_projects(*, store: Store, county: str | None = None, stage: str | None = None,
                  tag: str | None = None, industry: str | None = None,
                  limit: int | None = None, offset: int = 0,
                  ids: Collection[int] | None = None, sites: bool = True,
                  parcels: bool = False) -> list[Project]:
    """Projects by code, filtered by county, stage, library (tag), industry and, when
    given, their ``ids``; at most ``limit`` of them from the ``offset``-th on when given.
    The same few statements whatever the number of projects (tags are read for all of them
    at once). ``sites=False``: for a list that shows no map, each ``site`` left None, not
    read and decoded. The parcels (``site_parcels``) only with ``parcels`` (and ``sites``):
    a list's map shows the outlines; without, each project's ``site_parcels`` is None (not
    read), not ``()`` (none kept), and its ``to_dict()`` has no ``site_parcels``."""
    left = {"site", "site_parcels"} if not sites else set() if parcels else {"site_parcels"}
    columns: list[Any] = [c for c in projects.c if c.name not in left]
    if not sites:
        columns.append(sa.null().label("site"))
    query = _filtered(sa.select(*columns).order_by(projects.c.year, projects.c.seq),
                      county, stage, tag, industry)
    if ids is not None:
        query = query.where(projects.c.id.in_(list(ids)))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    with store.read() as conn:
        return [p for _, p in project_rows(conn, query)]


def project_rows(conn: Connection, query: Any) -> list[tuple[Any, Project]]:
    """The rows of ``query`` (a select of the columns of ``projects``, ``site`` as such or
    labelled so, ``site_parcels`` or not: then not read, and any more) each with its
    project, the tags read at once."""
    rows = conn.execute(query).all()
    tags = _tags(conn, [row.id for row in rows])
    return [(row, _project(conn, row, tags[row.id])) for row in rows]


def count_projects(*, store: Store, county: str | None = None, stage: str | None = None,
                   tag: str | None = None, industry: str | None = None) -> int:
    """How many projects :func:`list_projects` lists with the same filters."""
    query = _filtered(sa.select(sa.func.count()).select_from(projects), county, stage, tag,
                      industry)
    with store.read() as conn:
        return int(conn.execute(query).scalar_one())


def stage_history(code: str, *, store: Store) -> list[dict[str, Any]]:
    """Every stage change of a project: from, to, when, who, why (oldest first)."""
    with store.read() as conn:
        project = load_project(conn, code)
        rows = conn.execute(sa.select(project_stages).where(
            project_stages.c.project_id == project.id).order_by(project_stages.c.id)).all()
    return [{"from": r.from_stage, "to": r.to_stage, "at": utc(r.at), "actor": r.actor,
             "reason": r.reason} for r in rows]


def stages_reached(conn: Connection, at: datetime,
                   ids: Collection[int] | None = None) -> dict[int, list[str]]:
    """The stages each project (of ``ids`` when given) had moved to by ``at``, in the order
    of its history (``project_stages``, creation first): the last is its stage at ``at``.
    A project created after ``at`` is not in it."""
    query = sa.select(project_stages.c.id, project_stages.c.project_id,
                      project_stages.c.to_stage, project_stages.c.at)
    if ids is not None:
        query = query.where(project_stages.c.project_id.in_(sorted(ids)))
    moves = sorted(((utc(r.at), r.id, r.project_id, r.to_stage) for r in conn.execute(query)
                    if utc(r.at) <= at), key=lambda m: (m[0], m[1]))
    found: dict[int, list[str]] = {}
    for *_, project_id, stage in moves:
        found.setdefault(project_id, []).append(stage)
    return found


def revise_project(code: str, *, user: User, store: Store, reason: str,
                   data: ProjectInput | None = None, site: Site | None = None,
                   rules: Rules | None = None, at: datetime | None = None) -> Project:
    """Revise a planned project (after a 不同意, art. 11): new attributes and/or a new site
    version; the old site stays in ``project_sites``. Only in 策划生成. A site the vetting
    under ``rules`` (the packaged ones when None) would refuse as too small is refused
    before anything is stored (:func:`check_revision`)."""
    values, at = check_revision(code, user=user, store=store, reason=reason, data=data,
                                site=site, rules=rules), now_utc(at)
    with store.engine.begin() as conn:
        project = load_project(conn, code, for_update=True)
        revise_within(conn, project, user=user, store=store, reason=reason, values=values,
                      data=data, site=site, at=at)
    return get_project(code, store=store)


def check_revision(code: str, *, user: User, store: Store, reason: str,
                   data: ProjectInput | None, site: Site | None,
                   rules: Rules | None = None) -> dict[str, Any]:
    """The checks of a revision that need no write (a reason, the attributes, a site the
    vetting under ``rules`` would take (:func:`check_site_vettable`, the packaged rules when
    None), in the user's county); the column values of ``data`` (:func:`check_input`),
    ``{}`` without."""
    _require_reason(reason)
    values = check_input(data) if data is not None else {}
    if site is not None:  # read outside the write (a project's county never changes)
        county = get_project(code, store=store).county
        require_staff(user, county, store=store)  # another county's user: said as such first
        check_site_vettable(site, (rules or load_rules()).min_overlap_m2)
        require_site_in_county(user, county, site, store=store)
    return values


def revise_within(conn: Connection, project: Project, *, user: User, store: Store,
                  reason: str, values: dict[str, Any], data: ProjectInput | None,
                  site: Site | None, at: datetime) -> None:
    """The revision inside the caller's transaction, ``project`` loaded ``for_update`` on
    ``conn`` and ``values`` checked (:func:`check_revision`); audited."""
    code = project.code
    require_staff(user, project.county, store=store)
    if values and values["county"] != project.county:
        raise BadInput("a project's county cannot change", where="county",
                       message_zh="项目所属县区不能变更")
    require_revisable(project)
    values = dict(values)
    before = {k: getattr(project, k) for k in values}
    update = dict(values, updated_at=at)
    if site is not None:
        import shapely

        version = project.site_version + 1
        conn.execute(project_sites.insert().values(
            _site_row(project.id, version, site, user.name, reason, at)))
        update.update(site=shapely.to_wkb(site.geometry), site_version=version,
                      site_parcels=parcels_text(site))
        before["site_version"], values["site_version"] = project.site_version, version
    after = dict(values)
    if data is not None:  # the libraries too: the revision puts it in exactly these
        replace_tags(conn, project, data.tags, user, at)
        before["tags"], after["tags"] = list(project.tags), list(dict.fromkeys(data.tags))
        for key in ("demands", "emissions"):  # as read back, as ``before`` has them
            after[key] = json.loads(values[key])
    conn.execute(projects.update().where(projects.c.id == project.id).values(**update))
    write_audit(conn, actor=user.name, action="project.revise", obj=f"project:{code}",
                project=code, at=at, detail={"reason": reason, "before": before,
                                             "after": after})


def require_revisable(project: Project) -> None:
    """Refuse to revise a project that is not in 策划生成."""
    if project.stage != PLANNED:
        raise IllegalTransition(
            f"project {project.code} is {project.stage}: only a planned project can be "
            "revised", where="stage",
            message_zh=f"项目“{project.code}”处于“{project.stage_zh}”阶段，只有策划生成阶段的"
                       "项目可以修改（会商中的项目须先结束本轮会商）")


def revised(project: Project, values: dict[str, Any], data: ProjectInput | None,
            site: Site | None) -> Project:
    """``project`` as :func:`revise_within` leaves it with ``values`` (checked) and
    ``site``, before anything is written: what its vetting and its round's routing read."""
    changes: dict[str, Any] = {}
    if values:
        changes = {k: v for k, v in values.items() if k not in _COLUMNS_READ}
        changes.update({key: read(values[key]) for key, read in _COLUMNS_READ.items()})
    if data is not None:
        changes["tags"] = tuple(dict.fromkeys(data.tags))
    if site is not None:
        changes.update(site=site.geometry, site_version=project.site_version + 1,
                       site_parcels=parcels_of(parcels_text(site)))
    return replace(project, **changes)


# the columns whose stored text a project holds as read back (:func:`_project`)
_COLUMNS_READ: dict[str, Any] = {
    "investment": Decimal,
    "foreign_annual_usd": lambda v: Decimal(v) if v else None,
    "foreign_cash_usd": lambda v: Decimal(v) if v else None,
    "demands": lambda v: {k: Decimal(x) for k, x in json.loads(v).items()},
    "emissions": json.loads,
}


def replace_tags(conn: Connection, project: Project, tags: Iterable[str], user: User,
                 at: datetime) -> None:
    """Put ``project`` in exactly these libraries, inside the caller's transaction (the caller
    checks the stage and writes the audit row: project revision, ``set_tags``, a quarterly
    adjustment). A write of the project: its ``updated_at`` is ``at``, so a revision
    prepared before it is refused (a revision puts the project in its own libraries)."""
    conn.execute(projects.update().where(projects.c.id == project.id).values(updated_at=at))
    conn.execute(project_tags.delete().where(project_tags.c.project_id == project.id))
    for tag in dict.fromkeys(tags):
        conn.execute(project_tags.insert().values(project_id=project.id, tag=tag, added_at=at,
                                                  added_by=user.name))


def set_tags(code: str, tags: Iterable[str], *, user: User, store: Store, reason: str,
             at: datetime | None = None) -> Project:
    """Put a project in exactly these libraries (art. 6), any stage but 调出."""
    _require_reason(reason)
    tags, at = tuple(dict.fromkeys(tags)), now_utc(at)
    settings = load_settings()
    unknown = [t for t in tags if t not in settings.libraries]
    if unknown:
        raise BadInput(f"unknown libraries {unknown}", message_zh="未知的项目库", where="tags")
    with store.engine.begin() as conn:
        project = load_project(conn, code, for_update=True)
        require_staff(user, project.county, store=store)
        if project.stage == EXITED:
            raise IllegalTransition(f"project {code} has exited the library",
                                    message_zh=f"项目“{code}”已调出项目库", where="stage")
        replace_tags(conn, project, tags, user, at)
        write_audit(conn, actor=user.name, action="project.tags", obj=f"project:{code}",
                    project=code, at=at, detail={"reason": reason,
                                                 "before": list(project.tags),
                                                 "after": list(tags)})
    return get_project(code, store=store)


def _require_reason(reason: str) -> None:
    if not (reason or "").strip():
        raise BadInput("a reason is required", message_zh="必须填写事由", where="reason")
