"""What an officer types into ``blueprint site-search`` and ``blueprint vet``: an unknown
``--format`` names the formats there are (it said only 输出格式无效); ``--near`` takes the
full-width comma a Chinese input method types (``116.03，36.44``); ``--area`` takes
thousands separators (``1,800亩``) and 平方千米 as 平方公里, and refuses a comma that is no
thousands separator (``12,5ha``) saying so. All refused before any store is opened (the
real entry point, in-process, as tests/test_cli_usage.py runs it)."""

from __future__ import annotations

import pytest

from blueprint.analysis.site_search.inputs import parse_area, parse_point
from blueprint.layers.errors import BadInput
from tests.test_cli_usage import usage

SITE = "data/sample/sites/01_park_clean.txt"


@pytest.mark.parametrize(("args", "said"), [
    (["site-search", "--area", "12ha", "--format", "xml"],
     "输出格式应为 table、json 或 geojson"),
    (["vet", SITE, "--format", "xml"], "输出格式应为 table、json、geojson、html 或 pdf"),
    (["site-search", "--area", "12,5ha"], "用地面积“12,5ha”中的逗号只能作千位分隔"),
    (["site-search", "--area", "1,80亩"], "用地面积“1,80亩”中的逗号只能作千位分隔"),
    (["site-search", "--area", "12 acres"], "应为数字加单位（公顷、亩、平方米或平方公里）"),
])
def test_a_refused_format_or_area_says_what_is_taken(tmp_path: object, args: list[str],
                                                     said: str) -> None:
    code, out, err = usage(args, tmp_path)
    assert (code, out) == (2, ""), err
    assert err.startswith("error: ") and said in err, err


def test_areas_as_written_with_separators_and_units() -> None:
    # 1 公顷 = 10,000 m², 1 公顷 = 15 亩, 1 平方公里 = 100 公顷
    assert parse_area("1,800亩") == parse_area("1，800亩") == 1800 / 15 * 10_000
    assert parse_area("12,345,678.5m2") == 12_345_678.5
    assert parse_area("0.5平方千米") == parse_area("0.5平方公里") == 500_000
    assert parse_area("12hm²") == parse_area("12 公顷") == 120_000
    for bad in ("12,5ha", "1,8000亩", ",800亩", "1,,800亩"):
        with pytest.raises(BadInput) as refused:
            parse_area(bad)
        assert refused.value.where == "--area" and f"“{bad}”" in refused.value.message_zh


def test_a_point_with_a_full_width_comma() -> None:
    assert parse_point("116.03，36.44") == parse_point("116.03, 36.44") == (116.03, 36.44)
    with pytest.raises(BadInput) as refused:
        parse_point("116.03；36.44")
    assert refused.value.where == "--near"
