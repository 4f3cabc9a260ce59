"""Every file Blueprint sends names itself by one ``Content-Disposition`` builder
(:mod:`blueprint.analysis.downloads`, RFC 6266): an ASCII ``filename="…"`` and the real
name as ``filename*=UTF-8''<percent-encoded>``, which decodes back to the name. Read here
by a small parser of the header's parameters, not by the builder's own code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from blueprint.analysis.downloads import ascii_filename, content_disposition
from blueprint.layers.store import Store
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

# a parameter: name=token or name="quoted string" (RFC 6266 section 4.1)
_PARAM = re.compile(r';\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')


def parse(header: str) -> tuple[str, dict[str, str]]:
    """The disposition type and the parameters of a ``Content-Disposition`` value."""
    kind, _, rest = header.partition(";")
    params = {name.lower(): value for name, value in _PARAM.findall(";" + rest)}
    return kind.strip(), params


def decoded(header: str) -> tuple[str, str]:
    """(the ASCII fallback, the name ``filename*`` gives), both checked for their form."""
    _, params = parse(header)
    fallback = params["filename"]
    assert fallback.startswith('"') and fallback.endswith('"') and fallback.isascii()
    assert '"' not in fallback[1:-1] and "\\" not in fallback, header
    charset, _, encoded = params["filename*"].partition("''")
    assert charset == "UTF-8" and re.fullmatch(r"(?:[A-Za-z0-9!#$&+.^_`|~-]|%[0-9A-F]{2})+",
                                               encoded), header  # RFC 8187 attr-chars
    return fallback[1:-1], unquote(encoded, encoding="utf-8", errors="strict")


@pytest.mark.parametrize("name", [
    "初审意见书-LC-2026-0001.pdf", "指标流水-2026-新增建设用地.xlsx", '聊城 "新区" 一号地块.zip',
    "a b\\c.csv", "100% 完成;备注,v2.txt", "一号地块/二期.geojson", "plain.csv", "'引号'.txt"])
def test_the_header_has_both_names_and_decodes_back(name: str) -> None:
    header = content_disposition(name)
    assert parse(header)[0] == "attachment"
    fallback, real = decoded(header)
    assert real == name
    assert fallback == ascii_filename(name) and fallback.isascii() and fallback
    assert fallback == name or not name.isascii() or set(name) & set('"\\%/')


def test_a_given_fallback_is_kept_made_safe_and_inline_is_said() -> None:
    assert decoded(content_disposition("指标余额.xlsx", fallback="balances.xlsx")) == (
        "balances.xlsx", "指标余额.xlsx")
    assert decoded(content_disposition("x.pdf", fallback='re"port.pdf'))[0] == "re_port.pdf"
    assert parse(content_disposition("photo-3", disposition="inline"))[0] == "inline"
    assert ascii_filename("初审意见书.pdf") == "download.pdf"


def test_a_site_downloaded_through_the_api_is_named_in_chinese_and_in_ascii(
        store: Store) -> None:
    name = '聊城 "新区" 一号地块'
    site = {"type": "Feature", "properties": {"name": name},
            "geometry": {"type": "Polygon", "coordinates": [[[115.98, 36.45], [115.99, 36.45],
                                                             [115.99, 36.46], [115.98, 36.46],
                                                             [115.98, 36.45]]]}}
    app = create_app(Settings(data_dir=store.data_dir, database_url=store.database_url))
    with TestClient(app) as client:
        answer: Any = client.post("/api/sites/download", params={"format": "geojson"},
                                  json={"site": site})
    assert answer.status_code == 200, answer.text
    header = answer.headers["content-disposition"]
    assert parse(header)[0] == "attachment"
    assert decoded(header) == ("site.geojson", "聊城_新区_一号地块.geojson")  # file_stem's


def test_the_builder_is_the_only_place_the_header_is_made() -> None:
    repo = Path(__file__).resolve().parents[1]
    makers = [str(path.relative_to(repo)) for folder in ("service", "web", "analysis", "layers")
              for path in (repo / folder).rglob("*.py") if "filename*=" in path.read_text()
              or re.search(r"filename=\\?\"", path.read_text())]
    assert makers == ["analysis/downloads.py"], makers
