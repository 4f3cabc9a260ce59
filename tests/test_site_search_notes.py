"""A site search over a store that lacks layers says which, in the answer of
``POST /api/site-search`` (``notes_zh``) as ``blueprint site-search`` says them (提示：…),
and the 找地块 card shows them: no administrative boundary layer (the search looks within
the layers' extent, not by county), no ecological red line, farmland or water source layer
(a candidate can at best be conditional), no land bank (every candidate is placed). Both
engines; the sample city, which has them all, has no note."""

from __future__ import annotations

import json
from pathlib import Path

from projects_support import city  # noqa: F401  (fixture)

from blueprint.layers.store import Store
from tests.test_cli_bounds import cli
from tests.test_pages import _client

NO_ADMIN = "图层库中没有行政区划图层：在全部图层的范围内查找，不分县区"
NO_REDLINE = "图层库中没有生态保护红线图层，候选地块的审查结论至多为有条件通过"
NO_BANK = "图层库中没有储备及可供地块图层：候选地块均为自动布设"
BODY = {"area_m2": 10000, "top": 2}


def _urban_only(store: Store, tmp_path: Path) -> None:
    """A store with one layer: an urban boundary 1 km square."""
    from blueprint.layers.importer import ImportOptions, import_layer
    from tests.helpers import box, frame, write

    urban = write(frame([box(0, 0, 1000, 1000)], name=["城镇开发边界"]), tmp_path / "u.geojson")
    import_layer(urban, ImportOptions(kind="urban_boundary", name="urban"), store=store)


def test_the_api_and_the_cli_say_which_layers_the_search_lacked(
        store: Store, tmp_path: Path) -> None:
    _urban_only(store, tmp_path)
    with _client(store, tmp_path) as client:
        answer = client.post("/api/site-search", json=BODY)
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["candidates"], doc["blocked_zh"]  # found, placed in the urban boundary
    notes = doc["notes_zh"]
    assert notes[0] == NO_ADMIN and NO_REDLINE in notes and notes[-1] == NO_BANK, notes

    code, stdout, stderr = cli(store, ["site-search", "--area", "1ha", "--top", "2"])
    assert code == 0, stderr
    for note in notes:  # the table says the same, each as a 提示
        assert f"提示：{note}" in stdout.replace("\n", ""), stdout
    code, stdout, stderr = cli(store, ["site-search", "--area", "1ha", "--top", "2",
                                       "--format", "json"])
    assert code == 0, stderr
    assert json.loads(stdout)["notes_zh"] == notes

    # only the land bank was asked for: the blocked message says it, once
    with _client(store, tmp_path) as client:
        bank = client.post("/api/site-search", json=BODY | {"source": "land_bank"}).json()
    assert bank["blocked_zh"] == "图层库中没有储备及可供地块图层。"
    assert NO_BANK not in bank["notes_zh"] and NO_ADMIN in bank["notes_zh"], bank


def test_a_store_with_every_layer_has_no_note(city: Store, tmp_path: Path) -> None:  # noqa: F811
    with _client(city, tmp_path) as client:
        answer = client.post("/api/site-search", json=BODY | {"county": "371502"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["notes_zh"] == [], answer.json()["notes_zh"]
