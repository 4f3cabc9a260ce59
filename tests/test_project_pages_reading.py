"""The project pages as a county's or the city's natural-resources staff read them (the real
app, FastAPI TestClient, both engines, the sample city): what a stale report names, what
the first vetting is called, the downloads' and the library's addresses, and what a refused
form keeps."""

from __future__ import annotations

import re
from pathlib import Path

from projects_support import (  # noqa: F401  (city: fixture)
    DCF_STAFF,
    SAMPLE,
    city,
    park_project,
    site,
)

from blueprint.analysis.projects import create_project, vet_project
from blueprint.layers.store import Store
from tests.test_pages import _client, _csrf, _login, _users

NO_PAGE = "该页面不存在，请检查地址，或从上方的导航进入"


def _project(store: Store, *, vetted: bool = True) -> str:
    """A 东昌府区 project on the sample's park site, vetted or not: its code."""
    code = create_project(park_project(), site=site("01_park_clean.txt"), user=DCF_STAFF,
                          store=store).code
    if vetted:
        vet_project(code, user=DCF_STAFF, store=store)
    return code


def _revised_redline(tmp_path: Path) -> Path:
    """The sample red line with one attribute added to every feature: a new version on
    import (the very same file again is no change and adds none)."""
    import geopandas as gpd

    frame = gpd.read_file(SAMPLE / "layers" / "ecological_redline.gpkg")
    frame["revision"] = "2"
    path = tmp_path / "ecological_redline.gpkg"
    frame.to_file(path, driver="GPKG")
    return path


