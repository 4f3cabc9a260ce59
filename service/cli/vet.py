"""``blueprint vet`` and ``blueprint vet-batch``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from blueprint.analysis.messages import STATUS_ZH, share_text
from blueprint.layers.errors import BadInput
from blueprint.layers.units import m2_text
from blueprint.service.cli.console import (
    check_format,
    china_time,
    open_store,
    out,
    output_file,
    print_json,
    read_site_file,
    table,
    year_bound,
)

FORMATS = ("table", "json", "geojson", "html", "pdf")
# Files vet-batch picks up from a folder (a .json file is vetted only when named).
SITE_SUFFIXES = (".txt", ".geojson", ".gpkg", ".shp", ".zip", ".kml")


def _render(report: Any, fmt: str, store: Any) -> None:
    from blueprint.analysis.report_geojson import report_geojson
    from blueprint.analysis.vetting import to_json

    if fmt == "json":
        print_json(to_json(report))
    elif fmt == "geojson":
        print_json(report_geojson(report))
    else:
        from blueprint.analysis.quota.balances import known_counties

        # by the one rule, the older boundary versions' counties too (a vetting --as-of)
        _print_table(to_json(report), known_counties(store=store))


def _print_table(report: dict[str, Any], names: dict[str, str]) -> None:
    site, county = report["site"], report["county"]
    if county and names.get(county, county) != county:  # the boundary layer or a grant names it
        county = f"{names[county]}（{county}）"
    out.print(f"{site['name']}：面积 {site['area_m2']:,.1f} 平方米，{site['area_ha']} 公顷，"
              f"{site['area_mu']} 亩（按 {site['area_crs']} 计算），{site['parcels']} 个地块，"
              f"所在县区 {county or '未知'}")
    rows = [row for f in report["findings"] for row in _finding_rows(f)]
    table(f"选址初审（{report['industry_title']}）",
          ["图层", "结论", "重叠（m²）", "重叠（亩）", "占比", "涉及图斑"], rows)
    bands = [b for layer in report["capacity"]["layers"] for b in layer["bands"]]
    if bands:
        table("环境容量（吨/年）", ["污染物", "平均剩余", "最小剩余", "拟排放", "是否满足"],
              [[f"{b['title']}（{b['band']}）", _num(b["mean"]), _num(b["min"]),
                _num(b["demand"]), {True: "满足", False: "不满足", None: "—"}[b["fits"]]]
               for b in bands])
    if "quota" in report:
        out.print(report["quota"]["message"], markup=False)
    if report.get("layers"):
        table("所用图层版本", ["图层", "名称", "版本", "导入时间（北京时间）"],
              [[x["title"], x["name"], f"v{x['version']}", china_time(x["imported_at"])]
               for x in report["layers"]])
    for w in report["warnings"]:
        out.print(f"提示：{w}", markup=False)
    out.print(report["summary_zh"], style="bold")



def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _finding_rows(f: dict[str, Any]) -> list[list[str]]:
    """One row per finding, one per level for water sources; no area for capacity."""
    if f["kind"] == "env_capacity" and not f["overlap_m2"]:
        return [[f["title"], STATUS_ZH[f["status"]], "—", "—", "—", ""]]
    parts = f.get("by_level") or [f]
    return [[p["title"], STATUS_ZH[p["status"]], m2_text(p["overlap_m2"]),
             f"{p['overlap_mu']:,.2f}", share_text(p["overlap_share"]),
             "、".join(p["feature_ids"][:3])] for p in parts]


def _store_with_layers() -> tuple[Any, list[Any]]:
    """The store and its layers (the current catalogue, kept in the store as the vetting
    keeps it: :func:`~layers.catalogue_cache.current_layers`), if it has any layer:
    vetting against nothing is a set-up mistake (exit 2) that says where the store was
    looked for and how to load layers; nothing is created."""
    from blueprint.layers.catalogue_cache import current_layers
    from blueprint.layers.errors import EmptyStore

    store = open_store(create=False)
    catalogue = current_layers(store=store)
    if not catalogue:
        store.close()
        raise EmptyStore.at(store.location)
    return store, catalogue


def vet(
    site_file: Annotated[Path, typer.Argument(metavar="SITE", help="Site file (any format)")],
    industry: Annotated[str, typer.Option(help="Industry code")] = "industrial",
    county: Annotated[str | None, typer.Option(help="County code or name (default: from "
                                               "the site's location)")] = None,
    format: Annotated[str, typer.Option(help="table, json, geojson, html or pdf "
                                        "(初审意见书; html and pdf need --output)")] = "table",
    output: Annotated[Path | None, typer.Option(help="File for --format html or pdf")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --output file")] = False,
    reviewer: Annotated[str | None, typer.Option(help="Reviewer named on the html/pdf "
                                                 "report (default: the local operator)")] = None,
    emissions: Annotated[list[str] | None, typer.Option(
        help="e.g. SO2=12.5,NOx=30 (t/yr); may be repeated, each pollutant once")] = None,
    demand: Annotated[list[str] | None, typer.Option(
        help="Quota demands, e.g. new_construction_land=2.5,energy=3000; may be repeated, "
             "each kind once")] = None,
    year: Annotated[int | None, typer.Option(help="Quota year", callback=year_bound)] = None,
    crs: Annotated[str | None, typer.Option(help="CRS when the file has none")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding")] = None,
    points: Annotated[bool, typer.Option(
        "--points", help="SITE is a point table as pasted (界址点坐标表: X Y, name X Y or "
        "name ring X Y a line, X the northing), or - for standard input; --crs gives the "
        "zone when the eastings carry no prefix")] = False,
    rules: Annotated[str | None, typer.Option(help="Rules TOML file")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Vet against the layer versions current then: 2026-03-02 (the end "
        "of that day, China time) or 2026-03-02T10:00[+08:00] (no zone: China time); "
        "2000-2100 in China")] = None,
) -> None:
    """Vet a site against every layer of the blueprint."""
    from blueprint.analysis.amounts import parse_demands
    from blueprint.analysis.capacity import parse_emissions
    from blueprint.analysis.clock import as_of_time
    from blueprint.analysis.vetting import VetRequest, vet_site

    check_format(format, FORMATS)
    if format in ("html", "pdf") and output is None:
        raise BadInput(f"--format {format} needs --output FILE", where="--output",
                       message_zh=f"输出 {format} 格式须用 --output 指定文件")
    if output is not None:
        if format not in ("html", "pdf"):
            raise BadInput(f"--output is for --format html or pdf, not {format}",
                           where="--output",
                           message_zh="--output 仅用于 --format html 或 pdf（初审意见书）")
        output_file(output, where="--output", force=force)  # before the work, not after it
    if format == "pdf":  # Chromium (or the BLUEPRINT_CHROMIUM configured) found first too
        from blueprint.analysis.review.pdf import chromium_path

        chromium_path()
    from blueprint.service.context import reading_store, rules_from_settings
    from blueprint.service.settings import get_settings

    settings = get_settings()
    # the options first, as the API checks its body before it reads the site
    emitted, demands = parse_emissions(emissions), parse_demands(demand)
    moment = as_of_time(as_of, "--as-of") if as_of else None
    site = (_read_points(site_file, crs, encoding) if points
            else read_site_file(site_file, crs=crs, encoding=encoding))
    from blueprint.analysis.site_county import resolve_county

    ruleset = rules_from_settings(settings, rules)
    store, catalogue = _store_with_layers()
    request = VetRequest(site=site, industry=industry, emissions=emitted, demands=demands,
                         county=resolve_county(county, store=store, where="--county",
                                               catalogue=catalogue, as_of=moment),
                         year=year, as_of=moment)
    if points:
        from blueprint.analysis.site_county import require_in_city

        require_in_city(site, store=store, as_of=moment)
    report = vet_site(request, store=reading_store(store, ledger=bool(request.demands)),
                      rules=ruleset)
    if output is not None and format in ("html", "pdf"):
        _write_review(report, store, format, output, reviewer, site.parcel_geometries)
    else:
        _render(report, format, store)


def _read_points(path: Path, crs: str | None, encoding: str | None) -> Any:
    """The site in a point table: a file (or ``-``, standard input), at most
    :data:`~layers.coordfile.table.MAX_TEXT` bytes, UTF-8 or GBK as a coordinate file."""
    import os
    import sys

    from blueprint.analysis.site import site_from_points
    from blueprint.layers.coordfile.table import MAX_TEXT, PASTED
    from blueprint.layers.coordfile.text import decode
    from blueprint.layers.errors import TooLarge
    from blueprint.layers.safe_open import check_size
    from blueprint.service.context import site_limits
    from blueprint.service.settings import get_settings

    stdin = str(path) == "-"
    if stdin:
        data = sys.stdin.buffer.read(MAX_TEXT + 1)
        if len(data) > MAX_TEXT:
            raise TooLarge(f"more than {MAX_TEXT:,} bytes of points on standard input",
                           message_zh=f"标准输入的界址点坐标超过 {MAX_TEXT:,} 字节", where="-")
    else:
        if os.path.isdir(path):
            raise BadInput(f"{path} is a folder; give the file of points", where=str(path),
                           message_zh=f"{path.name} 是文件夹，请指定界址点坐标表文件")
        check_size(path, max_bytes=MAX_TEXT)
        data = path.read_bytes()
    source = PASTED if stdin else path.name
    return site_from_points(decode(data, encoding, source), crs=crs,
                            name=None if stdin else path.stem, source=source,
                            limits=site_limits(get_settings()))


def _write_review(report: Any, store: Any, fmt: str, output: Path,
                  reviewer: str | None, parcels: list[Any]) -> None:
    """The 初审意见书 as a printable page or a PDF."""
    from blueprint.analysis.review.document import review_html, site_review
    from blueprint.service.context import local_actor

    html = review_html(site_review(report, store=store, reviewer=reviewer or local_actor(),
                                   parcels=parcels), store=store)
    if fmt == "pdf":
        from blueprint.analysis.review.pdf import html_to_pdf

        output.write_bytes(html_to_pdf(html))
    else:
        output.write_text(html, encoding="utf-8")
    out.print(f"{report.verdict_zh}：初审意见书已写入 {output}")


def vet_batch(
    sites: Annotated[list[Path], typer.Argument(help="Site files or folders")],
    output: Annotated[Path, typer.Option(help="JSON Lines file, one report per site")],
    industry: Annotated[str, typer.Option(help="Industry code")] = "industrial",
    workers: Annotated[int, typer.Option(min=0, max=256, help="Worker processes, each with "
                                         "its own store (0: one per core)")] = 0,
    force: Annotated[bool, typer.Option(help="Replace an existing output file")] = False,
) -> None:
    """Vet many sites on all cores with a progress bar; bad files are reported, not fatal."""
    import os

    output_file(output, where="--output", force=force)  # before the work, not after it
    # a path named is vetted whatever it is (one missing or mistyped: its error line, not
    # left out unsaid); a folder's files by their suffix
    files = [p for s in sites for p in (sorted(s.iterdir()) if os.path.isdir(s) else [s])
             if p == s or p.suffix.lower() in SITE_SUFFIXES]
    if not files:
        raise BadInput("no site files found (.txt, .geojson, .gpkg, .shp, .zip, .kml)",
                       message_zh="没有找到地块文件")
    from blueprint.service.cli.vet_batch import CHUNK, default_workers, run_batch
    from blueprint.service.context import rules_from_settings
    from blueprint.service.settings import get_settings

    rules_from_settings(get_settings()).industry(industry)  # one error, not one per file
    _store_with_layers()[0].close()  # the workers open their own
    workers = min(workers or default_workers(), len(files))
    size = min(CHUNK, -(-len(files) // workers))  # a few files still go to every worker
    started = time.perf_counter()
    counts = run_batch(files, output, industry, workers, size)
    took = time.perf_counter() - started
    out.print(f"已审查 {len(files)} 个地块：" + "，".join(f"{k} {v} 个" for k, v in counts.items())
              + f"；结果已写入 {output}")
    out.print(f"用时 {took:.2f} 秒，每秒 {len(files) / max(took, 1e-9):.0f} 个地块"
              f"（{workers} 个进程）")
