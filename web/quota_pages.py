"""The quota dashboard ``/quota`` (signed in): choropleth, county card, movements with
exports, and the operations a role allows, each confirmed before it is posted; the core
rehearses an operation before its confirmation is shown (``rehearse``: nothing written),
so what it would refuse after the confirmation is refused before it.

City-level users see every county; a user with a county (a county quota manager) sees
only that one. The operations go to the same core functions as the CLI and the API, with
the signed-in user: the core decides who may do what, and its refusals come back as the
Chinese error page with the API's status.
"""

import uuid
from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from blueprint.analysis import quota
from blueprint.analysis.clock import (
    bound_utc,
    parse_day_or_time,
    today_cn,
)
from blueprint.analysis.downloads import content_disposition
from blueprint.analysis.projects import count_projects, get_project, list_projects
from blueprint.analysis.quota.balance_page import balance_page
from blueprint.analysis.quota.balances import (
    counties,
    known_county,
    ledger_years,
    named_projects,
)
from blueprint.analysis.quota.common import check_year, guard_project
from blueprint.analysis.quota.corrections import refuse_reversed
from blueprint.analysis.quota.dashboard import county_cards, sees_all_counties
from blueprint.analysis.quota.exports import MEDIA_TYPES, export_chunks, export_filename
from blueprint.analysis.quota.history import OP_ZH, OPS
from blueprint.analysis.quota.kinds import KINDS, resolve_kind, to_units
from blueprint.layers.errors import BadInput, BlueprintError, Conflict, NotFound
from blueprint.layers.features import features_in_bbox
from blueprint.layers.inputs import CODE_LEN, MAX_ID, NAME_LEN, check_text
from blueprint.layers.repository import list_layers
from blueprint.layers.store import Store
from blueprint.layers.users import User, actor_stored, actor_zh
from blueprint.web.form_fields import check_form
from blueprint.web.quota_view import RAMP, bar_chart, choropleth, effect_zh
from blueprint.web.render import (
    PageContext,
    Refusal,
    embed,
    error_page,
    page,
    page_again,
    page_of,
    shortened,
)
from blueprint.web.session import check_csrf

PAGE_SIZE = 50
PROJECT_CHOICES = 200  # the newest projects a form's project field offers (any code is typed)
MAX_PAGE = 100_000  # a page number beyond any ledger (a typed one stays a number SQL takes)
FILTERS = ("county", "project", "op", "since", "until", "actor")
OPERATIONS = ("hold", "allocate", "lend", "repay", "reclaim", "reverse")
CITY_OPS = ("lend", "reverse")  # city level only (docs/quota.md)
PROJECT_OPS = ("hold", "allocate", "reclaim")  # the operations that name a project


def _years(store: Store) -> list[int]:
    return ledger_years(store=store)  # not every year's and kind's balances computed


def _admin_features(store: Store) -> list[dict[str, Any]]:
    for layer in list_layers(store=store):
        if layer.kind == "admin_boundary":
            return features_in_bbox(layer, None, store=store, limit=100,
                                    tolerance=0.002).features
    return []


def _when(text: str | None, where: str, *, end: bool = False) -> Any:
    """A date or time typed on the page (:func:`bound_utc`), None when empty."""
    return bound_utc(text, where, end=end) if text else None


def _movement_filters(q: Any, user: User) -> dict[str, Any]:
    values = {k: (q.get(k) or "").strip() for k in FILTERS}
    if not sees_all_counties(user):
        values["county"] = user.county or ""
    return values


def _check_county(values: dict[str, Any], user: User, store: Store) -> None:
    """Refuse a county filter the city does not know (:func:`known_county`, ``NotFound``
    naming the counties it knows), as the library does, not an empty list of movements; a
    county user's own county is theirs whatever the address says."""
    if sees_all_counties(user):
        known_county(values["county"] or None, store=store)


