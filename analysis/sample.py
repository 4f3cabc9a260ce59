"""Loading the sample city (data/sample) through the normal importer."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from blueprint.layers.errors import InvalidFile
from blueprint.layers.importer import ImportOptions, ImportReport, import_layer
from blueprint.layers.store import Store

Progress = Callable[[str, int, int], None]


def read_manifest(sample_dir: Path) -> dict[str, Any]:
    """The sample's manifest.toml."""
    path = sample_dir / "manifest.toml"
    if not path.exists():
        raise InvalidFile("no manifest.toml in the sample folder", message_zh="样例目录缺少清单",
                          where=str(sample_dir))
    return tomllib.loads(path.read_text(encoding="utf-8"))


def load_sample(sample_dir: Path, *, store: Store, actor: str,
                progress: Progress | None = None) -> list[ImportReport]:
    """Import every layer of the sample manifest, then grant its yearly quotas."""
    manifest = read_manifest(sample_dir)
    reports = []
    for spec in manifest.get("layer", []):
        options = ImportOptions(kind=spec["kind"], name=spec.get("name"), title=spec.get("title"),
                                layer=spec.get("layer"), encoding=spec.get("encoding"),
                                class_field=spec.get("class_field"),
                                id_field=spec.get("id_field"), actor=actor)
        step = (lambda name: (lambda done, total: progress(name, done, total)))(spec["name"]) \
            if progress else None
        reports.append(import_layer(sample_dir / spec["path"], options, store=store,
                                    progress=step))
    quotas = manifest.get("quotas", {}).get("path")
    if quotas:
        _grant_sample_quotas(sample_dir / quotas, store=store, actor=actor)
    return reports


def _grant_sample_quotas(path: Path, *, store: Store, actor: str) -> None:
    from blueprint.analysis.quota.grants import grant_from_csv

    grant_from_csv(path, store=store, actor=actor)
