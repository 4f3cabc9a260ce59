"""The library's counts per stage (/projects, the real app, FastAPI TestClient, both
engines) count what the other filters chose (county, library, industry), and a count's link
keeps those filters: a user who chose 商业服务业项目 and clicks 会商中 sees the commercial
projects in consultation, not every project in consultation."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape
from pathlib import Path

from projects_support import DCF, DCF_STAFF, T0, city  # noqa: F401  (city: fixture)

from blueprint.analysis.consultation import start_round
from blueprint.analysis.projects import stage_counts
from blueprint.layers.store import Store
from tests.test_pages import _client, _login, _planned, _users


def test_stage_counts_and_their_links_keep_the_other_filters(city: Store,  # noqa: F811
                                                              tmp_path: Path) -> None:
    _users(city)
    shop = _planned(city, "商业项目", at=T0, industry="commercial", demands={}, emissions={},
                    investment=Decimal("1"), tags=("city_key",))
    start_round(shop, user=DCF_STAFF, store=city, at=T0)
    _planned(city, "商业项目二", at=T0, industry="commercial", demands={}, emissions={},
             investment=Decimal("1"))
    for name in ("工业项目一", "工业项目二"):
        start_round(_planned(city, name, at=T0), user=DCF_STAFF, store=city, at=T0)
    assert stage_counts(store=city)["consulting"] == 3
    assert stage_counts(store=city, industry="commercial")["consulting"] == 1
    assert stage_counts(store=city, tag="city_key", industry="commercial")["planned"] == 0

    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        html = nr.get(f"/projects?county={DCF}&industry=commercial").text
        counts = html.split('id="bp-counts"', 1)[1].split("</p>", 1)[0]
        assert "策划生成 <b>1</b>" in counts and "会商中 <b>1</b>" in counts, counts
        links = dict(re.findall(r'href="([^"]+)"[^>]*>([^ <]+) <b>', counts))
        consulting = unescape(next(href for href, zh in links.items() if zh == "会商中"))
        assert consulting == f"/projects?stage=consulting&county={DCF}&industry=commercial"
        assert "全部 <b>2</b>" in counts  # every stage, the other filters kept
        assert unescape(next(href for href, zh in links.items() if zh == "全部")) == \
            f"/projects?county={DCF}&industry=commercial"
        chosen = nr.get(consulting).text
        again = chosen.split('id="bp-counts"', 1)[1].split("</p>", 1)[0]
        assert 'class="bp-count">全部' in again  # a stage chosen: 全部 is the way back
        table = chosen.split('id="bp-projects"', 1)[1].split("</table>", 1)[0]
        assert re.findall(r">(LC-\d{4}-\d{4})</a>", table) == [shop]