def _core_filters(values: dict[str, str], year: int, kind: str) -> dict[str, Any]:
    if values["op"] and values["op"] not in OPS:
        raise BadInput(f"unknown operation {values['op']!r}; one of {', '.join(OPS)}",
                       message_zh="未知的操作类型", where="op")
    return {"year": year, "kind": kind, "county": values["county"] or None,
            "project": check_text(values["project"], "project", max_len=CODE_LEN) or None,
            "op": values["op"] or None,
            "since": _when(values["since"], "since"),
            "until": _when(values["until"], "until", end=True),
            "actor": actor_stored(check_text(values["actor"], "actor", max_len=NAME_LEN))
            or None}


# the page's query parameters as its filters label them (and the export's format)
QUERY_ZH = {"kind": "指标类型", "year": "年度", "county": "县区", "project": "项目",
            "op": "操作", "since": "起", "until": "止", "actor": "操作人", "page": "页码",
            "format": "导出格式"}


def _bad_query(exc: BlueprintError, value: str) -> str:
    """What a link or a typed address got wrong, as the page says it: the field by its
    label, the value as given (shortened), why (``page_zh``: a county by the names the
    filter offers, not codes), and that the page ignores it."""
    where = str(exc.where or "")
    shown = shortened(value)
    return (f"筛选条件“{QUERY_ZH.get(where, where)}”的值“{shown}”无效："
            f"{exc.page_zh.rstrip('。')}。该条件未生效，其余条件照常列出")


def _bad_export(ctx: PageContext, exc: BlueprintError, q: Any) -> HTMLResponse:
    """An export refused for a value of its address (a hand-edited link, an old bookmark):
    400, saying the field and the value, with the way back to the dashboard filtered as the
    rest of the address asked."""
    where = str(exc.where)
    value = str(q.get(where))
    shown = shortened(value)
    said = BadInput(shortened(exc.message, 300),
                    where=where, message_zh=(
        f"未能导出：地址中“{QUERY_ZH[where]}”的值“{shown}”无效："
        f"{exc.page_zh.rstrip('。')}。请回到台账，改正后重新导出"))
    kept = {k: v for k, v in q.items() if k not in (where, "format") and len(v) <= 200}
    return error_page(ctx, said, 400, "/quota?" + urlencode(kept))


def _lenient_filters(values: dict[str, str], year: int, kind: str,
                     problems: list[str]) -> dict[str, Any]:
    """:func:`_core_filters`, a bad value left out (and said in ``problems``, its field
    emptied in ``values``) so the page shows the rest as asked."""
    for _ in range(len(values) + 1):
        try:
            return _core_filters(values, year, kind)
        except BadInput as exc:
            if exc.where not in values or not values[str(exc.where)]:
                raise
            problems.append(_bad_query(exc, values[str(exc.where)]))
            values[str(exc.where)] = ""
    return _core_filters(values, year, kind)


def _project_choices(store: Store, user: User, visible: list[str]) -> tuple[list[Any], int]:
    """The projects a form's project field offers (the newest :data:`PROJECT_CHOICES` in
    code order: a county user's of that county, city level any county's) and how many
    there are in all; read by SQL, not the whole library."""
    if not visible:
        return [], 0
    county = None if sees_all_counties(user) else user.county
    total = count_projects(store=store, county=county)
    return list_projects(store=store, county=county, limit=PROJECT_CHOICES,
                         offset=max(0, total - PROJECT_CHOICES)), total


def _may_operate(user: User) -> list[str]:
    if user.role in ("admin", "city_quota_manager"):
        return list(OPERATIONS)
    if user.role == "county_quota_manager":
        return [op for op in OPERATIONS if op not in CITY_OPS]
    return []


