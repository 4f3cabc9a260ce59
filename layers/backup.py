"""Backup and restore of a whole store: the records, the layers and the raster files.

One archive (tar.gz, created 0600) holds ``manifest.json``, the database and ``rasters/``:

- embedded engine: ``blueprint.db``, a consistent copy made with SQLite's online backup
  API while the store stays open (readers and writers wait at most for one step);
- PostGIS: ``store.pgdump``, ``pg_dump --format=custom`` of the store's schema (tables,
  triggers, functions, data); ``pg_restore --clean`` brings it back into the same schema.

A restore refuses a store that holds anything (:func:`is_empty`) unless ``force``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa

from blueprint.layers.errors import BadInput, Conflict, TooLarge
from blueprint.layers.layer_info import iso_utc
from blueprint.layers.store import Store, now

FORMAT = 1
GIB = 1024**3
DEFAULT_MAX_RESTORE_BYTES = 10 * GIB  # the archive, and what it unpacks to
_TOP_FILES = ("manifest.json", "blueprint.db", "store.pgdump")
_RECORD_TABLES = ("layers", "audit_log", "users", "quota_operations", "projects")


def is_empty(*, store: Store) -> bool:
    """True when the store has no layer, audit row, user, quota operation or project."""
    with store.read() as conn:
        return all(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() == 0
                   for t in _RECORD_TABLES)


def _pg_url(store: Store) -> str:
    return store.engine.url.set(drivername="postgresql").render_as_string(
        hide_password=False)


def _schema(store: Store) -> str:
    with store.read() as conn:
        return str(conn.execute(sa.text("SELECT current_schema()")).scalar())


def _run(args: list[str], store: Store) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Conflict(f"{args[0]} failed: {done.stderr.strip()[:500]}",
                       message_zh=f"{Path(args[0]).name} 执行失败，请检查数据库连接与权限")


def _counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() or 0)
                for t in _RECORD_TABLES}


def backup_store(path: Path, *, store: Store) -> dict[str, Any]:
    """Write a backup of ``store`` to ``path`` (a new file, 0600); returns the manifest."""
    path = Path(path)
    manifest = {"format": FORMAT, "engine": store.engine_name, "created_at":
                iso_utc(now()), "counts": _counts(store)}
    with tempfile.TemporaryDirectory(prefix="blueprint-backup-") as tmp:
        work = Path(tmp)
        if store.database_url:
            manifest["schema"] = _schema(store)
            _run(["pg_dump", "--format=custom", f"--schema={manifest['schema']}",
                  f"--file={work / 'store.pgdump'}", _pg_url(store)], store)
        else:
            _sqlite_copy(_db_file(store), work / "blueprint.db")
        (work / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.chmod(path, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name in ("manifest.json", "blueprint.db", "store.pgdump"):
                if (work / name).exists():
                    tar.add(work / name, arcname=name)
            if store.raster_dir.exists():
                tar.add(store.raster_dir, arcname="rasters")
    return manifest


def restore_store(path: Path, *, store: Store, force: bool = False,
                  max_bytes: int = DEFAULT_MAX_RESTORE_BYTES) -> dict[str, Any]:
    """Replace the content of ``store`` with the backup at ``path``; returns its manifest.

    Raises :class:`TooLarge` when the archive, or what it unpacks to, is over ``max_bytes``;
    :class:`Conflict` on a store that is not empty unless ``force``; :class:`BadInput` when
    the archive is not a Blueprint backup of this engine or holds anything else (other
    names, links, paths leaving the folder). All of it is checked before anything is
    unpacked.
    """
    path = Path(path)
    _check_size(path, max_bytes)
    if not force and not is_empty(store=store):
        raise Conflict("the store is not empty: restore with --force to replace it",
                       message_zh="当前数据库不是空的；确需覆盖请加 --force")
    with tempfile.TemporaryDirectory(prefix="blueprint-restore-") as tmp:
        work = Path(tmp)
        manifest = _unpack(path, work, max_bytes)
        if manifest.get("engine") != store.engine_name:
            raise BadInput(f"a backup of the {manifest.get('engine')} engine cannot be "
                           f"restored into this store (engine {store.engine_name})",
                           message_zh="备份文件与当前数据库引擎不一致", where=str(path))
        if store.database_url:
            _restore_postgis(work / "store.pgdump", store)
        else:
            _restore_sqlite(work / "blueprint.db", store)
            # the index sidecars describe the replaced layers: rebuilt on the next load
            from blueprint.layers.engine.index_sidecar import remove_sidecars

            remove_sidecars(store)
        if (work / "rasters").is_dir():
            target = store.raster_dir
            shutil.rmtree(target)
            shutil.copytree(work / "rasters", target)
            os.chmod(target, 0o700)
    store.cache.clear()
    return manifest


def _gib(size: int) -> str:
    return f"{size / GIB:.1f} GiB"


def _check_size(path: Path, max_bytes: int) -> None:
    if not path.is_file():
        raise BadInput(f"no such backup file: {path}", message_zh=f"备份文件不存在：{path.name}",
                       where=str(path))
    size = path.stat().st_size
    if size > max_bytes:
        raise TooLarge(f"the backup is {_gib(size)}, more than the limit of {_gib(max_bytes)} "
                       "(BLUEPRINT_MAX_RESTORE_GB)",
                       message_zh=f"备份文件过大（{_gib(size)}，上限 {_gib(max_bytes)}）；确属正常"
                       "请调大 BLUEPRINT_MAX_RESTORE_GB", where=str(path))


def _check_members(tar: tarfile.TarFile, path: Path, max_bytes: int) -> None:
    """Only what :func:`backup_store` writes: the manifest, the database and ``rasters/``
    (regular files and folders, no links, no path out of the folder), within the limit."""
    total = 0
    for member in tar.getmembers():
        name = member.name
        parts = PurePosixPath(name).parts
        allowed = name in _TOP_FILES or (parts and parts[0] == "rasters")
        if not allowed or name.startswith("/") or ".." in parts or "\\" in name \
                or not (member.isfile() or member.isdir()):
            raise BadInput(f"the backup holds an unexpected entry: {name!r}",
                           message_zh=f"备份文件含有不应有的内容：{name}", where=str(path))
        total += member.size
        if total > max_bytes:
            raise TooLarge(f"the backup unpacks to more than {_gib(max_bytes)} "
                           "(BLUEPRINT_MAX_RESTORE_GB)",
                           message_zh=f"备份文件解压后超过 {_gib(max_bytes)}；确属正常请调大 "
                           "BLUEPRINT_MAX_RESTORE_GB", where=str(path))


def _unpack(path: Path, work: Path, max_bytes: int) -> dict[str, Any]:
    try:
        with tarfile.open(path, mode="r:gz") as tar:
            _check_members(tar, path, max_bytes)
            tar.extractall(work, filter="data")
        return dict(json.loads((work / "manifest.json").read_text()))
    except (OSError, EOFError, tarfile.TarError, ValueError, KeyError) as exc:
        raise BadInput(f"not a Blueprint backup: {exc}", message_zh="不是有效的蓝图备份文件",
                       where=str(path)) from None


def _db_file(store: Store) -> Path:
    return Path(str(store.engine.url.database))


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API, from one file to another."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _restore_sqlite(backup: Path, store: Store) -> None:
    store.engine.dispose()
    _sqlite_copy(backup, _db_file(store))


def _restore_postgis(dump: Path, store: Store) -> None:
    """Drop what the dump holds and create it again, in one transaction."""
    store.engine.dispose()
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          f"--dbname={_pg_url(store)}", str(dump)], store)
    store.engine.dispose()
