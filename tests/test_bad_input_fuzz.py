"""Mangled uploads and GeoJSON never crash the service: a report (200) or a clear error (422).

Seeded mutations of real demo files and random GeoJSON geometries, sent through the real
app; every error body must carry a Chinese message and no stack trace or server path.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from blueprint.layers.store import Store
from blueprint.service.app import create_app
from blueprint.service.settings import Settings
from tests.conftest import SAMPLE

SEEDS = range(150)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from blueprint.analysis.sample import load_sample
    from blueprint.layers.store import open_store

    data = tmp_path_factory.mktemp("fuzz")
    store: Store = open_store("", data)
    load_sample(SAMPLE, store=store, actor="test")
    store.close()
    app = create_app(Settings(data_dir=data))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _mutate(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data))
        choice = rng.random()
        if choice < 0.4:
            data[at] = rng.randrange(256)
        elif choice < 0.7:
            del data[at:at + rng.randint(1, 20)]
        else:
            data[at:at] = rng.choice([b",", b"\n", b"@", b"-", b"9999999999", b"[", b"nan"])
    return bytes(data)


def _assert_clean(answer) -> None:  # noqa: ANN001
    assert answer.status_code in (200, 422), answer.text
    if answer.status_code == 422:
        body = answer.json()
        assert body["message_zh"] and "Traceback" not in answer.text
        assert "/tmp" not in answer.text and str(Path.cwd()) not in answer.text


def test_mangled_site_files(client):
    sources = [(SAMPLE / "sites" / n).read_bytes()
               for n in ("02_redline_conflict.txt", "04_partly_outside_boundary.geojson")]
    for seed in SEEDS:
        rng = random.Random(seed)
        raw = _mutate(rng.choice(sources), rng)
        name = rng.choice(["a.txt", "a.geojson", "a.json", "a.gpkg", "a.zip", "a"])
        _assert_clean(client.post("/api/vet/file", files={"file": (name, raw)}))


def _coordinate(rng: random.Random) -> list:
    return rng.choice([[116.0 + rng.uniform(-0.05, 0.05), 36.45 + rng.uniform(-0.05, 0.05)],
                       [1e308, 1], [0, 0], [116], ["a", 1], [116.0, 36.4, 5], [-200, 100]])


def _geometry(rng: random.Random) -> dict:
    ring = [_coordinate(rng) for _ in range(rng.randint(0, 6))]
    if ring and rng.random() < 0.7:
        ring.append(ring[0])
    kind = rng.choice(["Polygon", "MultiPolygon", "Point", "LineString", "Polygon"])
    coordinates = {"Polygon": [ring], "MultiPolygon": [[ring], [ring]],
                   "Point": _coordinate(rng), "LineString": ring}[kind]
    return {"type": kind, "coordinates": coordinates}


def test_random_geojson_sites(client):
    for seed in SEEDS:
        rng = random.Random(seed)
        geometry = _geometry(rng)
        site = rng.choice([geometry, {"type": "Feature", "geometry": geometry, "properties": {}},
                           {"type": "FeatureCollection",
                            "features": [{"type": "Feature", "geometry": geometry}]}])
        body = {"site": site, "industry": rng.choice(["industrial", "energy", "casino"]),
                "emissions": rng.choice([{}, {"SO2": 1.0}, {"XX": 1}, {"SO2": -1}])}
        _assert_clean(client.post("/api/vet", content=json.dumps(body),
                                  headers={"content-type": "application/json"}))


def test_mangled_pasted_points(client):
    """The point rows of the sample's files, mangled, pasted (``/api/vet/points``)."""
    tables = []
    for name in ("02_redline_conflict.txt", "08_with_hole.txt", "09_zone38_noprefix.txt"):
        text = (SAMPLE / "sites" / name).read_bytes().decode("gb18030")
        tables.append("\n".join(line for line in text.splitlines()
                                if line.count(",") == 3 and not line.endswith("@")))
    for seed in SEEDS:
        rng = random.Random(seed)
        raw = _mutate(rng.choice(tables).encode(), rng).decode("utf-8", "replace")
        body = {"points": raw, "crs": rng.choice([None, "EPSG:4527", "EPSG:4547", "EPSG:4490",
                                                  "EPSG:99999", "abc"])}
        _assert_clean(client.post("/api/vet/points", json=body))