def test_a_stale_report_names_the_layers_in_chinese(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """Re-importing the red line made every stored report stale, and the project page said
    重新导入的图层：ecological_redline — the catalogue's key, not the layer's title; a removed
    layer is named by its kind's title (it has left the catalogue)."""
    from blueprint.layers.importer import ImportOptions, import_layer
    from blueprint.layers.repository import remove_layer

    _users(city)
    code = _project(city)
    import_layer(_revised_redline(tmp_path),
                 ImportOptions(kind="ecological_redline", name="ecological_redline"),
                 store=city)
    remove_layer("water_source", store=city, actor="test")
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get(f"/projects/{code}").text
    why = re.search(r'id="bp-stale-why">(.*?)</p>', page, re.S)
    assert why, page[-3000:]
    assert "重新导入的图层：生态保护红线。" in why.group(1), why.group(1)
    assert "已删除的图层：饮用水水源保护区。" in why.group(1), why.group(1)
    assert "ecological_redline" not in why.group(1) and "water_source" not in why.group(1)
    # the page asks about its own project only, and learns what the library-wide list says
    from blueprint.analysis.projects import (
        get_project,
        latest_report,
        stale_projects,
        staleness_of,
    )

    mine = staleness_of(get_project(code, store=city), latest_report(code, store=city),
                        store=city)
    assert mine is not None and mine.reimported == ("ecological_redline",)
    assert mine == next(s for s in stale_projects(store=city) if s.project == code)


def test_a_project_never_vetted_offers_the_first_vetting_not_a_second(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """A project saved without its report (the sample's 策划生成 one has none) offered
    重新初审 (vet *again*) and no 发起会商, without saying the round waits for the report."""
    _users(city)
    code = _project(city, vetted=False)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get(f"/projects/{code}").text
        assert "尚无审查报告" in page and 'id="bp-start-round"' not in page
        button = re.search(r'id="bp-revet-button">([^<]+)<', page)
        assert button and button.group(1) == "初审", page[-3000:]
        assert "有初审报告后方可发起会商" in page
        vetted = nr.post(f"/projects/{code}/vet", data={"csrf": _csrf(nr)})
        assert vetted.status_code == 200 and 'id="bp-start-round"' in vetted.text
        assert "重新初审" not in vetted.text  # the report is current: nothing to vet again


def test_a_site_download_in_a_format_there_is_not_is_refused_naming_the_field(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """下载地块 with ?format=xyz (a hand-edited link) sent the GBK coordinate file instead,
    saying nothing; a long value was refused naming the field by its English name. Now the
    400 page names 下载格式 and the four formats, with the way back to the project; a code
    longer than any project's is no page, as on the project page itself."""
    _users(city)
    code = _project(city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        for asked, shown in [("xyz", "xyz"), ("A" * 300, "A" * 40 + "…")]:
            refused = nr.get(f"/projects/{code}/site", params={"format": asked},
                             headers={"accept": "text/html"})
            assert refused.status_code == 400, refused.headers
            assert refused.headers["content-type"].startswith("text/html")
            assert f"下载格式“{shown}”无效，可选：界址点坐标文件、GeoPackage、GeoJSON、" \
                   "Shapefile（zip）" in refused.text, refused.text[-2000:]
            assert f'href="/projects/{code}">返回</a>' in refused.text
            assert "A" * 41 not in refused.text
        for fmt, media in [(None, "text/plain; charset=GBK"), ("gpkg", "application/geopackage")]:
            sent = nr.get(f"/projects/{code}/site", params={"format": fmt} if fmt else {})
            assert sent.status_code == 200 and sent.headers["content-type"].startswith(media)
        for path in ("site", "report", "report.pdf"):
            long = nr.get(f"/projects/{'A' * 300}/{path}", headers={"accept": "text/html"})
            assert long.status_code == 404 and NO_PAGE in long.text, (path, long.text[-800:])


def _crs_chosen(html: str, form_id: str) -> list[str]:
    form = html.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
    select = form.split('<select name="crs">', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"[^>]* selected>', select)


def test_a_refused_form_keeps_the_coordinate_system_chosen_for_its_file(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """A site file chosen with 坐标系 39带 and a 总投资 typed wrong: the form came back with
    坐标系 back on 自动识别, so a file chosen again was read without the zone it needs. The
    new-project and the revise forms keep the choice (and the site read from the file)."""
    _users(city)
    code = _project(city)
    park = SAMPLE / "sites" / "01_park_clean.txt"
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        fields = {"name": "坐标系项目", "county": "371502", "industry": "industrial",
                  "investment": "很多", "responsible_unit": "某公司", "crs": "EPSG:4527"}
        with park.open("rb") as fh:
            refused = nr.post("/projects/new", data=fields | {
                "csrf": _csrf(nr, "/projects/new")},
                files={"site_file": ("地块.txt", fh, "text/plain")})
        assert refused.status_code == 422 and "已读取地块文件" in refused.text, \
            refused.text[-1500:]
        assert _crs_chosen(refused.text, "bp-project-form") == ["EPSG:4527"]
        assert _crs_chosen(nr.get("/projects/new").text, "bp-project-form") == []  # 自动识别
        with park.open("rb") as fh:
            again = nr.post(f"/projects/{code}/revise", data=fields | {
                "csrf": _csrf(nr), "crs": "EPSG:4548", "reason": "调整"},
                files={"site_file": ("地块.txt", fh, "text/plain")})
        assert again.status_code == 422, again.text[-1500:]
        assert _crs_chosen(again.text, "bp-revise-form") == ["EPSG:4548"]


def test_the_library_finds_a_project_by_its_code(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """A 项目编号 from a document could only be found by paging the library 50 at a time.
    Typed in 按项目编号查找 (letter case and spaces aside) it opens the project; a code no
    project has is said on the library, the code kept in the box, the list still shown."""
    _users(city)
    code = _project(city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        library = nr.get("/projects").text
        assert 'id="bp-code-search"' in library and 'name="code"' in library
        for typed in (code, f" {code.lower()} "):
            found = nr.get("/projects", params={"code": typed}, follow_redirects=False)
            assert found.status_code == 303, found.text[-800:]
            assert found.headers["location"] == f"/projects/{code}"
        missing = nr.get("/projects", params={"code": "LC-2099-0009"})
        assert missing.status_code == 404
        assert "没有项目编号为“LC-2099-0009”的项目" in missing.text, missing.text[-2000:]
        assert 'name="code" value="LC-2099-0009"' in missing.text
        assert f'href="/projects/{code}"' in missing.text  # the library is still there
        long = nr.get("/projects", params={"code": "9" * 5000})
        assert long.status_code == 404 and "9" * 41 + "”" not in long.text
        assert "“" + "9" * 40 + "…”" in long.text


def test_the_project_page_says_how_large_the_site_is(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """基本信息 listed county, industry, investment and demands but not the site's area: a
    reviewer comparing it with the 新增建设用地 asked had to open the 初审意见书. It is said
    as the 初审意见书 says it (平方米, 公顷, 亩), with the site's version."""
    _users(city)
    code = _project(city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get(f"/projects/{code}").text
    area = re.search(r'id="bp-site-area">([^<]+)<', page)
    assert area, page[-3000:]
    # the park site is 12.6 ha (data/sample/sites/README.md)
    assert re.fullmatch(r"126,0\d\d\.\d 平方米（12\.6\d{3} 公顷，189\.\d\d 亩）；地块第 1 版",
                        area.group(1)), area.group(1)


def test_the_new_project_form_starts_where_the_api_and_the_cli_do(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """A county's staff member who left 管理层级, 投资主体 and 项目来源 alone saved a
    市级管理 project of 政府或国有企业 by 政府投资 — each list's first choice — where the API
    and ``blueprint projects create`` default to 县级管理, 民营企业, 社会投资."""
    from blueprint.analysis.projects import ProjectInput

    _users(city)
    with _client(city, tmp_path) as yg:
        _login(yg, "nr_yg")
        form = yg.get("/projects/new").text
    for field, zh in [("level", "县级管理"), ("investor_type", "民营企业"),
                      ("origin", "社会投资")]:
        select = form.split(f'<select name="{field}">', 1)[1].split("</select>", 1)[0]
        chosen = re.findall(r'<option value="([^"]+)" selected>([^<]+)<', select)
        assert chosen == [(getattr(ProjectInput, field), zh)], (field, select)


def test_the_timeline_marks_an_amended_answer_and_points_to_the_joint_meeting(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """A department's 有条件同意 amended to 不同意 read as two answers in force (only the
    second said 修改前次意见); a round sent to the joint meeting said so but not where the
    decision is made, while the project stays 会商中."""
    from projects_support import dept_user

    from blueprint.analysis.consultation import answer, close_round, rounds_of, start_round

    _users(city)
    code = _project(city)
    rnd = start_round(code, user=DCF_STAFF, store=city)
    ee = dept_user(rnd.active[0].department)
    answer(rnd.id, user=ee, answer="conditional", text="须落实污染物总量来源。", store=city)
    answer(rnd.id, user=ee, answer="disagree", text="排放总量无来源。", store=city)
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get(f"/projects/{code}").text
        opinions = re.findall(r'<div class="bp-opinion[^"]*">(.*?)</div>', page, re.S)
        assert len(opinions) == 2, opinions
        assert "已被修改" in opinions[0] and "须落实污染物总量来源" in opinions[0]
        assert "已被修改" not in opinions[1]
        assert "bp-meeting-link" not in page  # the round is open, not before the meeting
        close_round(rounds_of(code, store=city)[-1].id, user=DCF_STAFF, outcome="meeting",
                    reason="提请联席会议", store=city)
        referred = nr.get(f"/projects/{code}").text
        link = '待<a href="/meeting" id="bp-meeting-link">联席会议</a>决定'
        assert re.search("已提交联席会议.*?" + re.escape(link), referred, re.S), referred[-3000:]


def test_the_library_links_to_the_new_project_form_for_a_site_file(
        city: Store, tmp_path: Path) -> None:  # noqa: F811
    """The new-project form takes a site file, but the library only said to check a site on
    the map first: staff holding a coordinate file had no way to the form from the library.
    Those who may not save a project are offered neither."""
    from blueprint.layers.users import create_user

    _users(city)
    create_user("ck", "viewer", None, store=city, actor="test", password="correct horse battery")
    with _client(city, tmp_path) as yg:
        _login(yg, "nr_yg")
        library = yg.get("/projects").text
        assert 'href="/projects/new" id="bp-new-project">上传地块文件新建项目</a>' in library
        assert yg.get("/projects/new").status_code == 200
    with _client(city, tmp_path) as viewer:
        _login(viewer, "ck")
        assert "bp-new-project" not in viewer.get("/projects").text


def test_the_round_period_says_what_blank_means(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """会商期限 said 留空按默认 — by which default, the staff member could not tell; it says
    the working days of the routing file (analysis/consultation/routing.toml)."""
    from blueprint.analysis.consultation.routing import load_routing

    _users(city)
    code = _project(city)
    days = load_routing().default_period
    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        page = nr.get(f"/projects/{code}").text
    start = page.split('id="bp-start-round-form"', 1)[1].split("</form>", 1)[0]
    assert f"会商期限（工作日，留空为 {days} 个工作日）" in start, start
    assert "留空按默认" not in page


def test_a_stale_report_reads_the_layer_catalogue_once(city: Store, tmp_path: Path) -> None:  # noqa: F811
    """Whether the report is stale and the stale layers' titles come from one read of the
    layer catalogue, not one each (counted: the catalogue's statements of the page)."""
    import sqlalchemy as sa

    from blueprint.layers.importer import ImportOptions, import_layer

    _users(city)
    code = _project(city)
    import_layer(_revised_redline(tmp_path),
                 ImportOptions(kind="ecological_redline", name="ecological_redline"),
                 store=city)
    catalogue = re.compile(r"FROM layers\s+WHERE layers\.current\b")
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *_: object) -> None:
        if catalogue.search(statement):
            seen.append(statement)

    with _client(city, tmp_path) as nr:
        _login(nr, "nr")
        nr.get(f"/projects/{code}")  # the first view: what the page caches filled
        sa.event.listen(city.engine, "before_cursor_execute", count)
        try:
            page = nr.get(f"/projects/{code}").text
        finally:
            sa.event.remove(city.engine, "before_cursor_execute", count)
    why = re.search(r'id="bp-stale-why">(.*?)</p>', page, re.S)
    assert why and "重新导入的图层：生态保护红线。" in why.group(1), page[-3000:]
    assert len(seen) == 1
