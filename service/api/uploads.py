"""Saving uploads to a temporary folder, with a size limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from blueprint.layers.errors import BlueprintError, InvalidFile
from blueprint.layers.safe_open import saved_name

CHUNK = 1024 * 1024


def safe_name(filename: str | None) -> str:
    """A file name without directories or odd characters (keeps CJK and the suffix), cut to
    what a file system takes."""
    return saved_name(filename)


def shown_name(filename: str | None) -> str:
    """The user's file name as errors show it: without directories, otherwise as given."""
    return Path((filename or "").replace("\\", "/")).name or "upload"


async def save_upload(upload: UploadFile, folder: Path, *, max_mb: int) -> Path:
    """Write ``upload`` into ``folder``; refuse empty or too large files."""
    path = folder / safe_name(upload.filename)
    shown = shown_name(upload.filename)
    size = 0
    with path.open("wb") as fh:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > max_mb * CHUNK:
                raise InvalidFile(f"the upload is larger than {max_mb} MB",
                                  message_zh=f"上传文件超过 {max_mb} MB", where=shown)
            fh.write(chunk)
    if size == 0:
        raise InvalidFile("the upload is empty", message_zh="上传文件为空", where=shown)
    return path


def _renamed(text: str, path: Path, shown: str) -> str:
    """``text`` naming the user's file: the server's path, its folder and the saved (sanitised)
    name, as a whole word at the start or after a separator, become ``shown``."""
    text = text.replace(str(path), shown).replace(str(path.parent), "")
    if path.name == shown:
        return text
    word = re.compile(rf"(?<![\w.\-]){re.escape(path.name)}(?![\w.\-])")
    return word.sub(lambda _m: shown, text)


@contextmanager
def naming_the_upload(path: Path, filename: str | None) -> Iterator[None]:
    """Errors about a saved upload name the user's file, not the server's temporary path nor
    the sanitised name it was saved under (``地块 (1).txt:5``, not ``地块__1_.txt:5``)."""
    try:
        yield
    except BlueprintError as exc:
        shown = shown_name(filename) if filename else path.name
        for attr in ("message", "message_zh", "where"):
            text = getattr(exc, attr)
            if text:
                setattr(exc, attr, _renamed(text, path, shown))
        exc.args = (exc.message,)
        raise
