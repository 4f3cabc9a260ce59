"""The 保存为项目 form (the real app, FastAPI TestClient, both engines) offers county staff
their own county only: a 阳谷县 user was offered all eight and refused after filling the
form in when choosing another; city-level staff still choose any county."""

from __future__ import annotations

import re
from pathlib import Path

from projects_support import city  # noqa: F401  (city: fixture)

from blueprint.layers.store import Store
from tests.test_pages import _client, _login, _users


def _counties(html: str) -> list[str]:
    select = html.split('<select name="county"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="(\d+)"', select)


def test_county_staff_are_offered_their_own_county_only(city: Store,  # noqa: F811
                                                         tmp_path: Path) -> None:
    _users(city)
    with _client(city, tmp_path) as yg:
        _login(yg, "nr_yg")
        assert _counties(yg.get("/projects/new").text) == ["371521"]
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        assert len(_counties(nr.get("/projects/new").text)) == 8
