"""Issue 9: the report a reviewer pastes and a first run without surprises (CLI and core)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from blueprint.analysis.site import read_site
from blueprint.analysis.vetting import VetRequest, summary, vet_site
from tests.helpers import box, frame, write
from tests.test_cli import run

REPO = Path(__file__).resolve().parent.parent
SITES = REPO / "data" / "sample" / "sites"


def _vet(store, name: str, **kwargs):
    return vet_site(VetRequest(site=read_site(SITES / name), **kwargs), store=store).to_json()


def test_each_water_level_has_its_own_figures_and_sentence(sample_store):
    report = _vet(sample_store, "05_water_source_l1.txt")
    water = next(f for f in report["findings"] if f["kind"] == "water_source")
    levels = {lv["level"]: lv for lv in water["by_level"]}
    assert levels["1"]["status"] == "conflict" and levels["2"]["status"] == "conditional"
    assert levels["1"]["overlap_m2"] == pytest.approx(11_039.7, abs=1)
    assert levels["2"]["overlap_m2"] == pytest.approx(34_560, abs=1)
    assert "二级保护区重叠 34,560" in levels["2"]["message"]
    assert levels["2"]["message"] in report["summary_zh"]
    assert levels["1"]["overlap_share"] + levels["2"]["overlap_share"] <= 1.0 + 2e-6


def test_shares_never_exceed_one(sample_store):
    for path in sorted(SITES.glob("*.txt")) + sorted(SITES.glob("*.geojson")):
        report = _vet(sample_store, path.name)
        for f in report["findings"]:
            for part in [f, *f.get("by_level", [])]:
                assert 0 <= part["overlap_share"] <= 1.0, (path.name, part)
                assert part["overlap_m2"] <= report["site"]["area_m2"] + 0.01


def test_summary_lists_conflicts_then_conditions_then_warnings():
    text = summary("不通过", [("warning", "W。"), ("conditional", "C。"), ("conflict", "X。"),
                             ("ok", "O。")])
    assert text == "初审结论：不通过。X。C。另请注意：W。"


def test_quota_verdict_and_sentence_agree(sample_store):
    first = _vet(sample_store, "01_park_clean.txt", demands={"land": Decimal("1")})
    item = first["quota"]["items"][0]
    total = sum(Decimal(item[k]) for k in ("county_available", "pool_available",
                                           "other_counties_available"))
    beyond = _vet(sample_store, "01_park_clean.txt", demands={"land": total + 1})
    assert beyond["verdict"] == "fail" and beyond["quota"]["status"] == "conflict"
    assert "有偿调剂" not in beyond["quota"]["message"]
    assert "不能保障" in beyond["quota"]["message"]
    own_and_pool = Decimal(item["county_available"]) + Decimal(item["pool_available"])
    lend = _vet(sample_store, "01_park_clean.txt", demands={"land": own_and_pool + 1})
    assert lend["quota"]["status"] == "conditional" and lend["verdict"] != "fail"
    assert "有偿调剂或临时拆借" in lend["quota"]["message"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("issue9") / "bp"
    assert run(["sample", "load"], data_dir).returncode == 0
    return data_dir


def test_cli_table_shows_capacity_and_each_water_level(loaded):
    done = run(["vet", str(SITES / "05_water_source_l1.txt"), "--emissions", "SO2=1.5,NOx=3"],
               loaded)
    assert done.returncode == 0, done.stderr
    assert "环境容量（吨/年）" in done.stdout and "满足" in done.stdout
    assert "饮用水水源一级保护区" in done.stdout and "饮用水水源二级保护区" in done.stdout
    assert "34,560" in done.stdout


def test_cli_quota_line_does_not_repeat_its_label(loaded):
    done = run(["vet", str(SITES / "01_park_clean.txt"), "--demand", "land=5"], loaded)
    assert done.returncode == 0, done.stderr
    assert "要素指标（" in done.stdout and "要素指标：要素指标" not in done.stdout


def test_cli_quota_tables_have_no_english_words(loaded):
    # LC-2025-0002: a sample project of 东昌府区 (quota goes only to real projects).
    done = run(["quota", "allocate", "--kind", "land", "--county", "371502", "--project",
                "LC-2025-0002", "--amount", "0.5", "--reason", "联席会议同意配置"], loaded)
    assert done.returncode == 0, done.stderr
    assert not re.search(r"allocate|county:|project:", done.stdout), done.stdout
    assert "东昌府区县级储备" in done.stdout  # named as the balances name it


def test_vet_on_an_empty_store_is_an_error_and_creates_nothing(tmp_path):
    data_dir = tmp_path / "elsewhere" / ".blueprint"
    done = run(["vet", str(SITES / "01_park_clean.txt")], data_dir)
    assert done.returncode == 2
    assert "blueprint sample load" in done.stderr and "blueprint layers import" in done.stderr
    assert not data_dir.exists()
    listed = run(["layers", "list"], data_dir)
    assert listed.returncode == 0 and str(data_dir) in listed.stdout.replace("\n", "")
    assert not data_dir.exists()


def test_layers_list_says_where_the_store_is(loaded):
    done = run(["layers", "list"], loaded)
    assert f"图层库：{loaded.resolve()}" in done.stdout.replace("\n", "")


def test_users_add_explains_the_token(tmp_path):
    done = run(["users", "add", "王科长", "--role", "county_quota_manager", "--county",
                "371502"], tmp_path / "bp")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.split()) == 1  # the token alone on stdout, for scripts
    assert "只显示这一次" in done.stderr and "Authorization: Bearer" in done.stderr


def test_a_second_protected_layer_warns_and_name_replaces(tmp_path):
    data_dir = tmp_path / "bp"
    red = write(frame([box(150, -50, 250, 300)], hxbh=["HX-1"]), tmp_path / "red.gpkg")
    first = run(["layers", "import", str(red), "--kind", "ecological_redline", "--name",
                 "ecological_redline"], data_dir)
    assert first.returncode == 0 and "提示" not in first.stdout
    again = run(["layers", "import", str(red), "--kind", "ecological_redline", "--name",
                 "ecological_redline"], data_dir)
    assert "第二个" not in again.stdout
    second = run(["layers", "import", str(red), "--kind", "ecological_redline", "--format",
                  "json"], data_dir)
    warnings = json.loads(second.stdout)["warnings"]
    assert any("--name ecological_redline" in w and "第二个生态保护红线图层" in w
               for w in warnings)


def test_a_random_text_file_is_neither_a_coordinate_file_nor_gis(tmp_path, loaded):
    path = tmp_path / "notes.txt"
    path.write_text("hello\nthis is not a site\n", encoding="utf-8")
    done = run(["vet", str(path)], loaded)
    assert done.returncode == 2
    assert "CSV:" not in done.stderr and "might help" not in done.stderr
    assert "neither a boundary-point coordinate file" in done.stderr
    assert "既不是界址点坐标文件" in done.stderr


def test_readme_first_command_makes_a_venv_and_there_are_two():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2
    assert block[0].startswith("python3 -m venv .venv && . .venv/bin/activate && pip install")
    assert "my_redline.shp" not in text and "--name ecological_redline" in text


def test_the_cli_benchmark_is_linked_from_the_benchmark_report():
    from bench.bench_vetting import CLI_LINK

    assert CLI_LINK in (REPO / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert (REPO / "docs" / "benchmarks-cli.md").exists()
