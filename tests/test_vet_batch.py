"""``blueprint vet-batch``: the batch path gives exactly vet_site's reports, on both engines;
the command runs on worker processes, keeps every report in order, reports a bad file as
one line without losing the others, and keeps its progress bar on stderr."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import shapely

from blueprint.analysis.batch import vet_sites
from blueprint.analysis.site import Site, read_site
from blueprint.analysis.site_files import read_site_quick
from blueprint.analysis.vetting import VetRequest, vet_site
from blueprint.layers.store import Store
from tests.conftest import REPO, SAMPLE

SITES = SAMPLE / "sites"
# lon/lat boxes around the sample city's layers (Liaocheng), seeded
RNG_BOUNDS = (115.6, 35.9, 116.4, 36.9)


def _random_sites(n: int, seed: int = 14) -> list[Site]:
    rng = np.random.default_rng(seed)
    sites = []
    for i in range(n):
        x = rng.uniform(RNG_BOUNDS[0], RNG_BOUNDS[2])
        y = rng.uniform(RNG_BOUNDS[1], RNG_BOUNDS[3])
        w, h = rng.uniform(0.001, 0.02, size=2)
        geom = shapely.affinity.rotate(shapely.box(x, y, x + w, y + h), rng.uniform(0, 90))
        sites.append(Site(geometry=geom, parcels=1, name=f"r{i}", source="test"))
    return sites


def _requests() -> list[VetRequest]:
    files = sorted(p for p in SITES.iterdir() if p.suffix in (".txt", ".geojson"))
    requests = [VetRequest(site=read_site(p)) for p in files]
    requests += [VetRequest(site=s, industry=ind, emissions=({"SO2": 0.5} if i % 3 else {}))
                 for i, (s, ind) in enumerate(zip(_random_sites(24),
                                                  ["industrial", "commercial", "residential"] * 8,
                                                  strict=True))]
    return requests


def test_batch_reports_are_vet_site_reports(sample_store: Store) -> None:
    requests = _requests()
    alone = [vet_site(r, store=sample_store).to_json() for r in requests]
    together = [r.to_json() for r in vet_sites(requests, store=sample_store)]
    assert len(together) == len(alone) > 30
    for one, batched in zip(alone, together, strict=True):
        assert batched == one
    assert {r["verdict"] for r in alone} >= {"fail", "conditional"}


def _geojson(path: Path, parcels: list[shapely.Polygon], **props: object) -> Path:
    features = [{"type": "Feature", "properties": dict(props),
                 "geometry": shapely.geometry.mapping(p)} for p in parcels]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    return path


def _same_site(a: Site, b: Site) -> bool:
    return (a.geometry.wkb == b.geometry.wkb and (a.name, a.source, a.parcels, a.warnings)
            == (b.name, b.source, b.parcels, b.warnings)
            and [g.wkb for g in a.parcel_geometries] == [g.wkb for g in b.parcel_geometries])


def test_quick_read_is_read_site(tmp_path: Path) -> None:
    boxes = [shapely.box(115.95 + i * 0.003, 36.45, 115.952 + i * 0.003, 36.452)
             for i in range(3)]
    files = sorted(p for p in SITES.iterdir() if p.suffix in (".txt", ".geojson")) + [
        _geojson(tmp_path / "named.geojson", boxes[:2], name="甲地块"),
        _geojson(tmp_path / "unnamed.geojson", boxes),
        _geojson(tmp_path / "numbered.geojson", boxes[:1], name=7),  # left to GDAL
        _geojson(tmp_path / "far.geojson", [shapely.box(500000, 4000000, 500100, 4000100)]),
    ]
    (tmp_path / "broken.geojson").write_text('{"type": "FeatureCollection"', encoding="utf-8")
    files.append(tmp_path / "broken.geojson")
    for path in files:
        try:
            expected: Site | str = read_site(path)
        except Exception as exc:  # noqa: BLE001 - the same error, whatever it is
            expected = f"{type(exc).__name__}: {exc}"
        try:
            got: Site | str = read_site_quick(path)
        except Exception as exc:  # noqa: BLE001
            got = f"{type(exc).__name__}: {exc}"
        if isinstance(expected, str):
            assert got == expected, path.name
        else:
            assert isinstance(got, Site) and _same_site(got, expected), path.name


def _store_env(store: Store) -> dict[str, str]:
    url = "" if not store.database_url else store.engine.url.render_as_string(
        hide_password=False).replace("postgresql+psycopg2://", "postgresql://", 1)
    return {**os.environ, "BLUEPRINT_DATA_DIR": str(store.data_dir),
            "BLUEPRINT_DATABASE_URL": url, "PYTHONPATH": str(REPO), "FORCE_COLOR": "1",
            "COLUMNS": "120"}


def _plain(text: str) -> str:
    """``text`` without terminal colour and cursor codes."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_vet_batch_on_two_workers_keeps_every_report(sample_store: Store,
                                                     tmp_path: Path) -> None:
    folder = tmp_path / "sites"
    folder.mkdir()
    names = []
    for i, site in enumerate(_random_sites(5, seed=3)):
        names.append(_geojson(folder / f"s{i}.geojson", [site.geometry], name=f"地块{i}").name)
    (folder / "s2b.geojson").write_text("{}", encoding="utf-8")  # not a site: one error line
    output = tmp_path / "reports.jsonl"
    done = subprocess.run([sys.executable, "-m", "blueprint.service", "vet-batch", str(folder),
                           "--output", str(output), "--workers", "2"], cwd=REPO,
                          env=_store_env(sample_store), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    stdout, stderr = _plain(done.stdout), _plain(done.stderr)
    assert "已审查 6 个地块" in stdout and "出错 1 个" in stdout
    assert "批量审查" in stderr and "批量审查" not in stdout  # the bar is on stderr
    lines = [json.loads(x) for x in output.read_text(encoding="utf-8").splitlines()]
    assert [Path(x["file"]).name for x in lines] == sorted(names + ["s2b.geojson"])
    by_name = {Path(x["file"]).name: x for x in lines}
    assert "error" in by_name["s2b.geojson"]
    for i in (0, 4):
        report = by_name[f"s{i}.geojson"]
        assert report["engine"] == sample_store.engine_name
        alone = vet_site(VetRequest(site=read_site(folder / f"s{i}.geojson")),
                         store=sample_store).to_json()
        assert {k: v for k, v in report.items() if k != "file"} == alone


def test_vet_batch_says_every_path_named_even_a_missing_one(sample_store: Store,
                                                           tmp_path: Path) -> None:
    """A path named on the command line is vetted whatever its name: a mistyped folder or a
    file of another suffix is one error line, as a bad file is. Both were left out unsaid
    (已审查 1 个地块 for three paths named); a named folder's files are still taken by their
    suffix (its README is not a site)."""
    folder = tmp_path / "sites"
    folder.mkdir()
    _geojson(folder / "a.geojson", [_random_sites(1, seed=5)[0].geometry], name="甲")
    (folder / "README.md").write_text("地块说明", encoding="utf-8")
    (tmp_path / "plan.dxf").write_text("0\nSECTION\n", encoding="utf-8")
    output = tmp_path / "reports.jsonl"
    named = [folder, tmp_path / "sitez", tmp_path / "plan.dxf"]
    done = subprocess.run([sys.executable, "-m", "blueprint.service", "vet-batch",
                           *map(str, named), "--output", str(output), "--workers", "1"],
                          cwd=REPO, env=_store_env(sample_store), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "已审查 3 个地块" in _plain(done.stdout) and "出错 2 个" in _plain(done.stdout)
    lines = [json.loads(x) for x in output.read_text(encoding="utf-8").splitlines()]
    assert [Path(x["file"]).name for x in lines] == ["a.geojson", "sitez", "plan.dxf"]
    assert "error" not in lines[0]
    assert lines[1]["error"]["message_zh"] == "文件不存在：sitez"
    assert "不是可识别的 GIS 格式" in lines[2]["error"]["message_zh"]
