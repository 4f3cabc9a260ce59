"""A ``BLUEPRINT_SITE_SEARCH_FILE`` that cannot be used (missing, not TOML, a bad value)
failed each search, one 422 after another, while the server ran as if all were well. Now
``blueprint serve`` and the app refuse to start, and ``blueprint site-search`` refuses
before any work, naming the file and the problem (in Chinese too)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from blueprint.layers.errors import BadInput
from blueprint.layers.store import Store
from tests.test_cli import run
from tests.test_cli_bounds import cli
from tests.test_site_search_notes import _urban_only

ENV = "BLUEPRINT_SITE_SEARCH_FILE"
BROKEN = {  # the file's text → what the refusal says of it
    "[search]\ngrid_step = 0.75\nmargin_m = = 1\n": "不是有效的 TOML 文件（第 3 行第 12 列附近）",
    "[search]\nmargin_m = [1\n": "不是有效的 TOML 文件（文件末尾）",
    "[search]\ngrid_step = 0\n": "grid_step 的值 0 超出范围，须大于 0",
    "[search]\ngrid_stepp = 0.5\n": "[search] 中有未知的项 grid_stepp，可用：",
    "[buffers]\nwater_source_1 = -50\n": "[buffers] water_source_1 的值 -50 超出范围，须不小于 0",
    "[ranking]\nin_park = \"高\"\n": "[ranking] in_park 的值 '高' 不是数字",
}


def _broken(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "选址.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "said"), BROKEN.items())
def test_the_app_refuses_to_start_naming_the_file_and_the_problem(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, said: str) -> None:
    from blueprint.service.app import create_app
    from blueprint.service.settings import Settings

    path = _broken(tmp_path, text)
    monkeypatch.setenv(ENV, str(path))
    with pytest.raises(BadInput) as refused:
        create_app(Settings(data_dir=tmp_path / "app"))  # type: ignore[call-arg]
    assert refused.value.message_zh.startswith(f"无法读取选址搜索配置文件 {path}（{ENV}）："), \
        refused.value.message_zh
    assert said in refused.value.message_zh, refused.value.message_zh
    assert ENV in str(refused.value) and refused.value.where == str(path)


def test_serve_refuses_to_start_in_one_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "bp"
    missing = tmp_path / "没有这个文件.toml"
    with socket.socket() as busy:  # were the file not checked, the busy port would refuse
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run(["serve", "--port", str(port)], data_dir, **{ENV: str(missing)})
        bad = _broken(tmp_path, "[search]\ngrid_step = 0\n")
        values = run(["serve", "--port", str(port)], data_dir, **{ENV: str(bad)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"无法读取选址搜索配置文件 {missing}（{ENV}）：文件不存在" in done.stderr, done.stderr
    assert values.returncode == 2 and "grid_step 的值 0 超出范围" in values.stderr, values.stderr
    assert "一张蓝图已启动" not in done.stdout + values.stdout
    assert not data_dir.exists()  # refused before the store was made


def test_the_cli_search_refuses_a_broken_file_before_any_work(
        store: Store, tmp_path: Path) -> None:
    _urban_only(store, tmp_path)
    bad = _broken(tmp_path, "[search]\nvet_factor = 1.5\n")
    code, stdout, stderr = cli(store, ["site-search", "--area", "1ha", "--ranking", str(bad)])
    assert code == 2 and stdout == "", stderr
    assert f"无法读取选址搜索配置文件 {bad}：vet_factor 的值 1.5 不是整数" in stderr, stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV, str(tmp_path))  # a folder
        code, stdout, stderr = cli(store, ["site-search", "--area", "1ha"])
    assert code == 2 and stdout == "", stderr
    assert f"无法读取选址搜索配置文件 {tmp_path}（{ENV}）：这是文件夹，不是文件" in stderr, stderr
