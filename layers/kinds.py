"""The layer-kind registry: one entry per kind of layer, read from ``layers/kinds.toml``.

Each entry holds everything the code needs to know about a kind: its Chinese title and
colour, whether it is a raster, its class fields, which rule evaluates it (the name of an
evaluator in :mod:`analysis.evaluators`), whether a store must have it, the Chinese of its
rule codes and how the map shows it. Nothing else lists kinds: a new kind is one entry
here plus its per-industry settings in ``analysis/rules.toml``.

>>> from blueprint.layers.kinds import kinds
>>> kinds().kinds["ecological_redline"].title
'生态保护红线'
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from blueprint.layers.errors import BadInput

DEFAULT_KINDS = Path(__file__).with_name("kinds.toml")
MISSING = ("required", "advised", "")
_KEYS = {"title", "color", "raster", "class_fields", "rule", "one_layer", "missing",
         "rules_zh", "web"}
_WEB_KEYS = {"shown", "style", "class_styles", "class_label", "class_names", "label_fields",
             "label_min_zoom", "piece_rules", "swatch"}


@dataclass(frozen=True)
class LayerKind:
    """One kind of layer: its Chinese title, storage form, class fields, rule and map style."""

    name: str
    title: str
    raster: bool = False
    class_fields: tuple[str, ...] = ()
    color: str = "#3388ff"
    rule: str = "info"
    one_layer: bool = False
    missing: str = ""
    rules_zh: Mapping[str, str] = field(default_factory=dict)
    web: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class KindRegistry:
    """All layer kinds, in the file's order, and the popup labels of attribute fields."""

    kinds: Mapping[str, LayerKind]
    field_labels: Mapping[str, str]
    path: Path

    def missing(self, level: str) -> list[str]:
        """Kinds whose absence from a store is ``required`` or ``advised`` knowledge."""
        return [k.name for k in self.kinds.values() if k.missing == level]

    def with_rule(self, rule: str) -> list[str]:
        """Kinds evaluated by ``rule``."""
        return [k.name for k in self.kinds.values() if k.rule == rule]


def load_kinds(path: str | Path | None = None) -> KindRegistry:
    """Read and check a registry file; the packaged ``layers/kinds.toml`` when ``path`` is None."""
    path = Path(path) if path else DEFAULT_KINDS
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"cannot read layer kinds file: {exc}", message_zh="无法读取图层类型文件",
                       where=str(path)) from None
    entries = {name: _kind(name, spec, f"{path} [kinds.{name}]")
               for name, spec in raw.get("kinds", {}).items()}
    labels = {str(k): str(v) for k, v in raw.get("field_labels", {}).items()}
    return KindRegistry(kinds=entries, field_labels=labels, path=path)


def _kind(name: str, spec: dict[str, Any], where: str) -> LayerKind:
    unknown = set(spec) - _KEYS | set(spec.get("web", {})) - _WEB_KEYS
    if unknown or "title" not in spec or spec.get("missing", "") not in MISSING:
        raise BadInput(f"layer kind {name!r}: needs a title; unknown keys {sorted(unknown)}; "
                       f"missing must be one of {MISSING}",
                       message_zh=f"图层类型“{name}”的定义无效", where=where)
    return LayerKind(
        name=name, title=str(spec["title"]), raster=bool(spec.get("raster", False)),
        class_fields=tuple(str(f) for f in spec.get("class_fields", ())),
        color=str(spec.get("color", "#3388ff")), rule=str(spec.get("rule", "info")),
        one_layer=bool(spec.get("one_layer", False)), missing=str(spec.get("missing", "")),
        rules_zh={str(k): str(v) for k, v in spec.get("rules_zh", {}).items()},
        web=dict(spec.get("web", {})))


_active: list[KindRegistry] = []


def kinds() -> KindRegistry:
    """The registry in use (the packaged one unless :func:`use_kinds` says otherwise)."""
    if not _active:
        _active.append(load_kinds())
    return _active[-1]


@contextmanager
def use_kinds(registry: KindRegistry | str | Path) -> Iterator[KindRegistry]:
    """Use another registry (a copy of ``kinds.toml`` with more kinds) inside the block."""
    chosen = registry if isinstance(registry, KindRegistry) else load_kinds(registry)
    kinds()
    _active.append(chosen)
    try:
        yield chosen
    finally:
        _active.remove(chosen)


V = TypeVar("V")


class LiveMapping(Mapping[str, V]):
    """A read-only view of a table derived from the registry in use, looked up each time.

    ``KINDS`` and the rule names are such views, so a module that imported them sees the
    registry :func:`use_kinds` installed.
    """

    def __init__(self, table: Callable[[], Mapping[str, V]]) -> None:
        self._table = table

    def __getitem__(self, key: str) -> V:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())
