"""Printing the review page to PDF with headless Chromium (Debian's ``chromium``).

Chromium is already what the browser tests drive; its print-to-PDF embeds the CJK
system fonts (``fonts-noto-cjk`` or ``fonts-wqy-microhei``) the page names. The page is
written to a temporary folder and opened as a file with networking off: nothing is
fetched. ``BLUEPRINT_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from blueprint.layers.errors import StorageUnavailable

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 120


def chromium_path() -> str:
    """The Chromium binary, or :class:`StorageUnavailable` saying how to install it. A
    ``BLUEPRINT_CHROMIUM`` that names no program is refused naming the setting (it fell
    back to the chromium on PATH, silently: not the browser configured)."""
    named = os.environ.get("BLUEPRINT_CHROMIUM", "").strip()
    if named:
        found = shutil.which(named)
        if found is None:
            raise StorageUnavailable(
                f"BLUEPRINT_CHROMIUM={named}: no such program (or not executable)",
                where="BLUEPRINT_CHROMIUM",
                message_zh=f"设置 BLUEPRINT_CHROMIUM 指定的 Chromium（{named}）不存在或不可执行")
        return found
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise StorageUnavailable(
        "PDF output needs Chromium (apt-get install chromium) or BLUEPRINT_CHROMIUM",
        message_zh="生成 PDF 需要 Chromium 浏览器：请安装 chromium（apt-get install chromium）")


def html_to_pdf(html: str) -> bytes:
    """The page as PDF bytes (A4, no header or footer)."""
    binary = chromium_path()
    with tempfile.TemporaryDirectory(prefix="bp-pdf-") as tmp:
        page, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        args = [binary, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-extensions", "--no-first-run",
                "--disable-sync", "--disable-component-update", "--no-pdf-header-footer",
                "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={out}",
                page.as_uri()]
        done = subprocess.run(args, capture_output=True, timeout=TIMEOUT_S, check=False)
        if not out.exists() or out.stat().st_size == 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise StorageUnavailable(
                f"Chromium did not print the report (exit {done.returncode}): {' | '.join(tail)}",
                message_zh="Chromium 未能生成 PDF")
        return out.read_bytes()
