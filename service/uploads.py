"""Saving uploads to a temporary folder, with a size limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from layers.errors import BlueprintError, InvalidFile

CHUNK = 1024 * 1024


def safe_name(filename: str | None) -> str:
    """A file name without directories or odd characters (keeps CJK and the suffix)."""
    name = Path(filename or "upload").name
    name = re.sub(r"[^\w.\-]", "_", name)
    return name.lstrip(".") or "upload"


async def save_upload(upload: UploadFile, folder: Path, *, max_mb: int) -> Path:
    """Write ``upload`` into ``folder``; refuse empty or too large files."""
    path = folder / safe_name(upload.filename)
    size = 0
    with path.open("wb") as fh:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > max_mb * CHUNK:
                raise InvalidFile(f"the upload is larger than {max_mb} MB",
                                  message_zh=f"上传文件超过 {max_mb} MB", where=upload.filename)
            fh.write(chunk)
    if size == 0:
        raise InvalidFile("the upload is empty", message_zh="上传文件为空", where=upload.filename)
    return path


@contextmanager
def naming_the_upload(path: Path, filename: str | None) -> Iterator[None]:
    """Errors about a saved upload name the user's file, not the server's temporary path."""
    try:
        yield
    except BlueprintError as exc:
        shown = Path(filename or path.name).name
        for attr in ("message", "where"):
            text = getattr(exc, attr)
            if text:
                setattr(exc, attr, text.replace(str(path), shown).replace(str(path.parent), ""))
        exc.args = (exc.message,)
        raise
