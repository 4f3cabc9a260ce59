"""The project forms' fields: a :class:`ProjectInput` from the new-project and revise forms
(the attributes the API's ``ProjectAttrs`` takes, emissions as pollutant → t/a), the form's
values of a stored project, and a site from the form (drawn on the map as GeoJSON, or an
uploaded file in any format ``blueprint vet`` reads)."""

from __future__ import annotations

import json
import math
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from blueprint.analysis.capacity import POLLUTANT_NAMES_ZH, pollutant
from blueprint.analysis.projects import Project, ProjectInput
from blueprint.analysis.quota.kinds import KINDS
from blueprint.analysis.site import Site, SiteLimits, read_site, site_from_geojson
from blueprint.layers.crs import PAGE_ADVICE
from blueprint.layers.errors import BadInput, InvalidFile
from blueprint.layers.safe_open import saved_name

ATTRIBUTES = ("name", "county", "industry", "investment", "responsible_unit", "level",
              "investor_type", "origin", "service_officer", "foreign_annual_usd",
              "foreign_cash_usd")
FLAGS = {"newly_planned": "新谋划项目", "cross_county": "跨县区项目"}


def _decimal(value: Any, where: str, label: str) -> Decimal | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise BadInput(f"{where} is not a number: {text!r}", where=where,
                       message_zh=f"{label}须为数字，如 8.5（不带单位和逗号）")
    return number


def _emissions(form: Any) -> dict[str, float]:
    """``emission_SO2`` … fields → pollutant → t/a (blank fields left out)."""
    out: dict[str, float] = {}
    for code, title in POLLUTANT_NAMES_ZH.items():
        text = str(form.get(f"emission_{code}") or "").strip()
        if not text:
            continue
        try:
            amount = float(text)
        except ValueError:
            amount = math.nan
        if not math.isfinite(amount) or amount < 0:
            raise BadInput(f"emission_{code} must be a number of tonnes, not {text!r}",
                           where=f"emission_{code}", message_zh=f"{title}排放量须为非负数（吨/年）")
        out[pollutant(code)] = amount
    return out


def project_input(form: Any, libraries: dict[str, str]) -> ProjectInput:
    """A :class:`ProjectInput` from the project form's fields."""
    demands = {code: amount for code in KINDS
               if (amount := _decimal(form.get(f"demand_{code}"), f"demand_{code}",
                                      KINDS[code].title)) is not None}
    return ProjectInput(
        name=str(form.get("name", "")), county=str(form.get("county", "")),
        industry=str(form.get("industry", "")),
        investment=_decimal(form.get("investment"), "investment", "总投资") or Decimal(0),
        responsible_unit=str(form.get("responsible_unit", "")),
        level=str(form.get("level", "county")),
        investor_type=str(form.get("investor_type", "private")),
        origin=str(form.get("origin", "social")), demands=demands,
        emissions=_emissions(form),
        newly_planned=form.get("newly_planned") == "1",
        cross_county=form.get("cross_county") == "1",
        foreign_annual_usd=_decimal(form.get("foreign_annual_usd"), "foreign_annual_usd",
                                    "年度实际使用外资"),
        foreign_cash_usd=_decimal(form.get("foreign_cash_usd"), "foreign_cash_usd",
                                  "年度外资现汇进资"),
        service_officer=str(form.get("service_officer", "")).strip() or None,
        tags=tuple(t for t in form.getlist("tags") if t in libraries))


def form_values(form: Any) -> dict[str, Any]:
    """What the user typed, to show the form again after an error."""
    values: dict[str, Any] = {k: form.get(k) for k in form
                              if k not in ("csrf", "site_file", "site_kept")}
    values["tags"] = form.getlist("tags")
    return values


def project_values(project: Project) -> dict[str, Any]:
    """The form's values of a stored project (the revise form starts from them)."""
    values: dict[str, Any] = {k: getattr(project, k) for k in ATTRIBUTES}
    values.update({f"demand_{k}": v for k, v in project.demands.items()})
    values.update({f"emission_{k}": v for k, v in project.emissions.items()})
    values.update({k: "1" for k in FLAGS if getattr(project, k)})
    values["tags"] = list(project.tags)
    return {k: ("" if v is None else v) for k, v in values.items()}


# a refused form whose chosen site file was read: a browser cannot keep it
FILE_AGAIN = "所选的地块文件未能保留，请重新选择后再提交。"
# the most a kept site may be as text: a form's field is refused past 1 MiB (Starlette)
KEPT_SITE_BYTES = 1_000_000


def chosen_file(form: Any, name: str) -> Any:
    """The file chosen in the form's file field ``name``, or None when none was chosen."""
    upload = form.get(name)
    if upload is None or isinstance(upload, str) or not upload.filename:
        return None
    return upload


