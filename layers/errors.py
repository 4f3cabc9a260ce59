"""Domain errors of Blueprint.

Every error a user can cause is a :class:`BlueprintError`. Each carries an English
message (``message``), a Chinese message for the UI (``message_zh``), where it differs the
Chinese message a page shows (``page_zh``: the names of what may be chosen, where the API
and the CLI, which take codes, list the codes) and, where known, where the problem is
(``where``: a file, a line, a feature). The edges map these classes to exit codes (CLI)
and HTTP statuses (service) in one place each.
"""

from __future__ import annotations


class BlueprintError(Exception):
    """Base of all domain errors: a clear message, never a stack trace for users."""

    code = "error"
    default_zh = "操作失败"

    def __init__(self, message: str, *, message_zh: str | None = None, where: str | None = None,
                 page_zh: str | None = None):
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or self.default_zh
        self.where = where
        self._page_zh = page_zh

    @property
    def page_zh(self) -> str:
        """What a page says: ``message_zh`` unless the error has a page's own wording."""
        return self._page_zh or self.message_zh

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def to_dict(self) -> dict[str, str | None]:
        """Return the error as the JSON body the API sends."""
        return {
            "error": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "where": self.where,
        }


class BadInput(BlueprintError):
    """Input the user gave cannot be used as it is."""

    code = "bad_input"
    default_zh = "输入数据有误"


class InvalidFile(BadInput):
    """A file cannot be read, is empty, too large, or in an unknown format."""

    code = "invalid_file"
    default_zh = "文件无法读取"


class TooLarge(InvalidFile):
    """A file, archive, request body or site is over a configured size limit."""

    code = "too_large"
    default_zh = "数据量超过限制"


class RefusedFormat(InvalidFile):
    """A file whose bytes are not one of the formats Blueprint opens (e.g. a GDAL VRT)."""

    code = "refused_format"
    default_zh = "不接受的文件格式"


class CoordinateFileError(InvalidFile):
    """A boundary-point coordinate file (界址点坐标文件) is malformed."""

    code = "coordinate_file"
    default_zh = "界址点坐标文件有误"


class InvalidGeometry(BadInput):
    """A geometry is empty, of the wrong kind, or cannot be repaired."""

    code = "invalid_geometry"
    default_zh = "几何图形无效"


class UnknownCRS(BadInput):
    """The coordinate reference system is missing, unknown or contradicts the coordinates."""

    code = "unknown_crs"
    default_zh = "坐标系缺失或有误"


class UnknownLayerKind(BadInput):
    """A layer kind that the catalogue does not know."""

    code = "unknown_layer_kind"
    default_zh = "未知的图层类型"


class NotFound(BlueprintError):
    """A layer, project, account or record does not exist."""

    code = "not_found"
    default_zh = "对象不存在"


class Conflict(BlueprintError):
    """The request conflicts with the current state (e.g. a reused idempotency key)."""

    code = "conflict"
    default_zh = "与现有数据冲突"


class QuotaExceeded(Conflict):
    """An operation would overdraw a quota balance."""

    code = "quota_exceeded"
    default_zh = "指标余额不足"


class NotAllowed(BlueprintError):
    """The user lacks the role or scope for this operation."""

    code = "not_allowed"
    default_zh = "无权执行此操作"


class NotAuthenticated(BlueprintError):
    """No valid credentials were given."""

    code = "not_authenticated"
    default_zh = "缺少访问令牌或令牌无效（令牌由系统管理员发放）"


class InvalidToken(NotAuthenticated):
    """A bearer token was sent but is not valid: unknown, a disabled user's, or expired
    (the API's 401 then says ``WWW-Authenticate: Bearer error="invalid_token"``, RFC 6750
    §3; without any token it is plain ``Bearer``)."""


class StorageUnavailable(BlueprintError):
    """The database cannot be reached or lacks what it needs (e.g. PostGIS)."""

    code = "storage_unavailable"
    default_zh = "数据库不可用"


class EmptyStore(BlueprintError):
    """The store has no layers at all: nothing to vet against (load some first)."""

    code = "empty_store"
    default_zh = "图层库为空"

    @classmethod
    def at(cls, location: str) -> EmptyStore:
        """The error for the store at ``location`` (a folder or a database)."""
        return cls(f"the layer store {location} is empty: load the sample city with "
                   "`blueprint sample load` or import layers with `blueprint layers import "
                   "PATH --kind KIND` (or point BLUEPRINT_DATA_DIR / BLUEPRINT_DATABASE_URL "
                   "at your store)",
                   message_zh=f"图层库为空（{location}）：请先用 blueprint sample load "
                              "导入样例城市，或用 blueprint layers import 文件 --kind 类型 "
                              "导入图层（或设置 BLUEPRINT_DATA_DIR、BLUEPRINT_DATABASE_URL "
                              "指向已有图层库）",
                   where=location)


def first_line(exc: BaseException) -> str:
    """The first line of a (database) exception's message, for one-line errors."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


class IllegalTransition(Conflict):
    """A project or consultation round cannot move from its state to the one asked for."""

    code = "illegal_transition"
    default_zh = "当前状态下不允许此操作"


class CalendarUnavailable(BlueprintError):
    """The holiday calendar does not cover a date (its package is older than the year)."""

    code = "calendar_unavailable"
    default_zh = "节假日数据未覆盖该日期"