def _dashboard(ctx: PageContext, store: Store, q: Any,
               refusal: Refusal | None = None, edit: dict[str, str] | None = None
               ) -> HTMLResponse:
    """The dashboard; after a refused operation (``refusal``) it says why at the top and the
    operation's form keeps what was filled in; the refusal's error is raised again when the
    user has no form for that operation. ``edit``: a confirmation sent back to be changed,
    its form filled in again."""
    user = ctx.user
    if refusal is not None and refusal.form not in _may_operate(user):
        raise refusal.error
    kept = refusal.kept if refusal is not None else (edit or {})
    years = _years(store)
    problems: list[str] = []  # query parameters a link or a typed address got wrong
    default_year = str(years[0] if years else today_cn().year)
    try:
        kind = resolve_kind(q.get("kind") or "new_construction_land").code
    except BadInput as exc:
        problems.append(_bad_query(BadInput(exc.message, where="kind",
                                            message_zh=exc.message_zh), q.get("kind")))
        kind = "new_construction_land"
    try:
        year = _year(q.get("year") or default_year)
    except BadInput as exc:
        problems.append(_bad_query(BadInput(exc.message, where="year",
                                            message_zh=exc.message_zh), q.get("year")))
        year = _year(default_year)
    # the reserves' rows, and the projects' of the county whose card is shown alone
    rows = balance_page(store=store, year=year, kind=kind, limit=None,
                        with_projects=False)[0]
    reserves = {r["county"]: r for r in rows if r["type"] == "county"}
    visible = sorted(reserves) if sees_all_counties(user) else \
        [c for c in reserves if c == user.county]
    chosen = q.get("county") if q.get("county") in visible else \
        (user.county if user.county in visible else (visible[0] if visible else None))
    if chosen is not None:
        rows += [r for r in quota.balances(store=store, year=year, kind=kind, county=chosen)
                 if r["type"] == "project"]
    cards = county_cards(store=store, year=year, kind=kind, counties=visible, rows=rows)
    unit = KINDS[kind].unit_zh
    base_link = f"{ctx.base}/quota?" + urlencode({"kind": kind, "year": year})
    ledger_counties = counties(store=store)
    fmap = embed(choropleth(_admin_features(store), {c: reserves[c]["available"]
                                                     for c in visible}, unit, ctx.base,
                            base_link, ledger_counties))
    values = _movement_filters(q, user)
    try:
        _check_county(values, user, store)
    except NotFound as exc:  # said by the names the county filter offers, then dropped
        problems.append(_bad_query(exc, values["county"]))
        values["county"] = ""
    filters = _lenient_filters(values, year, kind, problems)
    total = quota.count_movements(store=store, **filters)
    page_no, pages = page_of(q.get("page"), total, PAGE_SIZE)  # as every page
    page_no = min(page_no, MAX_PAGE)
    moves = quota.movements(store=store, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE,
                            **filters)
    query = {"kind": kind, "year": year, **{k: v for k, v in values.items() if v}}
    pool = next((r for r in rows if r["type"] == "pool"), None)
    # every county by name: a county's card names the other side of its loans too
    names = ledger_counties | {c: cards[c]["name"] for c in cards}
    projects, project_total = _project_choices(store, user, visible)
    card = cards.get(chosen) if chosen else None
    project_names = {p.code: p.name for p in projects}
    # the card's projects named, not codes alone (one query for them all); a ledger
    # project no longer in the library: its code alone
    project_names |= named_projects([r["project"] for r in card["projects"]
                                     if r["project"] not in project_names] if card else [],
                                    store=store)
    status = refusal.status if refusal else 400 if problems else 200
    return page(ctx, "quota.html", status=status, kind=kind, query_errors=problems,
                year=year, years=sorted({*years, year}, reverse=True), kinds=KINDS,
                unit=unit, fmap=fmap, pool=pool,
                visible=visible, chosen=chosen, card=card, project_names=project_names,
                chart=bar_chart(cards[chosen], unit) if chosen in cards else "",
                cards=cards, names=names, projects=projects, project_total=project_total,
                moves=moves, total=total,
                page_no=page_no,
                pages=pages, values=values,
                ops=OPS, op_zh=OP_ZH, query=urlencode(query), ramp=RAMP,
                operations=_may_operate(user), city=user.role in ("admin",
                                                                  "city_quota_manager"),
                today=today_cn().isoformat(),
                done=q.get("done", "") if q.get("done", "").isdecimal() else "",
                kept=kept, op_error=refusal.message_zh.rstrip("。") if refusal else "",
                editing=bool(edit and edit.get("op") in _may_operate(user)),
                op_zh_kept=OP_ZH.get(kept.get("op", ""), "操作"))