def from_file(form: Any) -> bool:
    """Whether the form's site is a file's: one chosen now, or one read before and kept
    (``site_source``, the file's name, beside the site in ``site``)."""
    return chosen_file(form, "site_file") is not None or bool(
        str(form.get("site_source") or "").strip())


def site_text(site: Site) -> str:
    """``site`` as the text of a form's field ``site``: a GeoJSON FeatureCollection in
    EPSG:4490 (lon/lat), a feature per parcel named as the site, with what the parcel said
    of itself (its name, its land use: kept with the project), read back whole."""
    import shapely.geometry

    parts = site.parcel_geometries or [site.geometry]
    given = site.parcel_attributes if len(site.parcel_attributes) == len(parts) else []
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": site.name, **(given[i] if given else {})},
         "geometry": shapely.geometry.mapping(part)} for i, part in enumerate(parts)]},
        ensure_ascii=False)


def keep_site(values: dict[str, Any], site: Site) -> str:
    """Keep a site read from a file in a refused form's ``values`` — the site as GeoJSON
    (``site``), the file's name (``site_source``) and what the form says (``site_kept``) —
    so that the form sent again needs no file; the note to say after the reason
    (:data:`FILE_AGAIN` when the site is too large to keep in a form's field)."""
    text = site_text(site)
    if len(text.encode()) > KEPT_SITE_BYTES:
        return FILE_AGAIN
    note = (f"已读取地块文件“{site.source}”（{site.parcels} 个地块），无需重新选择；"
            "如需更换请重新选择文件。")
    values.update(site=text, site_source=site.source, site_kept=note)
    return note


async def site_from_form(form: Any, settings: Any, name: str) -> Site | None:
    """The site of a form: an uploaded file (``site_file``, with ``crs``) or a drawn one
    (``site``, GeoJSON); None when the form has neither. A site kept from a file read
    before (``site_source``, see :func:`keep_site`) is sent back by the browser like a
    drawn one and checked as one; a file chosen now wins over it."""
    limits = SiteLimits.of(settings)
    upload = chosen_file(form, "site_file")
    if upload is not None:
        crs = str(form.get("crs") or "").strip() or None
        return await read_upload(upload, crs, settings, limits)
    source = shown_name(str(form.get("site_source") or "").strip())
    site = await drawn_site(str(form.get("site") or ""), limits, name=name, where="site",
                            message_zh="保留的地块数据无效，请重新选择地块文件" if source
                            else "地块数据无效，请在地图上重新绘制")
    if site is not None and source:
        site.source = source
    return site


def shown_name(filename: str) -> str:
    """A file's name as a page shows it and a site records it: no folders, at most 200
    characters ("" for none)."""
    return Path(filename.replace("\\", "/")).name[:200] if filename else ""


async def drawn_site(text: str, limits: SiteLimits, *, name: str, where: str,
                     message_zh: str) -> Site | None:
    """A site drawn on a page's map (a form field of GeoJSON text, ``where``), within
    ``limits``, built off the event loop (a large one takes a fifth of a second); None when
    the field is empty. Text that is no JSON object is refused with ``message_zh``."""
    from fastapi.concurrency import run_in_threadpool

    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # nesting deeper than the parser goes
        raise BadInput(f"the {where} is not GeoJSON", where=where,
                       message_zh=message_zh) from None
    if not isinstance(value, dict):
        raise BadInput(f"the {where} is not a GeoJSON object", where=where,
                       message_zh=message_zh)
    return await run_in_threadpool(site_from_geojson, value, name=name, limits=limits,
                                   field=where)


async def read_upload(upload: Any, crs: str | None, settings: Any, limits: SiteLimits
                      ) -> Site:
    """An uploaded file (any format ``blueprint vet`` reads, ``crs`` when it has none) as a
    site, within the upload size and the site limits of the settings."""
    from fastapi.concurrency import run_in_threadpool

    shown = Path(str(upload.filename).replace("\\", "/")).name or "upload"
    data = await upload.read(settings.max_upload_mb * 1024 * 1024 + 1)
    if not data:
        raise InvalidFile("the upload is empty", message_zh="上传文件为空", where=shown)
    if len(data) > settings.max_upload_mb * 1024 * 1024:
        raise InvalidFile(f"the upload is larger than {settings.max_upload_mb} MB",
                          where=shown, message_zh=f"上传文件超过 {settings.max_upload_mb} MB")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / saved_name(shown, "upload.txt")
        path.write_bytes(data)
        site = await run_in_threadpool(read_site, path, crs=crs, limits=limits,
                                       file_limits=settings.file_limits(),
                                       advice=PAGE_ADVICE)
    site.source = shown
    return site
