"""Rendering the server-side pages: Jinja templates in ``web/templates`` and folium maps
embedded in them (their scripts and stylesheets from ``/static/vendor``, no CDN)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import folium
from branca.element import Figure
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from blueprint.analysis.clock import shown_cn
from blueprint.analysis.consultation.records import days_left_zh
from blueprint.analysis.consultation.workdays import is_provisional
from blueprint.layers.errors import BlueprintError
from blueprint.layers.inputs import whole
from blueprint.layers.sessions import Session
from blueprint.layers.users import ROLES, actor_zh
from blueprint.web.map_page import zoomable

TEMPLATES = Path(__file__).resolve().parent / "templates"
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                   trim_blocks=True, lstrip_blocks=True)
# a deadline counted before the year's holiday notice was in the calendar package: 暂定
_ENV.globals["is_provisional"] = is_provisional
_ENV.globals["days_left_zh"] = days_left_zh


_ENV.filters["china_time"] = shown_cn  # stored moments, read in China time
_ENV.filters["actor_zh"] = actor_zh  # who did it: 命令行（root）, not cli:root


def _may_read_audit(user: Any) -> bool:
    """Whether the header links 审计日志: the page's own rule (``check_reader``)."""
    from blueprint.analysis.audit_view import check_reader
    from blueprint.layers.errors import NotAllowed

    try:
        check_reader(user)
    except NotAllowed:
        return False
    return True


_ENV.globals["may_read_audit"] = _may_read_audit


@dataclass(frozen=True)
class PageContext:
    """What every page needs: the app's root path and the session (None: anonymous)."""

    base: str
    session: Session | None
    department_zh: str = ""  # the Chinese name of the signed-in user's department, if any
    county_zh: str = ""  # the name of the signed-in user's county (县区), if any

    @property
    def user(self) -> Any:
        """The signed-in user, or None."""
        return self.session.user if self.session else None


def _header_values(ctx: PageContext) -> dict[str, Any]:
    """What the pages' header (``_nav.html``, ``_who.html``) shows."""
    return {"base": ctx.base, "user": ctx.user,
            "role_zh": ROLES.get(ctx.user.role, "") if ctx.user else "",
            "csrf": ctx.session.csrf if ctx.session else "",
            "department_zh": ctx.department_zh, "county_zh": ctx.county_zh,
            "must_change_password": bool(ctx.session and ctx.session.must_change_password)}


def page(ctx: PageContext, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    """A whole page from a template, never cached (it shows a user's own data)."""
    html = _ENV.get_template(template).render(**_header_values(ctx), **values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def header_parts(ctx: PageContext, sign_in: str) -> str:
    """The pages' links and who is signed in (or a 登录 link back to ``sign_in``), as the
    pages' header has them: for the map, whose panel stands in for the header."""
    values = {**_header_values(ctx), "nav_id": "bp-pages-nav", "sign_in": sign_in}
    return "".join(_ENV.get_template(name).render(**values)
                   for name in ("_nav.html", "_who.html"))


def shortened(value: str, limit: int = 40) -> str:
    """A value from an address or a form as a page repeats it: at most ``limit``
    characters, then …, so that a pasted page of text does not fill the message.

    >>> shortened("abc"), shortened("x" * 41)[-3:], len(shortened("x" * 41))
    ('abc', 'xx…', 41)
    """
    return value if len(value) <= limit else value[:limit] + "…"


def readable_where(where: str | None) -> str | None:
    """What of an error's ``where`` a person can use: a file's name or Chinese text, not a
    form field's or an account's code (``amount``, ``csrf``, ``2026/new_construction_land``).

    >>> [readable_where(w) for w in ("条件.txt", "bad.zip", "amount", "2026/land", None)]
    ['条件.txt', 'bad.zip', None, None, None]
    """
    if not where or (where.isascii() and not re.search(r"\.[A-Za-z0-9]{1,5}$", where)):
        return None
    return where


def page_of(asked: str | None, total: int, size: int) -> tuple[int, int]:
    """The page to show of a list of ``total`` rows, ``size`` a page, and how many pages
    there are: ``?page=`` as asked, the last page when asked beyond it, the first when the
    value is not a page number (``0``, ``00``, ``x``, ``²``). A number of more digits than any
    page count has is beyond the last page, however long (``int()`` reads 4300 at most).

    >>> page_of("3", 120, 50), page_of("99", 120, 50), page_of("²", 120, 50), page_of(None, 0, 50)
    ((3, 3), (3, 3), (1, 3), (1, 1))
    >>> page_of("00", 120, 50), page_of("9" * 5000, 120, 50)
    ((1, 3), (3, 3))
    """
    pages = max(1, (total + size - 1) // size)
    asked = str(asked or "1")
    if not asked.isdecimal():
        return 1, pages
    number = whole(asked)
    number = pages if number is None else number  # more digits than any page count
    return (min(number, pages) if number > 0 else 1), pages


def error_page(ctx: PageContext, exc: BlueprintError, status: int, back: str) -> HTMLResponse:
    """A refused or failed action, in Chinese, with the way back."""
    return page(ctx, "error.html", status=status, message_zh=exc.page_zh,
                message=exc.message, where=readable_where(exc.where), back=back)


@dataclass(frozen=True)
class Refusal:
    """A form the page policy or the core refused, to show again on its own page: the reason
    (``error``, said above the form), the page's HTTP status, what the user filled in
    (``kept``), which form of the page it was (``form``: a name or an item's id) and what
    the page could not keep (``note``, said after the reason: a chosen file)."""

    error: BlueprintError
    status: int
    kept: dict[str, Any] = field(default_factory=dict)
    form: str | int | None = None
    note: str = ""

    @property
    def message_zh(self) -> str:
        """The reason in Chinese as a page says it (:attr:`BlueprintError.page_zh`), and the
        note after it."""
        if not self.note:
            return self.error.page_zh
        return f"{self.error.page_zh.rstrip('。')}。{self.note}"


def kept_fields(form: Any, names: Iterable[str]) -> dict[str, str]:
    """The fields ``names`` of a posted form as the user filled them in (blank: "")."""
    return {name: str(form.get(name) or "") for name in names}


def page_again(ctx: PageContext, refusal: Refusal, back: str,
               show: Callable[[Refusal], HTMLResponse]) -> HTMLResponse:
    """The page of a refused form again (``show``: the reason above the form, what was
    filled in kept), or the error page with the way ``back`` when that page cannot show the
    form (``show`` raises a :class:`BlueprintError`: the form is not on it for this user, or
    the page itself is refused)."""
    try:
        return show(refusal)
    except BlueprintError:
        return error_page(ctx, refusal.error, refusal.status, back)


@dataclass(frozen=True)
class EmbeddedMap:
    """A folium map split for a template: its head tags, its ``<div>`` and its script."""

    head: str
    html: str
    script: str
    name: str


def embed(fmap: folium.Map) -> EmbeddedMap:
    """Render a folium map into the three parts a page template places."""
    figure = fmap.get_root()
    assert isinstance(figure, Figure)
    figure.render()
    return EmbeddedMap(head=zoomable(figure.header.render()), html=figure.html.render(),
                       script=figure.script.render(), name=fmap.get_name())
