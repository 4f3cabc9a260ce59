"""Issue 16: the product installs under one name, ``blueprint``.

A wheel is built from this checkout, installed with its dependencies into a clean virtual
environment (no system site-packages), and the ``blueprint`` command runs there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources.
    tree = out / "tree"
    shutil.copytree(REPO, tree, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".blueprint", "build", "dist", "*.egg-info", "test-artifacts", ".venv",
        "__pycache__", ".*_cache", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(out), str(tree)], check=True)
    (found,) = out.glob("blueprint-*.whl")
    return found


def test_the_wheel_claims_one_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"blueprint"}
    for part in ("layers", "analysis", "service", "web"):
        assert f"blueprint/{part}/__init__.py" in names
    # data files travel with the code: rules, quota kinds, migrations, overlay SQL, web assets
    for data in ("blueprint/analysis/rules.toml", "blueprint/analysis/quota/kinds.toml",
                 "blueprint/layers/engine/sql/overlay.sql", "blueprint/web/static/app.js"):
        assert data in names, data
    assert any(n.startswith("blueprint/layers/migrations/versions/") for n in names)


def test_the_wheel_installs_and_runs_in_a_clean_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    py, exe = env_dir / "bin" / "python", env_dir / "bin" / "blueprint"
    # nothing of this checkout or of the outer environment may leak into the clean venv
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   timeout=900, env=env, cwd=tmp_path)
    env["BLUEPRINT_DATA_DIR"] = str(tmp_path / "data")
    env["COLUMNS"] = "400"  # no wrapping of the store path
    helped = subprocess.run([str(exe), "--help"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, check=False)
    assert helped.returncode == 0, helped.stderr
    assert "layers" in helped.stdout and "vet" in helped.stdout
    listed = subprocess.run([str(exe), "layers", "list"], capture_output=True, text=True,
                            env=env, cwd=tmp_path, check=False)
    assert listed.returncode == 0, listed.stderr
    assert str(tmp_path / "data") in listed.stdout + listed.stderr  # says where the store is
    for name in ("layers", "analysis", "service", "web"):
        probe = subprocess.run([str(py), "-c", f"import {name}"], capture_output=True,
                               env=env, cwd=tmp_path, check=False)
        assert probe.returncode != 0, f"the install claims the top-level name {name!r}"
    ok = subprocess.run([str(py), "-c", "import blueprint.layers.store, blueprint.service.app"],
                        capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert ok.returncode == 0, ok.stderr
