"""Granting yearly quotas from a CSV file (the sample's ``quotas.csv``).

Columns: ``year,county_code,county_name,kind,amount,unit``. Every row is checked before
anything is granted; then the whole file is granted in one transaction, each row with the
deterministic idempotency key ``grant-csv:<year>:<county>:<kind>``, so loading the same
file twice grants once (:class:`GrantFile` says which rows were new), and a file whose
amount changed for an already granted row is refused as a conflict naming its line, with
nothing granted. A row whose grant was reversed (冲正: the way to correct a file's amount)
is granted anew by the next load, under the next key (``grant-csv:<year>:<county>:<kind>:2``,
``…:3``): the file's row is on record only while its grant stands.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from blueprint.analysis.clock import now_utc
from blueprint.analysis.quota.common import check_county, check_year
from blueprint.analysis.quota.kinds import (
    KINDS,
    check_unit,
    format_amount,
    from_units,
    resolve_kind,
    to_units,
)
from blueprint.analysis.quota.ledger import county_names
from blueprint.analysis.quota.operations import grant_job
from blueprint.analysis.quota.runner import run_many
from blueprint.analysis.quota.tables import operations
from blueprint.layers.errors import BadInput, BlueprintError, Conflict, InvalidFile
from blueprint.layers.store import Store
from blueprint.layers.users import User

COLUMNS = ("year", "county_code", "county_name", "kind", "amount", "unit")


@dataclass(frozen=True)
class GrantRow:
    """One checked row of a grant file."""

    year: int
    county: str
    county_name: str
    kind: str
    amount: Decimal
    line: int = 0  # in the file, for error messages

    @property
    def key(self) -> str:
        """The row's idempotency key."""
        return f"grant-csv:{self.year}:{self.county}:{self.kind}"


def _row(record: dict[str, str], name: str, line: int) -> GrantRow:
    where = f"{name}:{line}"
    if any(record.get(c) is None for c in COLUMNS):
        raise BadInput("the row has too few fields", message_zh="该行字段数不足", where=where)
    try:
        year = check_year(int(record["year"]))
        kind = resolve_kind(record["kind"])
        check_unit(kind, record["unit"])
        amount = from_units(to_units(record["amount"]))
        county = check_county(record["county_code"])
    except ValueError:
        raise BadInput(f"year {record['year']!r} is not a number", message_zh="年度无效",
                       where=where) from None
    except BlueprintError as exc:
        raise BadInput(exc.message, message_zh=exc.message_zh, where=where) from None
    return GrantRow(year, county, (record.get("county_name") or "").strip(), kind.code,
                    amount, line)


def read_grants(path: Path) -> list[GrantRow]:
    """Read and check every row of a grant file; :class:`BadInput` names the line.

    UTF-8 (BOM optional) or, failing that, GB18030/GBK: the CSV Excel writes on a Chinese
    Windows (a coordinate file is read so too)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidFile(f"cannot read {path}: {exc}", message_zh="无法读取指标文件",
                          where=str(path)) from None
    reader = csv.DictReader(io.StringIO(_text(data, path), newline=""))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise InvalidFile(f"missing columns: {', '.join(missing)}", where=str(path),
                          message_zh=f"指标文件缺少必需的列：{'、'.join(missing)}（首行应为 "
                                     f"{','.join(COLUMNS)}）")
    rows = [_row(r, Path(path).name, reader.line_num) for r in reader]
    keys = [r.key for r in rows]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise BadInput(f"row repeats year, county and kind ({key})",
                           message_zh="同一年度、县区和指标类型重复出现",
                           where=f"{Path(path).name}:{rows[i].line}")
    return rows


def _text(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidFile(f"cannot read {path}: neither UTF-8 nor GBK text", where=str(path),
                      message_zh="无法读取指标文件：既不是 UTF-8 也不是 GBK 编码的文本")


@dataclass(frozen=True)
class GrantFile:
    """What granting a file did: every row's result (in file order) and which rows' keys
    were on record already (granted by an earlier load: nothing granted now)."""

    results: list[dict[str, Any]]
    replayed: list[bool]

    @property
    def granted(self) -> int:
        """Rows granted by this load."""
        return self.replayed.count(False)

    @property
    def on_record(self) -> int:
        """Rows an earlier load had granted already."""
        return self.replayed.count(True)


def _keys(key: str) -> Iterator[str]:
    """A row's key, then the keys it takes after each reversal of its grant."""
    yield key
    n = 2
    while True:
        yield f"{key}:{n}"
        n += 1


def _standing_key(conn: Connection, row: GrantRow, file: str) -> str:
    """The key ``row`` is granted under: the first of its keys (:func:`_keys`) whose grant
    was not reversed, or not made yet. A standing grant of another amount refuses the file
    (naming the line, the grant and how to correct it: reverse it, then load again)."""
    reversed_ids = sa.select(operations.c.target_id).where(operations.c.op == "reverse")
    for key in _keys(row.key):
        prior = conn.execute(sa.select(operations.c.id, operations.c.amount, (
            operations.c.id.in_(reversed_ids)).label("reversed")).where(
            operations.c.key == key, operations.c.op == "grant")).first()
        if prior is None:
            return key
        if prior.reversed:
            continue
        units = to_units(row.amount)
        if int(prior.amount) != units:
            kind = KINDS[row.kind]
            county = county_names(conn).get(row.county, row.county)
            raise Conflict(
                f"{row.year} {row.kind} of county {row.county} was granted "
                f"{format_amount(int(prior.amount))} by operation {prior.id}, the file says "
                f"{format_amount(units)}; reverse operation {prior.id}, then load the file "
                "again", where=f"{file}:{row.line}",
                message_zh=f"{row.year} 年度{county}的{kind.title}已由操作 {prior.id} 下达 "
                           f"{kind.text(int(prior.amount))}，文件中为 {kind.text(units)}；"
                           f"已下达的指标不随文件改动，如需更正，请先冲正操作 {prior.id}，"
                           "再重新导入该文件")
        return key
    raise AssertionError("unreachable")


def grant_from_csv(path: Path, *, store: Store, actor: str) -> list[dict[str, Any]]:
    """Every row's result of :func:`grant_file` (a replayed row's is its first result)."""
    return grant_file(path, store=store, actor=actor).results


def grant_file(path: Path, *, store: Store, actor: str) -> GrantFile:
    """Grant every row of a quota file, all or nothing (idempotent: loading twice grants
    once, and says so). The whole file is one transaction: a row that conflicts with an
    earlier grant of its key (a changed amount) refuses the file, naming its line, and
    grants nothing; a row whose grant was reversed is granted again (see the module)."""
    rows = read_grants(path)
    user = User(name=actor, role="admin")
    name = Path(path).name
    with store.read() as conn:
        keys = [_standing_key(conn, r, name) for r in rows]
    reason = f"年度指标下达（{name}）"
    at = now_utc()
    jobs = [grant_job(year=r.year, kind=r.kind, county=r.county, amount=r.amount, user=user,
                      reason=reason, key=key, county_name=r.county_name or None, at=at)
            for r, key in zip(rows, keys, strict=True)]
    for request, _ in jobs:
        request.system = True  # the file's deterministic keys, the same whoever loads it
    done = run_many(jobs, store=store, labels=[f"{name}:{r.line}" for r in rows])
    return GrantFile([o.result for o in done], [o.replayed for o in done])
