"""``blueprint site-search``: where a project can go (精准选址), ranked candidates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from blueprint.analysis.messages import VERDICT_ZH
from blueprint.service.cli.console import (
    check_format,
    open_store,
    out,
    print_json,
    progress_bar,
    table,
)

FORMATS = ("table", "json", "geojson")
SOURCE_ZH = {"land_bank": "储备地块", "anywhere": "自动布设"}


def site_search(
    area: Annotated[str, typer.Option(help="Site area: 12ha, 180亩, 120000m2")],
    industry: Annotated[str, typer.Option(help="Industry code")] = "industrial",
    county: Annotated[str | None, typer.Option(help="County code or name (default: every "
                                                 "county)")]
    = None,
    emissions: Annotated[list[str] | None, typer.Option(
        help="e.g. SO2=2,NOx=3 (t/yr); may be repeated, each pollutant once")] = None,
    demand: Annotated[list[str] | None, typer.Option(
        help="Quota demands, e.g. land=12; may be repeated, each kind once")] = None,
    top: Annotated[int, typer.Option(help="Candidates to list (1–50)")] = 10,
    near: Annotated[str | None, typer.Option(help="LON,LAT: rank by distance to this point, "
                                             "in the city or within 50 km of it (default: "
                                             "the county seat)")] = None,
    source: Annotated[str, typer.Option(help="land_bank, anywhere or both")] = "both",
    tolerance: Annotated[float | None, typer.Option(
        help="Share a land-bank parcel's area may differ by (default 0.1)")] = None,
    format: Annotated[str, typer.Option(help="table, json or geojson")] = "table",
    rules: Annotated[str | None, typer.Option(help="Rules TOML file")] = None,
    ranking: Annotated[Path | None, typer.Option(help="Search and ranking TOML file "
                                                 "(default: analysis/site_search.toml)")]
    = None,
) -> None:
    """Find where a project can go: candidates the vetting passes, ranked, with reasons."""
    from blueprint.analysis.amounts import parse_demands
    from blueprint.analysis.capacity import parse_emissions
    from blueprint.analysis.counties import admin_counties
    from blueprint.analysis.site_search import (
        SearchRequest,
        result_geojson,
        result_json,
        search_sites,
    )
    from blueprint.analysis.site_search.config import load_search_config
    from blueprint.analysis.site_search.inputs import parse_area, parse_point
    from blueprint.service.context import reading_store, rules_from_settings
    from blueprint.service.settings import get_settings

    check_format(format, FORMATS)
    request = SearchRequest(industry=industry, area_m2=parse_area(area), county=county,
                            emissions=parse_emissions(emissions), demands=parse_demands(demand),
                            top=top, near=parse_point(near) if near else None, source=source,
                            tolerance=tolerance)
    ruleset = rules_from_settings(get_settings(), rules)
    config = load_search_config(ranking)  # a file that cannot be used: before the store
    store = _store_with_layers()
    try:
        with progress_bar() as bar:  # on stderr, on a terminal only: stdout stays the answer
            task = bar.add_task("精准选址", total=None)

            def step(what: str, done: int, total: int | None) -> None:
                bar.update(task, description=what, completed=done, total=total)

            result = search_sites(request, rules=ruleset, config=config, progress=step,
                                  store=reading_store(store, ledger=bool(request.demands)))
        names = admin_counties(store=store) if format == "table" else {}
    finally:
        store.close()
    doc = result_json(result)
    if format == "json":
        print_json(doc)
    elif format == "geojson":
        print_json(result_geojson(doc))
    else:
        _print_table(doc, names)


def _store_with_layers() -> Any:
    """The store, if it has any layer (else :class:`EmptyStore`, exit 2); the catalogue
    read here is kept in it for the search (:func:`~layers.catalogue_cache.current_layers`),
    not listed again."""
    from blueprint.layers.catalogue_cache import current_layers
    from blueprint.layers.errors import EmptyStore

    store = open_store(create=False)
    if not current_layers(store=store):
        store.close()
        raise EmptyStore.at(store.location)
    return store


def _print_table(doc: dict[str, Any], names: dict[str, str]) -> None:
    """The candidates, each with its county by name (``names``: code → name), as the 找地块
    card lists them: a search of every county said nowhere where a candidate lies."""
    rows = [[str(c["rank"]), c["id"], SOURCE_ZH[c["source"]],
             _county(c["report"]["county"], names), VERDICT_ZH[c["verdict"]],
             f"{c['score']:.1f}", f"{c['area_m2'] / 10_000:.4f}", "；".join(c["reasons_zh"])]
            for c in doc["candidates"]]
    if rows:
        table("精准选址候选地块", ["排名", "编号", "来源", "县区", "初审结论", "得分",
                            "面积（公顷）", "理由"], rows)
    for note in doc["notes_zh"]:
        out.print(f"提示：{note}", markup=False)
    if doc["blocked_zh"]:
        out.print(f"未找到候选地块：{doc['blocked_zh']}", style="bold")


def _county(code: str | None, names: dict[str, str]) -> str:
    """A candidate's county by name (its code when the layer names it not; blank: none)."""
    return names.get(code, code) if code else ""
