"""``blueprint quota …``: the quota ledger from the command line.

The CLI acts as the local operator (an admin named after ``BLUEPRINT_ACTOR`` or the OS
user) unless ``--user NAME`` names a user of the users table, whose role and county
then apply. Every changing command takes ``--reason`` and ``--key`` (idempotency; a
fresh one by default: pass the same key again to retry safely).

This module owns the group (``quota_app``) and its changing commands; ``quota_reports``
adds the reading ones.
"""

from __future__ import annotations

import tomllib
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from blueprint.service.cli.actor import UserName, acting_user
from blueprint.service.cli.console import (
    Format,
    checked_text,
    id_bound,
    open_store,
    out,
    print_json,
    table,
    year_bound,
)
from blueprint.service.context import local_actor

if TYPE_CHECKING:
    from blueprint.layers.store import Store
    from blueprint.layers.users import User

# The kinds' codes for --help, read from the packaged file without importing the ledger.
KIND_CODES = list(tomllib.loads((Path(__file__).resolve().parents[2] / "analysis" / "quota"
                                 / "kinds.toml").read_text(encoding="utf-8"))["kind"])


class _LazyQuota:
    """``analysis.quota`` imported on first use (it pulls in SQLAlchemy and the ledger):
    ``blueprint --help`` and other short commands start without it."""

    def __getattr__(self, name: str) -> Any:
        from blueprint.analysis import quota as module

        return getattr(module, name)


quota = _LazyQuota()

quota_app = typer.Typer(help="Quota ledger (要素指标台账): grant, hold, allocate, lend, "
                        "adjust, reclaim, reverse; balances, movements, loans, exports.",
                        no_args_is_help=True)

Reason = Annotated[str, typer.Option(help="Why (recorded with every movement)",
                                           callback=checked_text)]
Key = Annotated[str | None, typer.Option(help="Idempotency key (default: a fresh one)")]
Year = Annotated[int | None, typer.Option(help="Quota year (default: this year)",
                                          callback=year_bound)]
YearOnly = Annotated[int | None, typer.Option(help="Only this year", callback=year_bound)]
RowId = Annotated[int, typer.Argument(callback=id_bound)]
Kind = Annotated[str, typer.Option(help="Quota kind: " + ", ".join(KIND_CODES))]
Amount = Annotated[str, typer.Option(help="Exact amount in the kind's unit")]


def _actor(store: Store, name: str | None) -> User:
    return acting_user(store, name)


def _run(operation: Any, user_name: str | None, key: str | None, reason: str, fmt: str,
         **kwargs: Any) -> None:
    store = open_store()
    result = operation(user=_actor(store, user_name), key=key or str(uuid.uuid4()),
                       reason=reason, store=store, **kwargs)
    _show(result, fmt, store)


# What an operation that had nothing to do says (the core records none: ``skip_empty``).
NOTHING_ZH = {"expire": "没有到期的预留，未记账。"}


def _show(result: dict[str, Any], fmt: str, store: Store) -> None:
    if fmt == "json":
        print_json(result)
        return
    from blueprint.analysis.counties import offered_counties
    from blueprint.analysis.quota.balances import named_projects
    from blueprint.analysis.quota.history import OP_ZH
    from blueprint.analysis.quota.kinds import KINDS

    if result["operation_id"] is None:  # nothing to do, nothing recorded
        out.print(NOTHING_ZH[result["op"]])
        return
    op = OP_ZH.get(result["op"], result["op"])
    refs = [ref for e in result["entries"] for ref in (e["from"], e["to"])]
    names = offered_counties(store=store)
    projects = named_projects([ref.partition(":")[2] for ref in refs
                               if ref.startswith(("hold:", "project:"))], store=store)
    out.print(f"操作 {result['operation_id']}（{op}，幂等键 {result['key']}）已记账："
              f"{result['reason']}", markup=False)
    if result.get("renamed_from"):  # a grant under the county's new name
        code, name = result["county"], result["county_name"]
        shown = "" if names.get(code) == name else \
            f"；行政区划图层现名为“{names.get(code, code)}”，各处仍以图层名称显示"
        out.print(f"县区 {code} 的名称由“{result['renamed_from']}”改为“{name}”{shown}。",
                  markup=False)
    table("记账分录", ["用途", "年度", "指标类型", "调出", "调入", "数量"],
          [[OP_ZH.get(e["purpose"], e["purpose"]), e["year"], KINDS[e["kind"]].title,
            account_zh(e["from"], names, projects), account_zh(e["to"], names, projects),
            e["amount"]] for e in result["entries"]])


