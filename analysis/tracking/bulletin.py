"""The monthly bulletin (一月一通报): figures, red and yellow projects, open problems and the
ranking, as an HTML page (printed to PDF by :mod:`analysis.review.pdf`) and an xlsx book.

Everything comes from :func:`analysis.tracking.figures.month_figures` and
:func:`analysis.tracking.problems.list_problems`; nothing here queries the store itself.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any

from blueprint.analysis.clock import shown_as_of
from blueprint.analysis.counties import offered_counties
from blueprint.analysis.projects.model import STAGE_ZH
from blueprint.analysis.tracking.figures import RATE_ZH, Figures, month_figures
from blueprint.analysis.tracking.model import COLOUR_ZH
from blueprint.analysis.tracking.problems import STATUS_ZH, Problem, list_problems
from blueprint.layers.store import Store

COUNTY_COLUMNS = ["排名", "县区", "综合得分", "项目数", "跟踪项目", "绿", "黄", "红",
                  "储备转化率", "签约转化率", *RATE_ZH.values()]
PROJECT_COLUMNS = ["状态", "项目编号", "项目名称", "县区", "阶段", "责任单位", "原因"]
PROBLEM_COLUMNS = ["编号", "项目编号", "县区", "问题", "责任单位", "办结时限", "状态"]
UNIT_COLUMNS = ["排名", "责任单位", "到期节点", "按期完成", "逾期节点", "按期完成率",
                "问题数", "未销号", "逾期未销号"]


@dataclass
class Bulletin:
    """The bulletin's content for one month."""

    month: str
    figures: Figures
    problems: list[Problem]
    counties: dict[str, str]  # code → name (:func:`~analysis.counties.offered_counties`)

    def county_rows(self) -> list[list[Any]]:
        """The county ranking, best first."""
        rows = sorted(self.figures.counties.items(), key=lambda kv: kv[1]["rank"])
        return [[r["rank"], self.counties.get(c, c), r["score"], r["projects"], r["tracked"],
                 r["green"], r["yellow"], r["red"], pct(r["conversion_reserve"]),
                 pct(r["conversion_signed"]), *(pct(r[k]) for k in RATE_ZH)]
                for c, r in rows]

    def project_rows(self) -> list[list[Any]]:
        """Red projects, then yellow ones."""
        flagged = [s for s in self.figures.statuses if s.colour != "green"]
        flagged.sort(key=lambda s: (s.colour != "red", s.project.code))
        return [[COLOUR_ZH[s.colour][:2], s.project.code, s.project.name,
                 self.counties.get(s.project.county, s.project.county),
                 STAGE_ZH[s.project.stage], s.project.responsible_unit, "；".join(s.reasons)]
                for s in flagged]

    def problem_rows(self) -> list[list[Any]]:
        """Open problems, escalated first."""
        found = sorted(self.problems, key=lambda p: (p.status != "escalated", p.id))
        return [[p.id, p.project, self.counties.get(p.county, p.county), p.text, p.owner_unit,
                 p.due_on.isoformat(), STATUS_ZH[p.status]] for p in found]

    def unit_rows(self) -> list[list[Any]]:
        """Responsible units by on-time rate."""
        rows = sorted(self.figures.units.items(), key=lambda kv: kv[1]["rank"])
        return [[r["rank"], u, r["due"], r["on_time"], r["overdue"], pct(r["on_time_rate"]),
                 r["problems"], r["problems_open"], r["problems_overdue"]] for u, r in rows]


def pct(value: Decimal | None) -> str:
    """A rate as a percentage with one decimal, or — when nothing was due."""
    return "—" if value is None else f"{(value * 100).quantize(Decimal('0.1'))}%"


def build_bulletin(month: str, *, store: Store, at: datetime | None = None) -> Bulletin:
    """The bulletin of ``month``: its figures and the problems open at the window's close,
    the counties named as every page names them (:func:`~analysis.counties.offered_counties`:
    the boundary layer's, granted quota or not, and the ledger's)."""
    figures = month_figures(month, store=store, at=at)
    problems = list_problems(store=store, status="open", at=figures.counted_to)
    return Bulletin(figures.month, figures, problems, offered_counties(store=store))


def _table(columns: list[str], rows: list[list[Any]], empty: str) -> str:
    if not rows:
        return f"<p class='empty'>{escape(empty)}</p>"
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
  @page { size: A4 landscape; margin: 12mm; }
  body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei",
         "PingFang SC", sans-serif; font-size: 9.5pt; color: #111; }
  h1 { text-align: center; font-size: 18pt; letter-spacing: 0.1em; margin: 0 0 2mm; }
  .meta { text-align: center; color: #444; margin-bottom: 4mm; }
  h2 { font-size: 12pt; border-left: 4px solid #b00; padding-left: 2mm; margin: 5mm 0 2mm; }
  table { border-collapse: collapse; width: 100%; }
  th, td { border: 1px solid #999; padding: 1mm 1.5mm; text-align: left; }
  th { background: #eee; }
  .empty { color: #555; }
"""


def bulletin_html(b: Bulletin) -> str:
    """The bulletin as a self-contained HTML page (no external resource)."""
    year, mon = b.month.split("-")
    closes = shown_as_of(b.figures.counted_to)  # a window's end: 24:00
    title = f"重点项目建设情况通报（{year}年{int(mon)}月）"
    parts = [
        f"<h1>{escape(title)}</h1>",
        f"<p class='meta'>统计截至 {closes}（北京时间）· 一月一通报</p>",
        "<h2>一、各县区综合排名</h2>",
        _table(COUNTY_COLUMNS, b.county_rows(), "本月无项目数据。"),
        "<h2>二、红色、黄色项目</h2>",
        _table(PROJECT_COLUMNS, b.project_rows(), "本月所有跟踪项目均按计划推进（绿色）。"),
        "<h2>三、未销号问题</h2>",
        _table(PROBLEM_COLUMNS, b.problem_rows(), "本月无未销号问题。"),
        "<h2>四、责任单位节点完成情况</h2>",
        _table(UNIT_COLUMNS, b.unit_rows(), "本月无到期节点。"),
    ]
    return ("<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
            + "".join(parts) + "</body></html>")


def bulletin_pdf(b: Bulletin) -> bytes:
    """The bulletin printed by headless Chromium."""
    from blueprint.analysis.review.pdf import html_to_pdf

    return html_to_pdf(bulletin_html(b))


def bulletin_xlsx(b: Bulletin) -> bytes:
    """The bulletin as an xlsx book: one sheet a section, Chinese headers."""
    from openpyxl import Workbook

    book = Workbook()
    sheets = [("县区排名", COUNTY_COLUMNS, b.county_rows()),
              ("红黄项目", PROJECT_COLUMNS, b.project_rows()),
              ("未销号问题", PROBLEM_COLUMNS, b.problem_rows()),
              ("责任单位", UNIT_COLUMNS, b.unit_rows())]
    first = True
    for name, columns, rows in sheets:
        sheet = book.active if first else book.create_sheet()
        first = False
        assert sheet is not None
        sheet.title = name
        sheet.append(columns)
        for row in rows:
            sheet.append([str(v) if isinstance(v, Decimal) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
