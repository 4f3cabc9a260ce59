"""Photos sent with a monthly report (现场照片).

Only JPEG and PNG are kept, decided from the bytes (the magic number, the file's structure
and Pillow reading it through), never from a name or a content type the sender gave. Each
file is read only up to :data:`MAX_PHOTO_BYTES` (one byte more means refused, before any of
it is looked at) and stored as ``<data folder>/tracking-photos/<sha256>``: a name made from
its content, never a path the sender chose. Its metadata is a row of the append-only
``tracking_photos``. Every photo of a call is checked before any is stored; a refused call
leaves no file and no row behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from blueprint.analysis.clock import iso_utc, now_utc, utc
from blueprint.analysis.projects.records import load_project
from blueprint.analysis.tracking.common import report_project_code, require_reporter
from blueprint.layers.errors import BadInput, InvalidFile, NotFound, TooLarge
from blueprint.layers.schema import projects, tracking_photos
from blueprint.layers.store import Store, write_audit
from blueprint.layers.users import User

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 9
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
JPEG_MAGIC = b"\xff\xd8\xff"
JPEG_END = b"\xff\xd9"


Checked = tuple[str, bytes, str, str]  # display name, bytes, content type, sha256


@dataclass(frozen=True)
class Photo:
    """A stored photo of a report."""

    id: int
    report_id: int
    project: str
    sha256: str
    content_type: str
    size: int
    name: str
    uploaded_at: datetime
    uploaded_by: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON (``url``: where the API serves it)."""
        return {"id": self.id, "report_id": self.report_id, "project": self.project,
                "sha256": self.sha256, "content_type": self.content_type, "size": self.size,
                "name": self.name, "uploaded_at": iso_utc(self.uploaded_at),
                "uploaded_by": self.uploaded_by, "url": f"/api/tracking/photos/{self.id}"}


def photo_dir(store: Store) -> Path:
    """The folder of the photos, inside the store's data folder."""
    path = store.data_dir.resolve() / "tracking-photos"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _refuse(name: str, why: str) -> InvalidFile:
    return InvalidFile(f"photo {name!r} is not a JPEG or PNG image: {why}", where="photos",
                       message_zh=f"照片“{name}”不是有效的 JPEG 或 PNG 图片，已拒收")


