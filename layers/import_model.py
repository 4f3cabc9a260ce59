"""What an import is asked to do and what it reports (shared by vector and raster imports)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from blueprint.layers.crs import FILE_ADVICE, CrsAdvice
from blueprint.layers.readers import DEFAULT_MAX_BYTES
from blueprint.layers.safe_open import Limits

Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    """What an import did, for the CLI table and the API."""

    name: str
    kind: str
    title: str
    feature_count: int
    repaired: int
    bbox: tuple[float, float, float, float]
    source_file: str
    source_crs: str
    encoding: str | None = None
    bands: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # the current version already holds exactly these features (same checksum, kind and
    # title): nothing was written, no new version (stored reports stay current)
    unchanged: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return asdict(self)


@dataclass
class ImportOptions:
    """Options of one import, as the CLI and API take them."""

    kind: str
    name: str | None = None
    title: str | None = None
    layer: str | None = None
    encoding: str | None = None
    crs: str | None = None
    class_field: str | None = None
    id_field: str | None = None
    actor: str = "system"
    max_bytes: int = DEFAULT_MAX_BYTES
    limits: Limits | None = None  # size limits of the file (max_bytes alone when not given)
    advice: CrsAdvice = FILE_ADVICE  # how a CRS refusal says to give one (the caller's channel)
