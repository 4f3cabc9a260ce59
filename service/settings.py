"""Settings, read from the environment with the ``BLUEPRINT_`` prefix.

A plain pydantic model that fills each field from ``BLUEPRINT_<FIELD>`` (explicit
arguments win). pydantic-settings did the same but cost a tenth of a second at every
CLI start (issue 9: ``blueprint layers list`` under 0.5 s).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from blueprint.layers.errors import BadInput

if TYPE_CHECKING:
    from blueprint.layers.safe_open import Limits


ENV_PREFIX = "BLUEPRINT_"


class Settings(BaseModel):
    """Runtime configuration of the CLI and the service.

    ``database_url`` empty means the embedded engine: SQLite in ``data_dir``.
    A ``postgresql://`` URL switches every record and layer to PostgreSQL/PostGIS.
    ``read_database_url`` (PostgreSQL only) is a streaming replica of it: vetting, the
    layer catalogue, features and the map read there; everything else stays on the
    primary (:func:`blueprint.service.context.reading_store`, docs/scaling.md).
    """

    model_config = ConfigDict(extra="ignore")

    data_dir: Path = Field(default=Path(".blueprint"))
    database_url: str = ""
    read_database_url: str = ""  # a hot standby of database_url (docs/scaling.md)
    basemap_url: str = ""  # e.g. http://127.0.0.1:8081/{z}/{x}/{y}.png ; empty: no basemap
    basemap_attribution: str = ""
    max_upload_mb: int = 200  # a file upload (multipart body), checked before it is read
    max_json_mb: int = 10  # any other request body (a GeoJSON site, a quota operation)
    max_unzipped_mb: int = 1024  # what a zip may unpack to
    max_zip_members: int = 1000
    # cells of an imported raster, width × height × bands, read from its header before any
    # pixel: the capacity raster of a whole city (~10,000 km²) at 10 m cells is 10^8 cells a
    # band, so 4×10^8 takes four such bands (or one at 5 m); a vet reads at most that many
    max_raster_cells: int = Field(default=400_000_000, ge=1)
    max_restore_gb: float = Field(default=10, gt=0)  # a backup `blueprint restore` accepts
    rules_file: Path | None = None
    pool_size: int = 5
    max_site_vertices: int = Field(default=100_000, ge=4)  # per site, all parcels together
    max_site_parts: int = Field(default=1_000, ge=1)  # polygons per site
    max_site_ha: float = Field(default=10_000.0, gt=0)  # hectares per site (100 km²)
    session_hours: float = Field(default=8, gt=0, le=24 * 30)  # a page sign-in lasts this long
    token_days: float = Field(default=90, gt=0, le=3650)  # a new or rotated API token's life
    # sign-in lock-out: this many wrong passwords in a row lock the name for lockout_minutes
    lockout_failures: int = Field(default=5, ge=1, le=100)
    lockout_minutes: float = Field(default=15, gt=0, le=24 * 60)
    # the session cookie's Secure flag: auto = Secure except for plain http to a loopback
    # host (127.0.0.1, localhost, ::1); true = always; false = never (plain-http deployments)
    cookie_secure: str = "auto"
    # true: the map, its API reads and the OGC API answer anyone who reaches the server;
    # false: only a signed-in user or an API token (service/sign_in_gate.py, docs/deploy.md)
    public_map: bool = True

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        """Fields not given explicitly come from ``BLUEPRINT_<FIELD>`` (any case)."""
        environ = {key.upper(): value for key, value in os.environ.items()
                   if key.upper().startswith(ENV_PREFIX)}
        found = {name: environ[key] for name in cls.model_fields
                 if (key := ENV_PREFIX + name.upper()) in environ}
        return {**found, **(data if isinstance(data, dict) else {})}

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _postgres_url(value)

    @field_validator("read_database_url")
    @classmethod
    def _check_read_url(cls, value: str, info: ValidationInfo) -> str:
        value = _postgres_url(value)
        if value and not info.data.get("database_url"):
            raise ValueError("a read replica needs BLUEPRINT_DATABASE_URL (PostgreSQL) set too")
        return value

    @field_validator("cookie_secure")
    @classmethod
    def _check_cookie_secure(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("auto", "true", "false"):
            raise ValueError("must be auto, true or false")
        return value

    def file_limits(self, max_mb: int | None = None) -> Limits:
        """The limits every file a user sends is checked against before it is read."""
        from blueprint.layers.safe_open import Limits

        return Limits(max_bytes=(max_mb or self.max_upload_mb) * 1024 * 1024,
                      max_unzipped_bytes=self.max_unzipped_mb * 1024 * 1024,
                      max_zip_members=self.max_zip_members,
                      max_raster_cells=self.max_raster_cells)

    @property
    def engine_name(self) -> str:
        """``postgis`` or ``embedded``."""
        return "postgis" if self.database_url else "embedded"


def _postgres_url(value: str) -> str:
    """A ``postgresql://`` URL (``postgres://`` accepted) or empty; anything else is refused."""
    value = value.strip()
    if value and not value.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
        raise ValueError("must be a postgresql:// URL (or empty)")
    if value.startswith("postgres://"):
        value = "postgresql://" + value.removeprefix("postgres://")
    return value


def get_settings() -> Settings:
    """Read the settings from the environment now; a bad value is one clear :class:`BadInput`."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "BLUEPRINT_" + "_".join(str(p) for p in first["loc"]).upper()
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise BadInput(reason, message_zh=f"配置项 {name} 有误", where=name) from None
