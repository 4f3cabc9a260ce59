"""The HTML alternative of the OGC API documents: readable in a browser, links clickable."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse


def wants_html(request: Request, f: str | None) -> bool:
    """``f=html``, or a browser asking for HTML without ``f``."""
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _links(doc: dict[str, Any]) -> str:
    rows = [f'<li><a href="{escape(link["href"])}">{escape(link.get("title") or link["href"])}'
            f'</a> <small>{escape(link.get("rel", ""))} · {escape(link.get("type", ""))}</small>'
            "</li>" for link in doc.get("links", [])]
    for item in doc.get("collections", []):
        href = next((x["href"] for x in item["links"] if x.get("type") == "text/html"), "#")
        rows.append(f'<li><a href="{escape(href)}">{escape(item["title"])}</a> '
                    f'<small>{escape(item["id"])}</small></li>')
    return "<ul>" + "".join(rows) + "</ul>"


def render_html(title: str, doc: dict[str, Any],
                headers: dict[str, str] | None = None) -> HTMLResponse:
    """A plain page: the title, the links (their titles in Chinese), then the JSON document
    itself, folded (原始 JSON 文档) for whoever wants it."""
    body = escape(json.dumps(doc, ensure_ascii=False, indent=2))
    page = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>body{{font-family:sans-serif;margin:1.5em;"
            f"max-width:70em}}pre{{background:#f6f8fa;padding:1em;overflow:auto;"
            f"font-size:12px}}small{{color:#666}}</style></head><body>"
            f"<h1>{escape(title)}</h1>{_links(doc)}<details><summary>原始 JSON 文档</summary>"
            f"<pre>{body}</pre></details></body></html>")
    return HTMLResponse(page, headers=headers)
