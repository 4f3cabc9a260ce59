"""What people type: ``KEY=AMOUNT`` lists and dates/times, one parser each, in the core."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from blueprint.analysis.amounts import parse_demands, parse_pairs
from blueprint.analysis.capacity import parse_emissions
from blueprint.analysis.clock import parse_day_or_time, shown_cn
from blueprint.analysis.tracking.common import day
from blueprint.analysis.tracking.dispatch import check_quarter
from blueprint.analysis.tracking.model import check_month
from blueprint.layers.errors import BadInput

BAD_FORMATS = ("SO2", "SO2=", "=", "=5")
BAD_AMOUNTS = ("SO2=abc", "SO2=-1", "SO2=nan", "SO2=inf", "SO2=1e400")


def test_pairs_keep_order_skip_empty_parts_and_strip():
    pairs = parse_pairs(" a = 1 ,, b=2.5,", Decimal, lambda part: BadInput(part))
    assert list(pairs) == [("a", Decimal("1")), ("b", Decimal("2.5"))]
    assert list(parse_pairs(None, float, lambda part: BadInput(part))) == []


@pytest.mark.parametrize("bad", BAD_FORMATS)
def test_emissions_refuse_bad_parts_as_their_format(bad):
    with pytest.raises(BadInput, match="POLLUTANT=TONNES") as emission:
        parse_emissions(bad)
    assert emission.value.message_zh == f"排放量“{bad}”格式应为 污染物=吨数"


@pytest.mark.parametrize("bad", BAD_AMOUNTS)
def test_emissions_refuse_a_bad_amount_naming_the_pollutant_and_the_amount(bad):
    value = bad.split("=", 1)[1]
    with pytest.raises(BadInput) as emission:
        parse_emissions(bad)
    assert emission.value.where == "emissions.SO2"
    assert emission.value.message_zh.startswith(f"二氧化硫排放量“{value}”")
    assert ("不能为负数" if value == "-1" else "不是有效数字") in emission.value.message_zh
    assert "POLLUTANT=TONNES" not in str(emission.value)


@pytest.mark.parametrize("bad", BAD_FORMATS)
def test_demands_refuse_a_bad_format_as_such(bad):
    with pytest.raises(BadInput, match="KIND=AMOUNT") as demand:
        parse_demands(bad.replace("SO2", "land"))
    assert demand.value.message_zh.endswith("格式应为 指标类型=数量")


@pytest.mark.parametrize(("text", "english", "chinese"), [
    ("land=-1", "the land demand amount -1 is negative", "新增建设用地指标需求数量“-1”不能为负数"),
    ("SO2=-0.5", "amount -0.5 is negative", "二氧化硫排放总量指标需求数量“-0.5”不能为负数"),
    ("land=abc", "amount 'abc' is not a number", "新增建设用地指标需求数量“abc”不是有效数字"),
    ("land=nan", "amount 'nan' is not a number", "新增建设用地指标需求数量“nan”不是有效数字"),
    ("land=-inf", "amount '-inf' is not a number", "需求数量“-inf”不是有效数字"),
    ("coins=-2", "the coins demand amount -2 is negative", "要素需求“coins”的数量“-2”不能为负数"),
])
def test_demands_name_the_kind_and_the_amount_of_a_bad_amount(text, english, chinese):
    """A right format with a wrong amount is not a format error: the message names the kind
    (in Chinese by its title) and the amount, at ``demands.<kind>``."""
    with pytest.raises(BadInput) as refused:
        parse_demands(f"energy=1,{text}")  # the bad part, not the first
    assert english in refused.value.message and "KIND=AMOUNT" not in refused.value.message
    assert refused.value.message_zh.endswith(chinese), refused.value.message_zh
    assert "格式" not in refused.value.message_zh
    assert refused.value.where == f"demands.{text.split('=')[0]}"


def test_a_zero_demand_is_read():
    assert parse_demands("land=0") == {"land": Decimal("0")}  # vetting reports it


def test_demands_are_exact_and_emissions_named():
    assert parse_demands("new_construction_land=2.5, energy=3000") == {
        "new_construction_land": Decimal("2.5"), "energy": Decimal("3000")}
    assert parse_demands("land=0.1")["land"] == Decimal("0.1")  # not 0.1000000000000000055…
    assert parse_emissions("so2=1.5,氮氧化物=3") == {"SO2": 1.5, "NOx": 3.0}
    with pytest.raises(BadInput, match="unknown pollutant"):
        parse_emissions("SO2=1,XYZ=2")


def test_one_date_parser_three_wants():
    assert parse_day_or_time("2026-05-06", "expires") == date(2026, 5, 6)
    assert parse_day_or_time("2026-05-06T10:30", "expires") == datetime(2026, 5, 6, 10, 30)
    assert parse_day_or_time(" 2026-05-06 ", "--due", "date") == date(2026, 5, 6)
    assert parse_day_or_time("2026-05-06", "--since", "time") == datetime(2026, 5, 6)
    cst = timezone(timedelta(hours=8))
    assert parse_day_or_time("2026-05-06T08:00+08:00", "--until", "time") == datetime(
        2026, 5, 6, 8, tzinfo=cst)


@pytest.mark.parametrize(("text", "want", "english", "chinese"), [
    ("2026-05-06T10:00", "date", "is not a date (YYYY-MM-DD)", "日期格式应为 YYYY-MM-DD"),
    ("06/05/2026", "date", "is not a date (YYYY-MM-DD)", "日期格式应为 YYYY-MM-DD"),
    ("yesterday", "time", "is not a date or time (ISO 8601)", "时间格式应为 YYYY-MM-DD"),
    ("2026-13-0", "day_or_time", "is neither a date", "应为日期 YYYY-MM-DD 或时间"),
    # in the form YYYY-MM-DD but no day of the calendar: said so (it said "must be
    # YYYY-MM-DD", what the user had written)
    ("2026-11-31", "date", "is not a real date", "2026-11-31 不是有效日期"),
    ("2026-13-01", "day_or_time", "is not a real date", "2026-13-01 不是有效日期"),
    ("2026-02-29T10:00", "time", "is not a real date", "2026-02-29 不是有效日期"),
    # the end of 9999-12-31 (an as-of date, a hold's last day) is past datetime.max: a 500
    # before; 0001-01-01T00:00 China time is before it
    ("9999-12-31", "day_or_time", "is not between 2000 and 2100", "日期应在 2000 年至 2100 年之间"),
    ("0001-01-01T00:00", "time", "is not between 2000 and 2100", "日期应在 2000 年至 2100 年之间"),
    ("1999-12-31", "date", "is not between 2000 and 2100", "日期应在 2000 年至 2100 年之间"),
])
def test_bad_dates_say_what_was_wanted_and_where(text, want, english, chinese):
    with pytest.raises(BadInput) as caught:
        parse_day_or_time(text, "--opt", want)
    assert caught.value.where == "--opt" and english in caught.value.message
    assert caught.value.message.startswith(f"--opt {text!r}")
    assert caught.value.message_zh.startswith(chinese)


def test_a_record_date_that_is_no_day_of_the_calendar_is_said_to_be_so():
    with pytest.raises(BadInput) as caught:
        day("2026-11-31", "held_on")
    assert caught.value.message_zh == "2026-11-31 不是有效日期"
    with pytest.raises(BadInput) as caught:
        day("2026/11/30", "held_on")
    assert "须为日期" in caught.value.message_zh


def test_stored_moments_are_shown_in_china_time_whatever_the_machine_zone(monkeypatch):
    """Naive values are UTC as stored (SQLite reads them back so), not the machine's zone:
    ``datetime.astimezone`` alone would take a naive value as local time."""
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        naive = datetime(2026, 3, 1, 18, 30)  # 18:30 UTC
        aware = naive.replace(tzinfo=timezone(timedelta(hours=-5)))  # 23:30 UTC
        assert shown_cn(naive) == "2026-03-02 02:30"
        assert shown_cn(aware, "%Y年%m月%d日 %H:%M:%S") == "2026年03月02日 07:30:00"
        assert shown_cn(None) == ""
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(("check", "value"), [
    (check_month, "0001-01"),  # a monthly report for January of year 1
    (check_month, "9999-12"),
    (lambda v: day(v, "held_on"), "1900-01-01"),  # a dispatch meeting held in 1900
    (lambda v: day(v, "held_on"), date(9999, 12, 31)),  # as the API's date fields pass it
    (check_quarter, "0001-Q4"),
])
def test_tracking_records_are_dated_in_plausible_years(check, value):
    with pytest.raises(BadInput) as caught:
        check(value)
    assert caught.value.message_zh == "日期应在 2000 年至 2100 年之间"
    assert check_month("2026-11") == "2026-11" and day("2100-12-31", "x") == date(2100, 12, 31)


def test_the_chinese_half_of_a_field_error_names_the_field_as_a_person_knows_it() -> None:
    """Projects and tracking say 请填写项目名称, 总投资必须是正数, 会议日期须为日期… (the code
    stays in ``where`` and the English half), not 必须填写 name or investment 必须是正数."""
    from decimal import Decimal

    from blueprint.analysis.projects.model import ProjectInput
    from blueprint.analysis.projects.records import check_input
    from blueprint.analysis.tracking.common import day, text
    from blueprint.layers.errors import BadInput

    good = dict(name="项目", county="371502", industry="industrial", investment=Decimal("1"),
                responsible_unit="某单位")
    for changed, where, said in [({"name": " "}, "name", "请填写项目名称"),
                                 ({"investment": Decimal("-1")}, "investment", "总投资必须是正数"),
                                 ({"responsible_unit": "单" * 201}, "responsible_unit",
                                  "责任单位超过 200 字")]:
        with pytest.raises(BadInput) as refused:
            check_input(ProjectInput(**{**good, **changed}))  # type: ignore[arg-type]
        assert (refused.value.where, refused.value.message_zh) == (where, said)
    for call, said in [(lambda: day("6 May", "held_on"), "会议日期须为日期（年-月-日）"),
                       (lambda: text("", "owner_unit"), "请填写责任单位"),
                       (lambda: text("", "items.reason"), "请填写调整事项（reason）")]:
        with pytest.raises(BadInput) as refused:
            call()
        assert refused.value.message_zh == said


def test_an_empty_folder_is_not_called_an_empty_file(tmp_path) -> None:
    """``blueprint vet <folder>`` (or an empty name, the current folder) says the folder holds
    no file, not 文件为空."""
    from blueprint.layers.errors import InvalidFile
    from blueprint.layers.safe_open import check_size

    (tmp_path / "地块").mkdir()
    (tmp_path / "空.geojson").write_bytes(b"")
    with pytest.raises(InvalidFile) as refused:
        check_size(tmp_path / "地块", max_bytes=1000)
    assert refused.value.message_zh == "文件夹“地块”中没有文件，请指定数据文件"
    with pytest.raises(InvalidFile) as refused:
        check_size(tmp_path / "空.geojson", max_bytes=1000)
    assert refused.value.message_zh == "文件为空"


def test_a_folder_given_for_a_site_is_refused_for_what_it_is(tmp_path, monkeypatch) -> None:
    """A folder that is no File Geodatabase (a home folder given by mistake) is said to be
    one before its files are counted: ``blueprint vet /usr`` walked all of /usr (14 s) to say
    "the file is 5998 MB"; a folder past the limit is called a folder, its files counted only
    until past it. ``vet --points`` with a folder ended in "internal error:
    IsADirectoryError" (exit 1)."""
    from typer.testing import CliRunner

    from blueprint.layers.errors import InvalidFile, RefusedFormat, TooLarge
    from blueprint.layers.safe_open import Limits, check_size, opened
    from blueprint.service.cli import app

    folder = tmp_path / "资料"
    (folder / "sub").mkdir(parents=True)
    for i in range(3):
        (folder / "sub" / f"{i}.txt").write_bytes(b"x" * 600)
    with pytest.raises(RefusedFormat) as refused, opened(folder, limits=Limits(max_bytes=1000)):
        pass
    assert "不是 File Geodatabase" in refused.value.message_zh
    with pytest.raises(TooLarge) as large:
        check_size(folder, max_bytes=1000)
    assert large.value.message_zh.startswith("文件夹中的文件超过上限")
    monkeypatch.setenv("BLUEPRINT_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("BLUEPRINT_DATABASE_URL", raising=False)
    for points in (folder, folder / "sub"):
        result = CliRunner().invoke(app, ["vet", "--points", str(points)])
        assert isinstance(result.exception, InvalidFile | BadInput), result.exception
        assert "是文件夹，请指定界址点坐标表文件" in result.exception.message_zh


def test_a_rules_file_without_industries_is_refused_as_such(tmp_path) -> None:
    """An empty (or industry-less) ``--rules`` file says so, not "unknown industry
    'industrial'; known: " at the first site."""
    from blueprint.analysis.rules import load_rules
    from blueprint.layers.errors import BadInput

    for text in ("", "[defaults]\nmin_overlap_m2 = 2\n"):
        rules = tmp_path / "rules.toml"
        rules.write_text(text, encoding="utf-8")
        with pytest.raises(BadInput) as refused:
            load_rules(rules)
        assert "没有任何行业" in refused.value.message_zh