# what each operation's form must fill in (the field, as its label says it)
REQUIRED = {"hold": ("year", "county", "project", "amount"),
            "allocate": ("year", "county", "project", "amount"),
            "lend": ("year", "lender", "borrower", "amount", "due"),
            "repay": ("loan_id",), "reclaim": ("year", "project"), "reverse": ("operation_id",)}
FIELD_ZH = {"year": "年度", "county": "县区", "project": "项目编号", "amount": "数量",
            "lender": "借出县区", "borrower": "借入县区", "due": "归还期限",
            "loan_id": "拆借编号", "operation_id": "操作号"}


def _required(op: str, f: dict[str, str]) -> None:
    """Refuse a form that lacks a field its operation needs, or names no plausible year."""
    for name in REQUIRED[op]:
        if not f.get(name):
            raise BadInput(f"{name} is required for {op}",
                           message_zh=f"请填写{FIELD_ZH[name]}", where=name)
    if "year" in REQUIRED[op]:
        _year(f["year"])


def _year(text: str) -> int:
    """A year typed or chosen (a form field, a link's ``year``): a plausible quota year."""
    try:
        return check_year(int(text))
    except ValueError:
        raise BadInput(f"year {text!r} is not a number", message_zh="年度应为数字",
                       where="year") from None


def _run(op: str, f: dict[str, str], user: User, store: Store, key: str, *,
         rehearse: bool = False) -> dict[str, Any]:
    """Post one operation through the core (the same functions as the CLI and the API);
    the form has what :func:`_required` asks. ``rehearse``: the core does everything but
    the writing (its refusal raised, nothing written), before the confirmation."""
    common: dict[str, Any] = {"user": user, "reason": f["reason"], "key": key, "store": store,
                              "rehearse": rehearse}
    year, kind = int(f.get("year") or 0), f["kind"]
    if op == "hold":
        expires = parse_day_or_time(f["expires"], "expires") if f.get("expires") else None
        return quota.hold(year=year, kind=kind, county=f["county"], project=f["project"],
                          amount=f["amount"], expires=expires,
                          from_pool=bool(f.get("from_pool")), **common)
    if op == "allocate":
        return quota.allocate(year=year, kind=kind, county=f["county"], project=f["project"],
                              amount=f["amount"], from_pool=bool(f.get("from_pool")), **common)
    if op == "lend":
        return quota.lend(year=year, kind=kind, lender=f["lender"], borrower=f["borrower"],
                          amount=f["amount"], due=parse_day_or_time(f["due"], "due", "date"),
                          **common)
    if op == "repay":
        return quota.repay(loan_id=_int(f, "loan_id"), amount=f.get("amount") or None,
                           **common)
    if op == "reclaim":
        return quota.reclaim(project=f["project"], year=year, kind=kind, **common)
    return quota.reverse(operation_id=_int(f, "operation_id"), **common)


def _checked(op: str, f: dict[str, str], store: Store) -> str:
    """Refuse before the confirmation what the core would refuse after it, with its own
    parsers and messages: the amount, the dates, the numbers, a project not in the library.
    The project's name, for the confirmation's sentence."""
    if f.get("amount") or op in ("hold", "allocate", "lend"):
        to_units(f.get("amount", ""))
    if op == "hold" and f.get("expires"):
        parse_day_or_time(f["expires"], "expires")
    if op == "lend":
        parse_day_or_time(f.get("due", ""), "due", "date")
        if f.get("lender") == f.get("borrower"):  # as the core says it (transfers.lend)
            raise BadInput("the two counties must differ", where="borrower",
                           message_zh="调出方与调入方不能是同一县区")
    if op in ("repay", "reverse"):
        _int(f, "loan_id" if op == "repay" else "operation_id")
    name = get_project(f.get("project", ""), store=store).name if op in PROJECT_OPS else ""
    if op in ("hold", "allocate"):  # another county's project, one that left the library
        with store.read() as conn:
            guard_project(conn, f["project"], f["county"])
    return name


