"""``blueprint layers …`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from blueprint.layers.errors import EmptyStore
from blueprint.service.cli.console import (
    Format,
    china_time,
    import_progress,
    open_store,
    out,
    print_json,
    progress_bar,
    table,
)
from blueprint.service.context import local_actor

if TYPE_CHECKING:
    from blueprint.layers.layer_info import LayerInfo

layers_app = typer.Typer(help="Layers of the one blueprint (import, list, history, remove).",
                         no_args_is_help=True)


@layers_app.command("import")
def layers_import(
    path: Path,
    kind: Annotated[str, typer.Option(help="Layer kind, e.g. ecological_redline")],
    name: Annotated[str | None, typer.Option(help="Layer name (default: file stem)")] = None,
    title: Annotated[str | None, typer.Option(help="Chinese title shown on maps")] = None,
    layer: Annotated[str | None, typer.Option(help="Sublayer (GeoPackage, FileGDB)")] = None,
    encoding: Annotated[str | None, typer.Option(help="Attribute encoding, e.g. GBK")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS when the file has none")] = None,
    class_field: Annotated[str | None, typer.Option(help="Field with the class "
                                                    "(water level, land use)")] = None,
    id_field: Annotated[str | None, typer.Option(help="Field with feature ids")] = None,
    format: Format = "table",
) -> None:
    """Import a layer file; a layer of the same name is replaced atomically."""
    from blueprint.layers.importer import ImportOptions, import_layer
    from blueprint.service.settings import get_settings

    options = ImportOptions(kind=kind, name=name, title=title, layer=layer, encoding=encoding,
                            crs=crs, class_field=class_field, id_field=id_field,
                            actor=local_actor(),  # an administrator's own files: 2 GB
                            limits=get_settings().file_limits(max_mb=2048))
    store = open_store()
    with progress_bar() as bar:
        report = import_layer(path, options, store=store,
                              progress=import_progress(bar, options.name or path.stem))
    if format == "json":
        print_json(report.to_dict())
        return
    if report.unchanged:
        out.print(report.warnings[0], markup=False)
        return
    out.print(f"已导入 {report.title} [{report.name}]：{report.feature_count} 个要素，"
              f"源坐标系 {report.source_crs}", markup=False)
    for w in report.warnings:
        out.print(f"  提示：{w}")


@layers_app.command("list")
def layers_list(format: Format = "table") -> None:
    """Show every layer: name, kind, feature count, extent, source, imported at."""
    from blueprint.service.context import store_location
    from blueprint.service.settings import get_settings

    settings = get_settings()
    if not settings.database_url:  # embedded: a read-only look without SQLAlchemy (fast)
        from blueprint.layers.catalogue_quick import quick_list_layers

        db_file = settings.data_dir / "blueprint.db"
        quick = quick_list_layers(db_file, settings.data_dir.resolve() / "rasters")
        if quick is not None:
            _print_layers(quick, str(settings.data_dir.resolve()), format)
            return
    try:
        store = open_store(create=False)
    except EmptyStore:  # nothing there yet: say where we looked, create nothing
        if format == "json":
            print_json([])
        else:
            out.print(f"图层库为空：{store_location(get_settings())} 下还没有图层库。"
                      "请用 blueprint sample load 导入样例城市，或用 blueprint layers import "
                      "导入图层（也可设置 BLUEPRINT_DATA_DIR 指向已有图层库）。")
        return
    from blueprint.layers.repository import list_layers
    from blueprint.service.context import reading_store

    _print_layers(list_layers(store=reading_store(store)), store.location, format)


def _print_layers(infos: list[LayerInfo], location: str, format: str) -> None:
    if format == "json":
        print_json([i.to_dict() for i in infos])
        return
    rows = [[i.name, i.kind, i.title, i.feature_count if not i.is_raster else "栅格",
             ", ".join(f"{v:.4f}" for v in i.bbox), i.source_file,
             china_time(i.imported_at)] for i in infos]
    columns = ["名称", "类型", "标题", "要素数", "范围（EPSG:4490）", "来源文件",
               "导入时间（北京时间）"]
    table("图层目录", columns, rows)
    out.print(f"图层库：{location}（共 {len(infos)} 个图层）")
    if not infos:
        out.print("图层库中还没有图层：请用 blueprint sample load 导入样例城市，"
                  "或用 blueprint layers import 导入图层。")


@layers_app.command("remove")
def layers_remove(name: str) -> None:
    """Take a layer off the map and out of vetting (audited; its versions stay on record)."""
    from blueprint.layers.repository import remove_layer

    remove_layer(name, store=open_store(), actor=local_actor())
    out.print(f"已移除图层 {name}（各版本仍存档，可用 blueprint layers history {name} 查看）")


@layers_app.command("history")
def layers_history(name: str,
                   format: Format = "table") -> None:
    """Every version of a layer: who imported it, when, from which file, features, checksum."""
    from blueprint.analysis.clock import shown_cn
    from blueprint.layers.layer_info import iso_utc
    from blueprint.layers.repository import layer_history

    versions = layer_history(name, store=open_store(create=False))
    if format == "json":
        print_json([{**v.to_dict(), "version": v.version_number, "checksum": v.checksum,
                     "current": v.current,
                     "superseded_at": iso_utc(v.superseded_at) if v.superseded_at else None}
                    for v in versions])
        return
    table(f"图层“{name}”的版本",
          ["版本", "导入时间", "导入人", "源文件", "要素数", "校验值（SHA-256）", "状态"],
          [[v.version_number, shown_cn(v.imported_at, "%Y-%m-%d %H:%M:%S"),
            v.imported_by, v.source_file, v.feature_count, (v.checksum or "—")[:16],
            "现行" if v.current else "已被替换"] for v in versions])
