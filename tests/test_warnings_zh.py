"""Every warning a site brings to its report (the map page's 提示, ``blueprint vet``'s
提示：…, the stored report) is said in Chinese: no English half after a slash. The sample
sites and the bad-input corpus, and the sample park spoiled in each way that is warned of
rather than refused (no 几度分带, a declared area that differs, a pasted ring left open,
pasted latitude before longitude), plus the report's warnings for missing layer kinds.
The core alone: no store is read."""

from __future__ import annotations

import re
from pathlib import Path

from blueprint.analysis.data_gaps import missing_layer_warnings
from blueprint.analysis.site import read_site, site_from_points
from blueprint.layers.coordfile.text import decode, split_lines
from blueprint.layers.errors import BlueprintError
from tests.conftest import REPO, SAMPLE

SITES = SAMPLE / "sites"
BAD = REPO / "tests" / "data" / "bad"
PARK = SITES / "01_park_clean.txt"
# ASCII words a Chinese sentence may hold: codes and units, not English
ALLOWED = {"EPSG", "CGCS"}


def _english(warning: str, source: str) -> list[str]:
    """The ASCII words of ``warning`` (the file's own name taken out) that are not codes."""
    words = re.findall(r"[A-Za-z]{2,}", warning.replace(source, ""))
    return [w for w in words if w not in ALLOWED]


def _park_lines() -> list[str]:
    return split_lines(decode(PARK.read_bytes(), None, PARK.name))


def _park_rows() -> list[list[str]]:
    """The park's point rows (name, ring, X, Y)."""
    rows, section = [], ""
    for line in _park_lines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        elif "坐标" in section and stripped and not stripped.endswith("@"):
            rows.append([f.strip() for f in stripped.split(",")])
    return rows


def _spoiled(tmp_path: Path) -> list[tuple[str, list[str]]]:
    """(source, warnings) of the park spoiled in each way a reader warns of."""
    out = []
    no_width = [line for line in _park_lines() if not line.startswith("几度分带")]
    other_area = [line.replace("5,12.6000,", "5,13.6000,", 1) for line in _park_lines()]
    for name, lines in (("no_width.txt", no_width), ("other_area.txt", other_area)):
        path = tmp_path / name
        path.write_text("\n".join(lines), encoding="utf-8")
        out.append((name, read_site(path).warnings))
    rows = _park_rows()
    open_ring = "\n".join(f"{r[2]} {r[3]}" for r in rows[:-1])  # the first point not repeated
    out.append(("粘贴的坐标", site_from_points(open_ring).warnings))
    from pyproj import Transformer

    to_degrees = Transformer.from_crs(4527, 4490, always_xy=True)
    lat_first = "\n".join("{1:.9f}\t{0:.9f}".format(*to_degrees.transform(float(r[3]),
                                                                           float(r[2])))
                          for r in rows)
    out.append(("粘贴的坐标", site_from_points(lat_first, crs="EPSG:4490").warnings))
    return out


def _corpus() -> list[tuple[str, list[str]]]:
    """(source, warnings) of every sample site and bad-input file a site can be read from."""
    out = []
    for folder in (SITES, BAD):
        for path in sorted(folder.iterdir()):
            if path.suffix in (".md", ".py", ".toml") or path.name == "expected.json":
                continue
            try:
                out.append((path.name, read_site(path).warnings))
            except BlueprintError:
                continue  # refused, with message and message_zh: not a warning
    return out


def test_the_warnings_of_the_sample_and_spoiled_sites_are_chinese(tmp_path: Path) -> None:
    found = _spoiled(tmp_path) + _corpus()
    found.append(("", missing_layer_warnings(set())))
    said = [(source, w) for source, warnings in found for w in warnings]
    # each way of warning is met, so the scan below has something to scan
    for words in ("几度分带", "申报面积", "未闭合", "纬度在前", "图层库中没有"):
        assert any(words in w for _, w in said), (words, said)
    english = {w: _english(w, source) for source, w in said if _english(w, source)}
    assert not english, english