def _target(op: str, f: dict[str, str], user: User, store: Store,
            names: dict[str, str]) -> str:
    """For a reversal or a repayment (the form names only a number): what that number is,
    in words, for the confirmation; its kind and year (a loan's borrower too) are set in
    ``f`` (the effect is said in its unit, and the dashboard after it shows that kind, year
    and county). An unknown number,
    or another county's loan for a county manager, is refused here as the core would.
    ``names``: the counties' names by code."""
    if op == "reverse":
        number = _int(f, "operation_id")
        entries = quota.movements(store=store, operation_id=number, limit=100)
        if not entries:
            raise NotFound(f"operation {number} does not exist", where="operation_id",
                           message_zh=f"操作记录 {number} 不存在")
        with store.read() as conn:  # as the core refuses it, before the confirmation
            refuse_reversed(conn, number)
        first = entries[0]
        f |= {"kind": first["kind"], "year": str(first["year"])}
        moved = "；".join(f"{e['from_title']} → {e['to_title']} {e['amount']} {e['unit_zh']}"
                         for e in entries)
        return (f"第 {number} 号操作：{first['op_zh']}，{first['year']} 年度"
                f"{first['kind_title']}，{actor_zh(first['actor'])}于 {first['at_cn']} 记入，"
                f"事由“{first['reason']}”。其分录：{moved}。")
    number = _int(f, "loan_id")
    loan = next(iter(quota.loans(store=store, loan_id=number)), None)  # that one alone
    if loan is None:
        raise NotFound(f"loan {number} does not exist", where="loan_id",
                       message_zh=f"借出记录 {number} 不存在")
    user.require("city_quota_manager", "county_quota_manager", county=loan["borrower"],
                 named=lambda code: names.get(code, code))  # 本县（东昌府区）, as the core says
    f |= {"kind": loan["kind"], "year": str(loan["year"]), "county": loan["borrower"]}
    unit = KINDS[loan["kind"]].unit_zh
    if not loan["outstanding"]:  # the core refuses it after the confirmation otherwise
        raise Conflict(f"loan {number} is repaid in full", where="loan_id",
                       message_zh=f"第 {number} 号拆借已全部归还（借出 {loan['amount']} {unit}），"
                                  "无需再归还")
    return (f"第 {number} 号拆借：{loan['year']} 年度{loan['kind_title']}，"
            f"{names.get(loan['lender'], loan['lender'])}借给"
            f"{names.get(loan['borrower'], loan['borrower'])} {loan['amount']} {unit}，"
            f"未还 {loan['outstanding']} {unit}，归还期限 {loan['due']}。")


def _int(f: dict[str, str], name: str) -> int:
    """An operation's or a loan's number, within the ids the store keeps (as the API's
    path): a larger one overflowed SQLite's integers (a 500) before it was looked up."""
    try:
        number = int(f.get(name, ""))
    except ValueError:
        raise BadInput(f"{name} must be a number", message_zh="编号应为数字", where=name) \
            from None
    if not 1 <= number <= MAX_ID:
        raise BadInput(f"{name} must be from 1 to {MAX_ID}", where=name,
                       message_zh=f"编号应为 1 至 {MAX_ID} 之间的整数")
    return number


def _form(form: Any) -> dict[str, str]:
    return {k: str(v).strip() for k, v in form.items() if k not in ("csrf",)}


