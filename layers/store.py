"""Storage: one SQLAlchemy engine over SQLite (embedded) or PostgreSQL/PostGIS.

What differs between the two lives behind :mod:`layers.engine`.

The edge (CLI or service lifespan) opens a :class:`Store` once and passes it into
core functions as the keyword-only argument ``store``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from blueprint.layers.engine.base import Backend
from blueprint.layers.engine.registry import backend_for_url, backend_of
from blueprint.layers.errors import StorageUnavailable, first_line
from blueprint.layers.schema import audit_log

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass
class Store:
    """An open storage engine plus the folder for files (rasters).

    ``engine`` is the SQLAlchemy engine; ``backend`` is what the storage engine does its
    own way (overlay, paging, bulk writes, locks), chosen once when the store opens.
    """

    engine: Engine
    data_dir: Path
    database_url: str = ""
    cache: dict[str, Any] = field(default_factory=dict)
    backend: Backend = field(default=None, compare=False)  # type: ignore[assignment]
    replica: Store | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.backend is None:  # a Store built around an engine open_store made
            self.backend = backend_of(self.engine)

    @property
    def engine_name(self) -> str:
        """``postgis`` or ``embedded``: a label for reports and logs."""
        return self.backend.name

    @property
    def location(self) -> str:
        """Where the store is, for a person: the data folder or the database server."""
        if not self.database_url:  # embedded: the data folder
            return str(self.data_dir.resolve())
        url = self.engine.url
        return f"PostgreSQL {url.host or 'localhost'}:{url.port or 5432}/{url.database}"

    @property
    def raster_dir(self) -> Path:
        """Folder where imported rasters are kept (both engines reference files).

        The catalogue stores each raster's file name only, so the data folder may move and
        relative ``BLUEPRINT_DATA_DIR`` values work from any working directory.
        """
        path = self.data_dir.resolve() / "rasters"
        if not path.exists():
            path.mkdir(parents=True, mode=0o700)
        return path

    def read(self) -> Connection:
        """A connection for reading only.

        On SQLite it begins deferred transactions, so readers (the map, vetting) go on
        while a writer holds the lock (WAL); writers use ``engine.begin()``, which takes
        the write lock at once.
        """
        return self.engine.connect().execution_options(blueprint_read_only=True)

    def for_reads(self) -> Store:
        """The store to hand to reads that may lag a moment behind the last commit.

        With a read replica open (``BLUEPRINT_READ_DATABASE_URL``) that is a store over the
        replica's read-only pool; otherwise this store. The edge decides which reads may
        use it (:func:`blueprint.service.context.reading_store`); the core uses whatever
        store it is given.
        """
        return self.replica or self

    def close(self) -> None:
        """Dispose of the connection pool (and the replica's)."""
        self.engine.dispose()
        if self.replica is not None:
            self.replica.engine.dispose()


def open_store(database_url: str, data_dir: Path, *, pool_size: int = 5,
               migrate: bool = True, read_url: str = "") -> Store:
    """Open the configured engine, check it answers, and bring its schema up to date.

    ``read_url`` (PostgreSQL only) opens a streaming replica beside it as
    ``store.replica`` (:func:`open_replica`); the schema is migrated on the primary only.
    Raises :class:`StorageUnavailable` with one clear line when the server is down,
    the URL is wrong or PostGIS is missing.
    """
    data_dir = Path(data_dir)
    backend = backend_for_url(database_url)
    engine = _connected_engine(backend, database_url, data_dir, pool_size=pool_size,
                               setting="BLUEPRINT_DATABASE_URL", what=("database", "数据库"))
    store = Store(engine=engine, data_dir=data_dir, database_url=database_url, backend=backend)
    if migrate and not _embedded_at_head(store):
        upgrade(store)
    if read_url:
        store.replica = open_replica(read_url, store, pool_size=pool_size)
    return store


READ_APPLICATION_NAME = "blueprint-read"


def open_replica(read_url: str, primary: Store, *, pool_size: int = 5) -> Store:
    """A store over a read replica of ``primary``: same engine kind, data folder and cache.

    Its connections say ``application_name=blueprint-read`` (``pg_stat_activity``) and run
    every transaction read-only (``default_transaction_read_only``), so a write routed
    there by mistake fails instead of landing anywhere, even when the URL names a server
    that accepts writes.
    """
    if not primary.database_url:
        raise StorageUnavailable(
            "BLUEPRINT_READ_DATABASE_URL needs BLUEPRINT_DATABASE_URL: only PostgreSQL has "
            "read replicas",
            message_zh="只读副本须与 PostgreSQL 主库（BLUEPRINT_DATABASE_URL）同用")
    engine = _connected_engine(primary.backend, read_url, primary.data_dir,
                               pool_size=pool_size, setting="BLUEPRINT_READ_DATABASE_URL",
                               what=("read replica", "只读副本"), on_connect=_read_only_connect)
    return Store(engine=engine, data_dir=primary.data_dir, database_url=read_url,
                 cache=primary.cache, backend=primary.backend)


def _connected_engine(backend: Backend, url: str, data_dir: Path, *, pool_size: int,
                      setting: str, what: tuple[str, str],
                      on_connect: Callable[..., None] | None = None) -> Engine:
    """The engine for ``url``, checked to answer (``on_connect`` listens to ``do_connect``
    before the first connection); StorageUnavailable in one line naming ``setting`` when
    the URL cannot be parsed or the server does not answer (``what``: English, Chinese)."""
    try:
        engine = backend.create_engine(url, data_dir, pool_size=pool_size)
    except (ValueError, sa.exc.ArgumentError) as exc:  # the URL cannot be parsed
        raise StorageUnavailable(f"{setting} is not a valid database URL: {first_line(exc)}",
                                 message_zh=f"{setting} 格式有误") from None
    if on_connect is not None:
        sa.event.listen(engine, "do_connect", on_connect)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise StorageUnavailable(
            f"cannot connect to the {what[0]}: {first_line(exc)}",
            message_zh=f"无法连接{what[1]}，请检查 {setting} 和数据库服务") from None
    return engine


def _read_only_connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
    """Every replica connection: named ``blueprint-read``, read-only transactions."""
    cparams["application_name"] = READ_APPLICATION_NAME
    cparams["options"] = " ".join(filter(None, (cparams.get("options"),
                                                "-c default_transaction_read_only=on")))


def _head_revision() -> str | None:
    """The newest migration's id, read from the files (no Alembic import)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found = re.search(r'^revision = "([^"]+)"', text, re.M)
        parent = re.search(r'^down_revision = "([^"]+)"', text, re.M)
        if found:
            revisions.add(found.group(1))
        if parent:
            parents.add(parent.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _embedded_at_head(store: Store) -> bool:
    """True when an embedded store's schema is already the newest: the CLI then skips
    importing Alembic (a third of a short command's start-up)."""
    if store.database_url:  # a server database: Alembic decides
        return False
    try:
        with store.engine.connect() as conn:
            current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.SQLAlchemyError:
        return False
    return current is not None and current == _head_revision()


def storage_unavailable(exc: BaseException) -> StorageUnavailable:
    """The one-line domain error for a database connection refused or lost mid-way."""
    return StorageUnavailable(f"the database is unavailable: {first_line(exc)}",
                              message_zh="数据库暂时不可用，请稍后重试")


def upgrade(store: Store) -> str:
    """Create or upgrade the schema to the newest migration (idempotent).

    Returns the revision the database is at afterwards.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with store.engine.begin() as conn:
        store.backend.prepare_schema(conn)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        from alembic.runtime.migration import MigrationContext

        revision = MigrationContext.configure(conn).get_current_revision()
    return revision or ""


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _detail_value(value: Any) -> str:
    """A value of an audit detail that JSON has no type for: a moment as the API writes it
    (RFC 3339 in UTC with ``Z``), anything else as its text."""
    from blueprint.layers.layer_info import iso_utc

    return iso_utc(value) if isinstance(value, datetime) else str(value)


SYSTEM_ACTOR = "system"  # what Blueprint did by itself (an expired hold released, a lock)


def write_audit(conn: Connection, *, actor: str, action: str, obj: str,
                detail: dict[str, Any], project: str | None = None,
                at: datetime | None = None) -> None:
    """Append one audit row (who, when, what) inside the caller's transaction.

    ``detail`` holds what changed (by convention ``before`` / ``after`` for edits);
    ``project`` is the code of the project the change concerns, for reading by project.
    Where the write comes from (the CLI's OS user, :data:`layers.audit_chain.AUDIT_ORIGIN`)
    goes into ``detail["origin"]``. The row is chained to the one before it
    (:mod:`layers.audit_chain`) under the audit lock, held to the end of the transaction
    (``BEGIN IMMEDIATE`` on SQLite already).
    """
    from blueprint.layers.audit_chain import AUDIT_ORIGIN, GENESIS, row_hash, utc

    if (origin := AUDIT_ORIGIN.get()) is not None:
        detail = {**detail, "origin": origin}
    backend_of(conn).lock_audit(conn)
    at, text = utc(at or now()), json.dumps(detail, ensure_ascii=False, default=_detail_value)
    prev = conn.execute(sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc())
                        .limit(1)).scalar() or GENESIS
    conn.execute(audit_log.insert().values(
        at=at, actor=actor, action=action, object=obj, project=project, detail=text,
        prev_hash=prev, hash=row_hash(prev, at=at, actor=actor, action=action, obj=obj,
                                      project=project, detail=text),
    ))