def read_capped(stream: IO[bytes], name: str, limit: int = MAX_PHOTO_BYTES) -> bytes:
    """At most ``limit`` bytes of ``stream``; :class:`TooLarge` if there are more."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"photo {name!r} is larger than {limit // (1024 * 1024)} MB",
                       where="photos",
                       message_zh=f"照片“{name}”超过 {limit // (1024 * 1024)} MB 的上限，已拒收")
    return data


def sniff(data: bytes, name: str) -> str:
    """``image/jpeg`` or ``image/png`` from the bytes, or :class:`InvalidFile`: the magic
    number, the end marker right at the end (nothing appended: a PNG header on a zip is
    refused), and Pillow reading the whole image in that format."""
    if data.startswith(PNG_MAGIC):
        kind, fmt, end = "image/png", "PNG", PNG_END
    elif data.startswith(JPEG_MAGIC):
        kind, fmt, end = "image/jpeg", "JPEG", JPEG_END
    else:
        raise _refuse(name, "unknown magic number")
    if not data.endswith(end):
        raise _refuse(name, "data after the image's end (or a truncated image)")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            if image.width * image.height > 80_000_000:
                raise _refuse(name, "too many pixels")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise _refuse(name, str(exc)) from None
    return kind


def _display_name(name: str | None) -> str:
    base = os.path.basename(str(name or "").replace("\\", "/")).strip()
    clean = "".join(c for c in base if c.isprintable())[:200]
    return clean or "照片"


def check_photos(files: Sequence[tuple[str | None, IO[bytes]]]) -> list[Checked]:
    """Every photo read (capped) and sniffed, before anything is written."""
    if len(files) > MAX_PHOTOS:
        raise BadInput(f"at most {MAX_PHOTOS} photos at a time", where="photos",
                       message_zh=f"每次最多上传 {MAX_PHOTOS} 张照片")
    checked = []
    for raw_name, stream in files:
        name = _display_name(raw_name)
        data = read_capped(stream, name)
        if not data:
            raise _refuse(name, "empty file")
        checked.append((name, data, sniff(data, name), hashlib.sha256(data).hexdigest()))
    return checked


def add_photos(report_id: int, files: Sequence[tuple[str | None, IO[bytes]]], *, user: User,
               store: Store, at: datetime | None = None) -> list[Photo]:
    """Store ``files`` (``(name as sent, stream)``) as photos of report ``report_id``, all
    or none: each is capped, sniffed and checked before anything is written."""
    at, checked = now_utc(at), check_photos(files)
    if not checked:
        raise BadInput("no photo sent", where="photos", message_zh="没有选择照片")
    with photo_files(store, checked) as created, store.engine.begin() as conn:
        project = load_project(conn, report_project_code(conn, report_id), for_update=True)
        require_reporter(user, project, store=store)
        return store_photos(conn, store, checked, report_id, project.id, project.code,
                            user, at, created)


@contextmanager
def photo_files(store: Store, checked: list[Checked]) -> Iterator[list[Path]]:
    """Around a transaction that stores ``checked`` photos: the list of files it writes,
    removed again if the transaction fails.

    Photo writers take turns (an exclusive ``flock`` on one lock file beside the folder,
    across threads and worker processes) from before their transaction until after that
    clean-up. Files are named by content, so without turns a second upload of the same
    image could find the first one's file, keep it, and lose it when the first upload's
    transaction failed and removed it."""
    created: list[Path] = []
    if not checked:
        yield created
        return
    lock = photo_dir(store).parent / ".tracking-photos.lock"
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        try:
            yield created
        except BaseException:  # the files written go with the rows not committed
            for path in created:
                path.unlink(missing_ok=True)
            raise


def store_photos(conn: Any, store: Store, checked: list[Checked], report_id: int,
                 project_id: int, code: str, user: User, at: datetime,
                 created: list[Path]) -> list[Photo]:
    """Within the caller's transaction: the files and rows of checked photos, with their
    audit row; the files written are added to ``created`` (the caller removes them if the
    transaction fails)."""
    if not checked:
        return []
    ids = [_store_one(conn, store, item, report_id, project_id, user, at, created)
           for item in checked]
    write_audit(conn, actor=user.name, action="tracking.photos", obj=f"report:{report_id}",
                project=code, at=at, detail={"photos": [{"sha256": d, "size": len(b),
                                                         "type": k}
                                                        for _, b, k, d in checked]})
    return [Photo(i, report_id, code, d, k, len(b), n, at, user.name)
            for i, (n, b, k, d) in zip(ids, checked, strict=True)]


def _store_one(conn: Any, store: Store, item: Checked, report_id: int,
               project_id: int, user: User, at: datetime, created: list[Path]) -> int:
    """Write one file (unless a file of the same content is there) and its row."""
    name, data, kind, digest = item
    folder = photo_dir(store)
    target = folder / digest
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        created.append(target)
    return int(conn.execute(tracking_photos.insert().values(
        report_id=report_id, project_id=project_id, sha256=digest, content_type=kind,
        size=len(data), name=name, uploaded_at=at, uploaded_by=user.name
    ).returning(tracking_photos.c.id)).scalar_one())


def _photo(row: Any) -> Photo:
    return Photo(row.id, row.report_id, row.code, row.sha256, row.content_type, row.size,
                 row.name, utc(row.uploaded_at), row.uploaded_by)


def report_photos(conn: Any, report_ids: list[int]) -> dict[int, list[Photo]]:
    """The photos of the reports, by report id (oldest first)."""
    if not report_ids:
        return {}
    found: dict[int, list[Photo]] = {}
    for row in conn.execute(sa.select(tracking_photos, projects.c.code).join(
            projects, projects.c.id == tracking_photos.c.project_id).where(
            tracking_photos.c.report_id.in_(report_ids)).order_by(tracking_photos.c.id)):
        found.setdefault(row.report_id, []).append(_photo(row))
    return found


def photo_file(photo_id: int, *, store: Store) -> tuple[Photo, Path]:
    """A photo and its file, or :class:`NotFound`."""
    with store.read() as conn:
        row = conn.execute(sa.select(tracking_photos, projects.c.code).join(
            projects, projects.c.id == tracking_photos.c.project_id).where(
            tracking_photos.c.id == photo_id)).first()
    if row is None:
        raise NotFound(f"no photo {photo_id}", where="photo", message_zh=f"照片 {photo_id} 不存在")
    photo = _photo(row)
    path = photo_dir(store) / photo.sha256
    if not path.is_file():
        raise NotFound(f"photo {photo_id}'s file is missing", where="photo",
                       message_zh=f"照片 {photo_id} 的文件缺失")
    return photo, path
