"""The site and condition-area file fields of the pages (保存为项目, 修改项目, the inbox's
answer form) offer only formats the site reader takes (the real app, FastAPI TestClient,
both engines): KML is XML, which the reader refuses (it may point at other data), so no
field names it or accepts ``.kml``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from projects_support import T0, city  # noqa: F401  (city: fixture)

from blueprint.analysis.site import read_site
from blueprint.layers.errors import RefusedFormat
from blueprint.layers.store import Store
from tests.test_pages import _client, _login, _planned, _project_in_consultation

KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Polygon><outerBoundaryIs><LinearRing>
<coordinates>116.0368,36.4392 116.0392,36.4392 116.0392,36.4407 116.0368,36.4392</coordinates>
</LinearRing></outerBoundaryIs></Polygon></Placemark></kml>
"""


def _file_fields(html: str) -> list[tuple[str, str]]:
    """Each file field of a page: its label's text and its ``accept``."""
    return [(re.sub(r"<[^>]+>", "", label), accept) for label, accept in re.findall(
        r'<label>([^<]*)<input type="file"[^>]*accept="([^"]*)"', html)]


def test_a_kml_file_is_not_a_site(tmp_path: Path) -> None:
    kml = tmp_path / "site.kml"
    kml.write_text(KML, encoding="utf-8")
    with pytest.raises(RefusedFormat) as refused:
        read_site(kml)
    assert "KML" in refused.value.message_zh


def test_no_site_file_field_offers_kml(city: Store, tmp_path: Path) -> None:  # noqa: F811
    code, rnd = _project_in_consultation(city, tmp_path)
    planned = _planned(city, "待修改项目", at=T0)
    fields = []
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        for path in ("/projects/new", f"/projects/{planned}"):
            found = _file_fields(nr.get(path).text)
            assert found, path
            fields += found
        # what a user who picked a KML file after reading the label would have met
        refused = nr.post("/projects/new", data={
            "csrf": re.findall(r'name="csrf" value="([^"]+)"', nr.get("/projects/new").text)[0],
            "name": "KML 项目", "county": "371502", "industry": "industrial",
            "investment": "1", "responsible_unit": "某公司"},
            files={"site_file": ("site.kml", KML.encode(), "application/xml")})
        assert refused.status_code == 422 and "不接受 XML 文件" in refused.text
    with _client(city, tmp_path) as gxj:
        _login(gxj, "gxj")
        found = _file_fields(gxj.get(f"/inbox?round={rnd.id}").text)
        assert found
        fields += found
    assert len(fields) == 3, fields
    for label, accept in fields:
        assert "KML" not in label.upper(), label
        assert ".kml" not in accept.split(","), accept
        assert "GeoJSON" in label and ".geojson" in accept.split(",")


def test_the_map_offers_only_what_the_site_reader_takes(city: Store,  # noqa: F811
                                                        tmp_path: Path) -> None:
    """The map page's 上传地块文件 names and accepts no KML, GML or CSV (all refused)."""
    with _client(city, tmp_path) as client:
        page = client.get("/").text
    accept = re.search(r'id="bp-file"[^>]*accept="([^"]*)"', page)
    assert accept, "the map has no file field"
    suffixes = accept.group(1).split(",")
    assert {".txt", ".geojson", ".gpkg", ".zip"} <= set(suffixes)
    assert not {".kml", ".gml", ".csv"} & set(suffixes), suffixes
    way = page.split("方式二", 1)[1].split("</div>", 1)[0]
    assert "GeoJSON" in way and "KML" not in way.upper(), way


def test_a_refused_site_file_names_only_what_a_site_may_be(tmp_path: Path) -> None:
    """A site is vectors: the refusal of an unknown file lists no GeoTIFF (it did, from the
    list shared with layer imports), while a layer import's refusal still names it."""
    from blueprint.layers.safe_open import FileFormat, sniff

    notes = tmp_path / "会议纪要.txt"
    notes.write_text("hello\nthis is not a site\n", encoding="utf-8")
    with pytest.raises(RefusedFormat) as site_refused:
        read_site(notes)
    said = site_refused.value.message_zh + site_refused.value.message
    assert "GeoJSON" in said and "GeoTIFF" not in said, said
    with pytest.raises(RefusedFormat) as any_refused:
        sniff(notes)
    assert "GeoTIFF" in any_refused.value.message_zh
    with pytest.raises(RefusedFormat) as raster_refused:
        sniff(notes, allowed=frozenset({FileFormat.GEOTIFF}))
    assert "GeoTIFF" in raster_refused.value.message_zh