def account_zh(ref: str, counties: dict[str, str], projects: dict[str, str]) -> str:
    """``county:371502`` → ``东昌府区县级储备``: an account reference named as the balances,
    the movements and the pages name it (``ledger.account_title``: ``counties`` and
    ``projects``, code → name)."""
    from blueprint.analysis.quota.ledger import account_title

    type_, _, owner = ref.partition(":")
    return account_title(type_, owner, counties, projects)


def _year(year: int | None) -> int:
    from blueprint.analysis.clock import today_cn

    return year if year is not None else today_cn().year


@quota_app.command("grant")
def grant_cmd(kind: Kind, county: Annotated[str, typer.Option(help="County code")],
              amount: Amount, reason: Reason, year: Year = None,
              county_name: Annotated[str | None, typer.Option(help="County name")] = None,
              key: Key = None, user: UserName = None, format: Format = "table") -> None:
    """Grant a county's yearly quota: 30 % to the city pool, 70 % to the county reserve."""
    _run(quota.grant, user, key, reason, format, year=_year(year), kind=kind, county=county,
         amount=amount, county_name=county_name)


@quota_app.command("grant-file")
def grant_file_cmd(path: Path, format: Format = "table") -> None:
    """Grant every row of a quotas CSV (year,county_code,county_name,kind,amount,unit);
    rows an earlier load granted are on record already and not granted again."""
    from blueprint.analysis.quota.grants import grant_file

    done = grant_file(path, store=open_store(), actor=local_actor())
    if format == "json":
        print_json([r | {"replayed": again} for r, again in zip(done.results, done.replayed,
                                                                 strict=True)])
    elif not done.results:
        out.print("文件中没有指标行，未下达任何指标。")
    elif not done.granted:
        out.print(f"没有新下达的指标：文件中的 {done.on_record} 项此前均已下达，"
                  "未重复下达。")
    else:
        on_record = (f"；另有 {done.on_record} 项此前已下达，未重复下达"
                     if done.on_record else "")
        out.print(f"已下达 {done.granted} 项年度指标{on_record}。")


@quota_app.command("hold")
def hold_cmd(kind: Kind, county: Annotated[str, typer.Option(help="County code")],
             project: Annotated[str, typer.Option(help="Project code")], amount: Amount,
             reason: Reason, year: Year = None,
             expires: Annotated[str | None, typer.Option(
                 help="Last day of the hold, YYYY-MM-DD (ends at 24:00 China time), or an "
                 "exact time YYYY-MM-DDTHH:MM[+08:00] (without a zone: China time)")] = None,
             from_pool: Annotated[bool, typer.Option(help="Shortfall from the city pool "
                                                     "(city level)")] = False,
             key: Key = None, user: UserName = None, format: Format = "table") -> None:
    """Hold quota for a project under review (released on expiry)."""
    from blueprint.analysis.clock import parse_day_or_time

    _run(quota.hold, user, key, reason, format, year=_year(year), kind=kind, county=county,
         project=project, amount=amount,
         expires=parse_day_or_time(expires, "--expires") if expires is not None else None,
         from_pool=from_pool)


@quota_app.command("release")
def release_cmd(hold_id: RowId, reason: Reason, key: Key = None, user: UserName = None,
                format: Format = "table") -> None:
    """Release what is left of a hold."""
    _run(quota.release, user, key, reason, format, hold_id=hold_id)


