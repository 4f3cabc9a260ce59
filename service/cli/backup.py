"""``blueprint backup FILE`` and ``blueprint restore FILE [--force]``: the whole store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from blueprint.service.cli.console import err, open_store, output_file, print_json


def backup(file: Annotated[Path, typer.Argument(help="The archive to write (tar.gz)")],
           force: Annotated[bool, typer.Option(
               "--force", help="Replace an existing file")] = False) -> None:
    """Back up the whole store (records, layers, rasters) into one archive (mode 0600)."""
    from blueprint.layers.backup import backup_store

    target = output_file(file, where="FILE", force=force)
    manifest = backup_store(target, store=open_store(create=False))
    err.print(f"已备份到 {file}（仅本人可读）：" + "，".join(
        f"{k} {v} 行" for k, v in manifest["counts"].items()))
    print_json(manifest)


def restore(file: Annotated[Path, typer.Argument(help="An archive `blueprint backup` wrote")],
            force: Annotated[bool, typer.Option(
                "--force", help="Replace a store that is not empty")] = False) -> None:
    """Restore the whole store from a backup; a store that is not empty needs --force.

    A backup over BLUEPRINT_MAX_RESTORE_GB (default 10), or unpacking to more, is refused."""
    from blueprint.layers.backup import restore_store
    from blueprint.layers.layer_info import stored_moments
    from blueprint.service.settings import get_settings

    settings = get_settings()
    limit = int(settings.max_restore_gb * 1024**3)
    before = _embedded_entries(settings)
    store = open_store()
    try:
        # a backup written before moments were written with Z says ``…+00:00``
        manifest = stored_moments(restore_store(file, store=store, force=force,
                                                max_bytes=limit))
    except BaseException:
        if before is not None:  # a store this command made: nothing of it left behind
            store.close()
            _remove_new(settings.data_dir, *before)
        raise
    err.print(f"已从 {file} 恢复（备份时间 {manifest['created_at']}）。"
              "建议随后运行 blueprint audit verify 核对审计日志。")
    print_json(manifest)


def _embedded_entries(settings: Any) -> tuple[bool, set[str]] | None:
    """What the embedded data folder holds before ``restore`` opens (and so creates) its
    store: whether the folder is there, and the names in it; None when there is a store
    there already, or the store is PostGIS (a failed restore leaves it as it was)."""
    import os

    folder = settings.data_dir
    if settings.database_url or (folder / "blueprint.db").exists():
        return None
    return (True, set(os.listdir(folder))) if folder.is_dir() else (False, set())


def _remove_new(folder: Path, existed: bool, before: set[str]) -> None:
    """Remove what opening the store made in ``folder`` (the folder too, when it is new)."""
    import os
    import shutil

    if not folder.is_dir():
        return
    if not existed:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for name in set(os.listdir(folder)) - before:
        target = folder / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
