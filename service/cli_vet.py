"""``blueprint vet`` and ``blueprint vet-batch``."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer

from analysis.capacity import parse_emissions
from analysis.messages import STATUS_ZH, VERDICT_ZH
from analysis.report_geojson import report_geojson
from analysis.site import SiteLimits, read_site
from analysis.vetting import VetRequest, to_json, vet_site
from layers.errors import BadInput
from service.cli import app, open_store, out, print_json, progress_bar, table
from service.context import rules_from_settings, site_limits
from service.settings import get_settings

FORMATS = ("table", "json", "geojson")
# Files vet-batch picks up from a folder (a .json file is vetted only when named).
SITE_SUFFIXES = (".txt", ".geojson", ".gpkg", ".shp", ".zip", ".kml")


def parse_demands(text: str | None) -> dict[str, Decimal]:
    """Parse ``new_construction_land=2.5,energy=3000`` into exact amounts."""
    result: dict[str, Decimal] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, value = part.partition("=")
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            amount = Decimal("NaN")
        if not sep or not amount.is_finite() or amount < 0:
            raise BadInput(f"demand {part!r} is not KIND=AMOUNT",
                           message_zh=f"要素需求“{part}”格式应为 指标类型=数量")
        result[key.strip()] = amount
    return result


def _render(report: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        print_json(to_json(report))
    elif fmt == "geojson":
        print_json(report_geojson(report))
    else:
        _print_table(report)


def _print_table(report: dict[str, Any]) -> None:
    site = report["site"]
    out.print(f"{site['name']}  面积 {site['area_m2']:,.1f} 平方米 "
              f"({site['area_ha']} 公顷 / {site['area_mu']} 亩,{site['area_crs']}),"
              f"{site['parcels']} 个地块,县区 {report['county'] or '未知'}")
    rows = [[f["title"], STATUS_ZH[f["status"]], f"{f['overlap_m2']:,.1f}",
             f"{f['overlap_mu']:,.2f}", f"{f['overlap_share']:.2%}",
             ", ".join(f["feature_ids"][:3])]
            for f in report["findings"]]
    table(f"选址初审({report['industry_title']})",
          ["图层", "结论", "重叠(m²)", "重叠(亩)", "占比", "涉及图斑"], rows)
    if "quota" in report:
        out.print(f"要素指标:{report['quota']['message']}", markup=False)
    for w in report["warnings"]:
        out.print(f"提示:{w}", markup=False)
    out.print(report["summary_zh"], style="bold")


@app.command("vet")
def vet(
    site_file: Annotated[Path, typer.Argument(metavar="SITE", help="Site file (any format)")],
    industry: Annotated[str, typer.Option(help="Industry code")] = "industrial",
    county: Annotated[str | None, typer.Option(help="County code (default: from "
                                               "the site's location)")] = None,
    format: Annotated[str, typer.Option(help="table, json or geojson")] = "table",
    emissions: Annotated[str | None, typer.Option(help="e.g. SO2=12.5,NOx=30 (t/yr)")] = None,
    demand: Annotated[str | None, typer.Option(help="Quota demands, e.g. "
                                               "new_construction_land=2.5,energy=3000")] = None,
    year: Annotated[int | None, typer.Option(help="Quota year")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS when the file has none")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding")] = None,
    rules: Annotated[str | None, typer.Option(help="Rules TOML file")] = None,
) -> None:
    """Vet a site against every layer of the blueprint."""
    if format not in FORMATS:
        raise BadInput(f"--format must be one of {FORMATS}", message_zh="输出格式无效")
    settings = get_settings()
    site = read_site(site_file, crs=crs, encoding=encoding, limits=site_limits(settings),
                     file_limits=settings.file_limits())
    request = VetRequest(site=site, industry=industry, county=county,
                         emissions=parse_emissions(emissions), demands=parse_demands(demand),
                         year=year)
    ruleset = rules_from_settings(settings, rules)
    _render(vet_site(request, store=open_store(), rules=ruleset), format)


@app.command("vet-batch")
def vet_batch(
    sites: Annotated[list[Path], typer.Argument(help="Site files or folders")],
    output: Annotated[Path, typer.Option(help="JSON Lines file, one report per site")],
    industry: Annotated[str, typer.Option(help="Industry code")] = "industrial",
) -> None:
    """Vet many sites with a progress bar; bad files are reported, not fatal."""
    files = [p for s in sites for p in (sorted(s.iterdir()) if s.is_dir() else [s])
             if p.suffix.lower() in SITE_SUFFIXES or (p == s and p.suffix.lower() == ".json")]
    if not files:
        raise BadInput("no site files found (.txt, .geojson, .gpkg, .shp, .zip, .kml)",
                       message_zh="没有找到地块文件")
    settings = get_settings()
    store, ruleset = open_store(), rules_from_settings(settings)
    limits = site_limits(settings)
    ruleset.industry(industry)  # an unknown industry is one error, not one per file
    counts: dict[str, int] = {}
    with progress_bar() as bar, output.open("w", encoding="utf-8") as fh:
        task = bar.add_task("批量审查", total=len(files))
        for path in files:
            line = _vet_one(path, industry, store, ruleset, limits)
            outcome = VERDICT_ZH.get(line.get("verdict", ""), "出错")
            counts[outcome] = counts.get(outcome, 0) + 1
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            bar.advance(task)
    out.print(f"已审查 {len(files)} 个地块:" + ",".join(f"{k} {v} 个" for k, v in counts.items())
              + f";结果已写入 {output}")


def _vet_one(path: Path, industry: str, store: Any, ruleset: Any,
             limits: SiteLimits) -> dict[str, Any]:
    from layers.errors import BlueprintError

    try:
        site = read_site(path, limits=limits)
        report = vet_site(VetRequest(site=site, industry=industry), store=store, rules=ruleset)
    except BlueprintError as exc:
        return {"file": str(path), "error": exc.to_dict()}
    return {"file": str(path), **to_json(report)}
