"""The sample builder (data/sample/builder): independent of the product, and reproducible.

The builder is the oracle for ``data/sample/sites/expected.json``, so it must not import the
code it checks, and rebuilding the sample must give back the committed files.
"""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import SAMPLE

BUILDER = SAMPLE / "builder"
PRODUCT = {"layers", "analysis", "service", "web", "blueprint"}


def _imported_roots(path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_builder_never_imports_the_product():
    files = sorted(BUILDER.glob("*.py")) + [SAMPLE / "build.py"]
    assert len(files) > 10
    for path in files:
        assert not _imported_roots(path) & PRODUCT, path


def test_builder_modules_stay_small():
    for path in BUILDER.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) < 250, path


def test_rebuild_gives_back_the_committed_sample(tmp_path):
    out = tmp_path / "sample"
    built = subprocess.run([sys.executable, str(SAMPLE / "build.py"), "--out", str(out)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    assert "done in" in built.stdout
    compared = subprocess.run([sys.executable, "-m", "builder.compare", str(out), str(SAMPLE)],
                              cwd=SAMPLE, capture_output=True, text=True, timeout=300)
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "34 files" in compared.stdout and "all the same" in compared.stdout


def test_compare_notices_a_changed_file(tmp_path):
    out = tmp_path / "copy"
    for name in ("manifest.toml", "quotas.csv"):
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes((SAMPLE / name).read_bytes())
    changed = (SAMPLE / "quotas.csv").read_bytes().replace(b"2026", b"2027", 1)
    (out / "quotas.csv").write_bytes(changed)
    compared = subprocess.run([sys.executable, "-m", "builder.compare", str(out), str(SAMPLE)],
                              cwd=SAMPLE, capture_output=True, text=True, timeout=60)
    assert compared.returncode == 1
    assert "quotas.csv: bytes differ" in compared.stdout
    assert "only in" in compared.stdout
