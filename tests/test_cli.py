"""The ``blueprint`` command as a user runs it: a real subprocess, exit codes, output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.helpers import box, frame, write

REPO = Path(__file__).resolve().parent.parent


def run(args: list[str], data_dir: Path | str, cwd: Path = REPO,
        **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``blueprint ARGS`` on the embedded engine in ``data_dir``."""
    environ = {**os.environ, "BLUEPRINT_DATA_DIR": str(data_dir), "BLUEPRINT_DATABASE_URL": "",
               "COLUMNS": "200", "PYTHONPATH": str(REPO), **env}
    return subprocess.run([sys.executable, "-m", "blueprint.service", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "bp"


def _layer(tmp_path: Path) -> Path:
    return write(frame([box(150, -50, 250, 300)], hxbh=["HX-1"], name=["红线"]),
                 tmp_path / "red.gpkg")


def test_import_list_and_vet_json(tmp_path, data_dir):
    done = run(["layers", "import", str(_layer(tmp_path)), "--kind", "ecological_redline"],
               data_dir)
    assert done.returncode == 0, done.stderr
    listed = run(["layers", "list", "--format", "json"], data_dir)
    layers = json.loads(listed.stdout)
    assert [(x["name"], x["kind"], x["feature_count"]) for x in layers] == [
        ("red", "ecological_redline", 1)]
    site = write(frame([box(0, 0, 200, 100)], name=["测试"]), tmp_path / "site.gpkg")
    vet = run(["vet", str(site), "--format", "json"], data_dir)
    assert vet.returncode == 0, vet.stderr
    report = json.loads(vet.stdout)  # exactly one JSON object on stdout
    assert report["verdict"] == "fail"
    assert report["findings"][0]["overlap_m2"] == pytest.approx(5000, abs=0.5)


def test_vet_table_and_geojson(tmp_path, data_dir):
    run(["layers", "import", str(_layer(tmp_path)), "--kind", "ecological_redline"], data_dir)
    site = write(frame([box(0, 0, 200, 100)], name=["测试"]), tmp_path / "site.gpkg")
    table = run(["vet", str(site)], data_dir)
    assert table.returncode == 0 and "初审结论：不通过" in table.stdout
    gj = json.loads(run(["vet", str(site), "--format", "geojson"], data_dir).stdout)
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 2


@pytest.mark.parametrize("args, needle", [
    (["vet", "missing.geojson"], "no such file"),
    (["layers", "import", "x.gpkg", "--kind", "golf"], "unknown layer kind"),
    (["vet", "data/sample/manifest.toml", "--format", "xml"], "--format"),
    (["vet", "pyproject.toml"], "neither a boundary-point coordinate file"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(data_dir, args, needle):
    done = run(args, data_dir)
    assert done.returncode == 2
    assert needle in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_failed_import_changes_nothing(tmp_path, data_dir):
    run(["layers", "import", str(_layer(tmp_path)), "--kind", "ecological_redline"], data_dir)
    nocrs = write(frame([box(0, 0, 10, 10)], name=["x"]), tmp_path / "red.shp")
    nocrs.with_suffix(".prj").unlink()
    done = run(["layers", "import", str(nocrs), "--kind", "ecological_redline"], data_dir)
    assert done.returncode == 2 and "--crs" in done.stderr
    layers = json.loads(run(["layers", "list", "--format", "json"], data_dir).stdout)
    assert [x["source_file"] for x in layers] == ["red.gpkg"]


def test_vet_batch_reports_progress_and_every_site(tmp_path, data_dir):
    """(stderr is not a terminal here: the progress bars print nothing, not a blank line.)"""
    loaded = run(["layers", "import", str(_layer(tmp_path)), "--kind", "ecological_redline"],
                 data_dir)
    assert loaded.returncode == 0 and "\n\n" not in "\n" + loaded.stderr, loaded.stderr
    folder = tmp_path / "sites"
    folder.mkdir()
    write(frame([box(100, 0, 100, 100)], name=["a"]), folder / "a.geojson")
    write(frame([box(500, 500, 100, 100)], name=["b"]), folder / "b.gpkg")
    (folder / "c.geojson").write_text("{}", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    done = run(["vet-batch", str(folder), "--output", str(out)], data_dir)
    assert (done.returncode, done.stderr) == (0, "")
    assert "已审查 3 个地块" in done.stdout and "出错 1 个" in done.stdout
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3
    by_file = {Path(x["file"]).name: x for x in lines}
    assert by_file["a.geojson"]["verdict"] == "fail"  # 50 m × 100 m on the red line
    # clear of the red line, but farmland, water and boundary layers are missing
    assert by_file["b.gpkg"]["verdict"] == "conditional"
    assert {f["rule"] for f in by_file["b.gpkg"]["findings"]} >= {"layer.missing"}
    assert "error" in by_file["c.geojson"]
    again = run(["vet-batch", str(folder), "--output", str(out)], data_dir)
    assert again.returncode == 2 and "已存在" in again.stderr and "--force" in again.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
    assert run(["vet-batch", str(folder), "--output", str(out), "--force"],
               data_dir).returncode == 0


def test_empty_data_dir_has_no_layers_until_sample_load(data_dir):
    assert json.loads(run(["layers", "list", "--format", "json"], data_dir).stdout) == []
    loaded = run(["sample", "load"], data_dir)
    assert loaded.returncode == 0, loaded.stderr
    kinds = {x["kind"] for x in json.loads(run(["layers", "list", "--format", "json"],
                                                data_dir).stdout)}
    assert "ecological_redline" in kinds and "env_capacity" in kinds


def test_relative_data_dir_works_from_any_folder(tmp_path):
    work = tmp_path / "office"
    work.mkdir()
    loaded = run(["sample", "load", "--path", str(REPO / "data" / "sample")], "bp", cwd=work)
    assert loaded.returncode == 0, loaded.stderr
    site = str(REPO / "data" / "sample" / "sites" / "01_park_clean.txt")
    for data_dir, cwd in (("bp", work), (work / "bp", REPO)):
        vet = run(["vet", site, "--format", "json"], data_dir, cwd=cwd)
        assert vet.returncode == 0, vet.stderr
        bands = json.loads(vet.stdout)["capacity"]["layers"][0]["bands"]
        assert {b["band"] for b in bands} >= {"SO2", "NOx"} and bands[0]["mean"] > 0


def test_names_with_brackets_are_printed_as_they_are(tmp_path, data_dir):
    run(["layers", "import", str(_layer(tmp_path)), "--kind", "ecological_redline"], data_dir)
    site = write(frame([box(0, 0, 50, 50)], name=["项目[/]一期[v2]"]), tmp_path / "厂区[v2].gpkg")
    done = run(["vet", str(site)], data_dir)
    assert done.returncode == 0, done.stderr
    assert "项目[/]一期[v2]" in done.stdout


def test_vet_batch_refuses_an_unknown_industry_or_an_empty_folder_once(tmp_path, data_dir):
    folder = tmp_path / "sites"
    folder.mkdir()
    empty = run(["vet-batch", str(folder), "--output", str(tmp_path / "o.jsonl")], data_dir)
    assert empty.returncode == 2 and "no site files" in empty.stderr
    write(frame([box(0, 0, 10, 10)], name=["a"]), folder / "a.geojson")
    bad = run(["vet-batch", str(folder), "--output", str(tmp_path / "o.jsonl"),
               "--industry", "casino"], data_dir)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "unknown industry" in bad.stderr


def test_serve_on_a_busy_port_is_one_clear_line(data_dir):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run(["serve", "--port", str(port)], data_dir)
    assert done.returncode == 2 and f"127.0.0.1:{port}" in done.stderr
    assert "一张蓝图已启动" not in done.stdout and "Traceback" not in done.stderr


@pytest.mark.parametrize("prefix", ["bp", "/bp/", "/b p", "/bp?x=1", "/区"])
def test_serve_refuses_a_root_path_that_is_no_path_prefix(data_dir, prefix):
    """``--root-path`` is what a proxy serves the app under: uvicorn puts it before every
    address the app is handed and every link the pages make. One that is no ``/segment``
    (no leading slash, a trailing one, a space, a query, characters uvicorn cannot encode)
    would make every link wrong: refused in one line naming the option, nothing served."""
    done = run(["serve", "--root-path", prefix], data_dir)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert len(done.stderr.strip().splitlines()) == 1 and "--root-path" in done.stderr
    assert "/blueprint" in done.stderr  # the form it must have, by example
    assert "一张蓝图已启动" not in done.stdout and "Traceback" not in done.stderr


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_says_it_is_up_only_once_it_accepts_connections(data_dir, workers):
    """The ready line came before the workers had even imported the app. Not timed: read
    what the server printed, then try its port; whenever the line was printed the port
    must already accept (polled until the line appears, generous deadline). A SIGTERM
    then shuts it down cleanly, exit status 0 (one worker exited -15: uvicorn raised the
    signal again after its shutdown)."""
    import queue
    import socket
    import threading
    import time

    from tests.live_server import START_TIMEOUT_S, free_port

    port = free_port()
    env = {**os.environ, "BLUEPRINT_DATA_DIR": str(data_dir), "BLUEPRINT_DATABASE_URL": "",
           "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "blueprint.service", "serve", "--port",
                             str(port), "--workers", str(workers)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or ()],
                     daemon=True).start()
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(proc.stderr or ()), daemon=True)
    reader.start()
    printed: list[str] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not any("一张蓝图已启动" in x for x in printed):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(log)
            while not lines.empty():
                printed.append(lines.get())
            said_up = any("一张蓝图已启动" in x for x in printed)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                accepting = True
            except OSError:
                accepting = False
            assert accepting or not said_up, f"said it was up, port refused:\n{printed}"
            time.sleep(0.05)
        assert printed[-1] == (f"一张蓝图已启动，正在接受连接：在浏览器中打开 "
                               f"http://127.0.0.1:{port}/（接口文档 http://127.0.0.1:{port}/"
                               "docs，Ctrl+C 退出）\n")
        proc.terminate()  # SIGTERM
        status = proc.wait(timeout=60)
        reader.join(timeout=30)  # everything it wrote on stderr, to its end
        assert status == 0 and "Traceback" not in "".join(log), "".join(log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)


def test_layers_list_shows_import_times_in_china_time(tmp_path, data_dir):
    """The table's 导入时间 is China time (the JSON keeps the stored UTC moment)."""
    run(["layers", "import", str(_layer(tmp_path)), "--kind", "ecological_redline"], data_dir)
    stamp = datetime.fromisoformat(
        json.loads(run(["layers", "list", "--format", "json"], data_dir).stdout)[0]["imported_at"])
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    china = stamp.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    utc = stamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    shown = run(["layers", "list"], data_dir).stdout
    assert "导入时间（北京时间）" in shown and china in shown and utc not in shown, shown


def test_layers_list_refuses_an_unknown_format(data_dir):
    done = run(["layers", "list", "--format", "xml"], data_dir)
    assert done.returncode == 2 and "--format" in done.stderr and done.stdout == ""
