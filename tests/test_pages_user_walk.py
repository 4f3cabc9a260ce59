"""Defects found walking the pages as their users (natural resources staff, departments,
quota managers), each checked on the real app (FastAPI TestClient, both engines)."""

from __future__ import annotations

import re
from pathlib import Path

from projects_support import city  # noqa: F401  (city: fixture)

from blueprint.layers.store import Store
from tests.test_pages import _client, _csrf, _form, _login, _project_in_consultation


def _selected(form: str, name: str) -> list[str]:
    """The values of the options of select ``name`` the form marks selected."""
    select = form.split(f'<select name="{name}">', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', select)


def test_a_refused_answer_keeps_the_chosen_coordinate_system(city: Store,  # noqa: F811
                                                             tmp_path: Path) -> None:
    """A department chose 坐标系 EPSG:4527 for its condition file and the answer was
    refused: the form comes back with EPSG:4527 still chosen (as the project forms keep
    it), not reset to 自动识别, which would read the next file differently."""
    _, rnd = _project_in_consultation(city, tmp_path)
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        assert _selected(_form(gxj.get(f"/inbox?round={rnd.id}").text, "bp-answer-form"),
                         "crs") == []  # nothing chosen: the first option, 自动识别
        refused = gxj.post(f"/inbox/{rnd.id}/answer", data={
            "csrf": _csrf(gxj, "/inbox"), "text": "须退让河道 50 米。",
            "answer": "conditional", "crs": "EPSG:4527"},
            files={"condition_file": ("条件.txt", b"hello\nnot a site\n")})
        assert refused.status_code == 422, refused.text[-1500:]
        form = _form(refused.text, "bp-answer-form")
        assert "既不是界址点坐标文件" in form
        assert _selected(form, "crs") == ["EPSG:4527"]