@quota_app.command("expire-holds")
def expire_cmd(reason: Reason = "预留到期释放",
               county: Annotated[str | None, typer.Option(help="Only this county")] = None,
               year: YearOnly = None,
               key: Key = None, user: UserName = None, format: Format = "table") -> None:
    """Release every hold whose expiry has passed."""
    _run(quota.expire_holds, user, key, reason, format, county=county, year=year)


@quota_app.command("allocate")
def allocate_cmd(kind: Kind, county: Annotated[str, typer.Option(help="County code")],
                 project: Annotated[str, typer.Option(help="Project code")], amount: Amount,
                 reason: Reason, year: Year = None,
                 from_pool: Annotated[bool, typer.Option(help="Shortfall from the city pool "
                                                         "(city level)")] = False,
                 key: Key = None, user: UserName = None, format: Format = "table") -> None:
    """Allocate quota to a project: its holds, then the county reserve (then the pool)."""
    _run(quota.allocate, user, key, reason, format, year=_year(year), kind=kind,
         county=county, project=project, amount=amount, from_pool=from_pool)


@quota_app.command("lend")
def lend_cmd(kind: Kind, lender: Annotated[str, typer.Option("--from", help="Lending county")],
             borrower: Annotated[str, typer.Option("--to", help="Borrowing county")],
             amount: Amount, due: Annotated[str, typer.Option(help="Due date YYYY-MM-DD")],
             reason: Reason, year: Year = None, key: Key = None, user: UserName = None,
             format: Format = "table") -> None:
    """Lend quota between counties through the city, until a due date."""
    from blueprint.analysis.clock import parse_day_or_time

    _run(quota.lend, user, key, reason, format, year=_year(year), kind=kind, lender=lender,
         borrower=borrower, amount=amount, due=parse_day_or_time(due, "--due", "date"))


@quota_app.command("repay")
def repay_cmd(loan_id: RowId, reason: Reason,
              amount: Annotated[str | None, typer.Option(help="Part to repay "
                                                         "(default: all)")] = None,
              key: Key = None, user: UserName = None, format: Format = "table") -> None:
    """Repay a loan (fully by default)."""
    _run(quota.repay, user, key, reason, format, loan_id=loan_id, amount=amount)


@quota_app.command("adjust")
def adjust_cmd(kind: Kind, seller: Annotated[str, typer.Option("--from", help="County "
                                                               "giving quota")],
               buyer: Annotated[str, typer.Option("--to", help="County receiving quota")],
               amount: Amount, price: Annotated[str, typer.Option(help="Total price, yuan")],
               reason: Reason, year: Year = None, key: Key = None, user: UserName = None,
               format: Format = "table") -> None:
    """Paid adjustment between counties (有偿调剂), price recorded."""
    _run(quota.adjust, user, key, reason, format, year=_year(year), kind=kind, seller=seller,
         buyer=buyer, amount=amount, price=price)


@quota_app.command("reclaim")
def reclaim_cmd(project: str, reason: Reason,
                year: YearOnly = None,
                kind: Annotated[str | None, typer.Option(help="Only this kind")] = None,
                key: Key = None, user: UserName = None, format: Format = "table") -> None:
    """Reclaim everything a cancelled project holds or received, back to its origin."""
    _run(quota.reclaim, user, key, reason, format, project=project, year=year, kind=kind)


@quota_app.command("reverse")
def reverse_cmd(operation_id: RowId, reason: Reason, key: Key = None, user: UserName = None,
                format: Format = "table") -> None:
    """Correct an operation with reversing entries."""
    _run(quota.reverse, user, key, reason, format, operation_id=operation_id)


@quota_app.command("retire")
def retire_cmd(kind: Kind, account: Annotated[str, typer.Option(help="'pool' or a county "
                                                                "code")],
               amount: Amount, reason: Reason, year: Year = None, key: Key = None,
               user: UserName = None, format: Format = "table") -> None:
    """Retire unused quota into the retired account (city level)."""
    _run(quota.retire, user, key, reason, format, year=_year(year), kind=kind,
         account=account, amount=amount)