def quota_routes(SessionDep: Any, Ctx: Any, StoreDep: Any,  # noqa: N803
                 error_status: Any) -> APIRouter:
    """``/quota``, ``/quota/export`` and ``POST /quota/ops``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/quota", response_class=HTMLResponse)
    def dashboard(request: Request, session: SessionDep, ctx: Ctx,
                  store: StoreDep) -> HTMLResponse:
        """The dashboard for the chosen kind and year."""
        try:
            return _dashboard(ctx, store, request.query_params)
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/quota")

    @router.get("/quota/export", response_model=None)
    def export_movements(request: Request, session: SessionDep, ctx: Ctx,
                         store: StoreDep) -> Response:
        """The movements exactly as filtered on the page, as xlsx or CSV, sent as it is
        made (:func:`~blueprint.analysis.quota.exports.export_chunks`)."""
        q = request.query_params
        try:
            fmt = q.get("format") or "xlsx"
            try:
                kind = resolve_kind(q.get("kind") or "new_construction_land").code
            except BadInput as exc:
                raise BadInput(exc.message, where="kind", message_zh=exc.message_zh) from None
            year = _year(q.get("year") or str(next(iter(_years(store)), today_cn().year)))
            values = _movement_filters(q, session.user)
            _check_county(values, session.user, store)
            filters = _core_filters(values, year, kind)
            chunks = export_chunks(what="movements", fmt=fmt, store=store, **filters)
            name, ascii_name = export_filename("movements", fmt, year=year, kind=kind)
        except (BadInput, NotFound) as exc:
            if str(exc.where) in QUERY_ZH and q.get(str(exc.where)):
                return _bad_export(ctx, exc, q)
            return error_page(ctx, exc, error_status(exc), "/quota")
        except BlueprintError as exc:
            return error_page(ctx, exc, error_status(exc), "/quota")
        return StreamingResponse(chunks, media_type=MEDIA_TYPES[fmt], headers={  # RFC 6266
            "Content-Disposition": content_disposition(name, fallback=ascii_name)})

    @router.post("/quota/ops", response_model=None)
    async def operate(request: Request, session: SessionDep, ctx: Ctx,
                      store: StoreDep) -> Response:
        """First post: the confirmation stating the effect; second (``confirm``): post it."""
        form = await request.form()
        check_csrf(session, form.get("csrf"))
        check_form(form)
        f = _form(form)
        op = f.get("op", "")
        shown = {"kind": f.get("kind", ""), "year": f.get("year", ""),
                 "county": f.get("county") or f.get("lender") or ""}
        back = "/quota?" + urlencode(shown)
        if f.get("edit") == "1":  # 返回修改 on the confirmation: the form as it was filled
            kept = {k: v for k, v in f.items() if k not in ("confirm", "key", "edit")}
            try:
                return _dashboard(ctx, store, shown, edit=kept)
            except BlueprintError as exc:
                return error_page(ctx, exc, error_status(exc), "/quota")
        try:
            if op not in OPERATIONS:
                raise BadInput(f"unknown operation {op!r}", message_zh="未知的操作", where="op")
            if not f.get("reason"):
                raise BadInput("a reason is required", message_zh="请填写事由", where="reason")
            kind = resolve_kind(f.get("kind") or "new_construction_land")
            _required(op, f)
            if f.get("confirm") != "1":
                names = counties(store=store)
                project_name = _checked(op, f, store)
                target = _target(op, f, session.user, store, names) \
                    if op in ("reverse", "repay") else ""
                kind = resolve_kind(f.get("kind") or kind.code)  # the reversed one's, a loan's
                key = f"page:{uuid.uuid4()}"
                # what the ledger would refuse after the confirmation is refused now
                _run(op, f | {"kind": kind.code}, session.user, store, key, rehearse=True)
                effect = effect_zh(op, f, kind.title, kind.unit_zh, names, project_name)
                return page(ctx, "quota_confirm.html", op=op, op_zh=OP_ZH[op], effect=effect,
                            target=target, fields=f, key=key, back=back)
            result = _run(op, f | {"kind": kind.code}, session.user, store,
                          f.get("key") or f"page:{uuid.uuid4()}")
        except BlueprintError as exc:
            # the error page when the kind or year itself was refused
            return page_again(ctx, Refusal(exc, error_status(exc), f, op), back,
                              partial(_dashboard, ctx, store, shown))
        target = f"{ctx.base}{back}&" + urlencode({"done": result.get("operation_id", "")})
        return RedirectResponse(target, status_code=303)

    return router

