"""The side panel of the map page: check a site, read the verdict, download the report;
find a site (找地块)."""

from __future__ import annotations

from html import escape

from blueprint.analysis.quota.kinds import KINDS

ACCEPT = ".txt,.geojson,.json,.gpkg,.zip"
# The coordinate systems a file without one (CSV, a Shapefile without .prj) is most likely in:
# CGCS2000 lon/lat and the 3-degree Gauss-Krüger zones of the region, with the zone number in
# front of the easting (8 digits, e.g. 39409858) or without it (6 digits).
UPLOAD_CRS = [  # (code, short label, full name)
    ("", "自动识别", "使用文件自带的坐标系"),
    ("EPSG:4490", "EPSG:4490 经纬度", "CGCS2000 地理坐标（经纬度）"),
    ("EPSG:4526", "EPSG:4526 38带 含带号", "CGCS2000 3度带 第38带（中央经线114°），坐标含带号"),
    ("EPSG:4527", "EPSG:4527 39带 含带号", "CGCS2000 3度带 第39带（中央经线117°），坐标含带号"),
    ("EPSG:4547", "EPSG:4547 38带 不含带号", "CGCS2000 3度带 第38带（中央经线114°），坐标不含带号"),
    ("EPSG:4548", "EPSG:4548 39带 不含带号", "CGCS2000 3度带 第39带（中央经线117°），坐标不含带号"),
]


#: What a checked site downloads as (``POST /api/sites/download?format=…``).
SITE_DOWNLOADS = [("coordfile", "界址点坐标文件", "GBK，CGCS2000 3度带高斯-克吕格，含带号与面积"),
                  ("gpkg", "GeoPackage", "CGCS2000 经纬度"),
                  ("geojson", "GeoJSON", "CGCS2000 经纬度"),
                  ("shp", "Shapefile（zip）", "CGCS2000 经纬度，属性 UTF-8")]


def _site_downloads() -> str:
    return "".join(f'<a class="bp-btn" href="#" data-site-format="{code}" title="{escape(hint)}">'
                   f"{escape(title)}</a>" for code, title, hint in SITE_DOWNLOADS)


def _options(industries: list[tuple[str, str]]) -> str:
    return "".join(f'<option value="{escape(code)}">{escape(title)}</option>'
                   for code, title in industries)


def _crs_options() -> str:
    return "".join(f'<option value="{escape(code)}" title="{escape(full)}">{escape(short)}'
                   "</option>" for code, short, full in UPLOAD_CRS)


def _emission_fields(attr: str, pollutants: list[tuple[str, str]]) -> str:
    """A number field per pollutant (吨/年), ``attr`` naming its pollutant for the script;
    ``data-field-zh`` is the field's name in a refusal (web/static/fields.js)."""
    return "".join(
        f'<label class="bp-emission">{escape(title)} <small>{escape(code)}</small>'
        f'<input type="number" min="0" step="any" inputmode="decimal" '
        f'{attr}="{escape(code)}" data-field-zh="{escape(title)}（{escape(code)}）年排放量" '
        'placeholder="吨/年"></label>'
        for code, title in pollutants)


def _emission_inputs(pollutants: list[tuple[str, str]]) -> str:
    return _emission_fields("data-pollutant", pollutants)


def _search_emissions(pollutants: list[tuple[str, str]]) -> str:
    return _emission_fields("data-search-pollutant", pollutants)


def _search_demands() -> str:
    """A number field per quota kind, named as the project form's 要素需求 names it
    (``{title}（{unit}）``, ``web/templates/_project_fields.html``), checked before a search
    by ``web/static/fields.js`` as every number field of the panel."""
    return "".join(
        f'<label class="bp-emission">{escape(kind.title)}（{escape(kind.unit_zh)}）'
        f'<input type="number" min="0" step="any" inputmode="decimal" '
        f'data-search-demand="{escape(code)}"></label>'
        for code, kind in KINDS.items())


DEMANDS_SIGNED_OUT = "登录后可填写要素需求"  # why the card's demands are closed to a visitor


def _search_demands_part(signed_in: bool, base: str) -> str:
    """The card's 要素需求: the fields for a signed-in user; for a visitor the same fields
    disabled, with the reason and a link to sign in (the API refuses demands without a
    user, 401: the card offered them and the visitor's search then failed)."""
    if signed_in:
        return f"""<details class="bp-search-demands">
      <summary>要素需求（可选，须登录：核算县区指标余额）</summary>
      <div class="bp-emissions">{_search_demands()}</div>
    </details>"""
    return f"""<details class="bp-search-demands" data-unavailable="1">
      <summary>要素需求（须登录）</summary>
      <p class="bp-hint" id="bp-search-demands-off">{DEMANDS_SIGNED_OUT}（核算县区指标余额须登录），
        其余条件无须登录即可查找。<a href="{escape(base)}/login?next=%2F">登录</a></p>
      <fieldset class="bp-emissions bp-unavailable" disabled
                aria-describedby="bp-search-demands-off">{_search_demands()}</fieldset>
    </details>"""


def _county_options(counties: list[tuple[str, str]], chosen: str = "") -> str:
    return '<option value="">全部县区</option>' + "".join(
        f'<option value="{escape(code)}"{" selected" if code == chosen else ""}>'
        f"{escape(name)}（{escape(code)}）</option>" for code, name in counties)


def search_html(industries: list[tuple[str, str]], pollutants: list[tuple[str, str]],
                counties: list[tuple[str, str]], county: str = "", *,
                signed_in: bool = False, base: str = "") -> str:
    """The 找地块 card (精准选址, ``POST /api/site-search``), run by ``web/static/search.js``;
    ``county``: the signed-in user's county (a county's staff), chosen at first in 所在县区
    (a search across the city would offer them sites in other counties first);
    ``signed_in``: whether the quota demands (要素需求) may be filled in
    (:func:`_search_demands_part`)."""
    return f"""
  <details class="bp-card bp-search" id="bp-search" data-county="{escape(county)}">
    <summary>找地块（精准选址）</summary>
    <p class="bp-hint">给出项目的行业、用地面积和排放量，系统在管控规则允许的范围内查找
       可用地块：绿色为可用范围，橙色为有条件可用范围，编号为推荐地块。</p>
    <label class="bp-field">项目行业
      <select id="bp-search-industry" name="search_industry">{_options(industries)}</select></label>
    <label class="bp-field">用地面积（公顷）
      <input type="number" id="bp-search-area" name="search_area" min="0.01" max="100000"
             step="any" inputmode="decimal" placeholder="如 12"
             data-field-zh="用地面积（公顷）"></label>
    <label class="bp-field">所在县区
      <select id="bp-search-county" name="search_county">{_county_options(counties, county)}
      </select></label>
    <label class="bp-field">候选来源
      <select id="bp-search-source" name="search_source">
        <option value="both">储备地块与自动布设</option>
        <option value="land_bank">仅储备地块</option>
        <option value="anywhere">仅自动布设</option></select></label>
    <details class="bp-search-more">
      <summary>年排放量（可选）</summary>
      <div class="bp-emissions">{_search_emissions(pollutants)}</div>
    </details>
    {_search_demands_part(signed_in, base)}
    <div class="bp-near">
      <button type="button" id="bp-search-near" class="bp-btn">在地图上点选参考位置</button>
      <span id="bp-search-near-text">按距县城远近排序</span>
      <button type="button" id="bp-search-near-clear" class="bp-btn" hidden>清除</button>
    </div>
    <button type="button" id="bp-search-run" class="bp-btn bp-primary">开始找地块</button>
    <div id="bp-search-status" role="status" aria-live="polite" hidden></div>
    <div id="bp-search-result" hidden>
      <p id="bp-search-summary" class="bp-summary"></p>
      <div id="bp-search-notes-box" hidden><h2>提示</h2><ul id="bp-search-notes"></ul></div>
      <label class="bp-field bp-search-format">下载格式
        <select id="bp-search-format">{"".join(
            f'<option value="{code}">{escape(title)}</option>'
            for code, title, _ in SITE_DOWNLOADS)}</select></label>
      <button type="button" id="bp-search-export" class="bp-btn"
              title="可用范围与全部候选地块（排名、初审结论、县区、面积、理由）"
              >导出全部候选（GeoJSON）</button>
      <ol id="bp-candidates" class="bp-candidates"></ol>
    </div>
  </details>
"""


def _save_project(base: str, refused: str) -> str:
    """The 保存为项目 button; for a signed-in user who may not save a project (``refused``:
    why not) a disabled button and the reason under the downloads."""
    if not refused:
        return (f'<a id="bp-save-project" class="bp-btn bp-primary" href="{base}/projects/new">'
                "保存为项目</a>")
    return ('<button type="button" id="bp-save-project" class="bp-btn" disabled '
            f'data-refused="1" title="{escape(refused)}">保存为项目</button>')


def panel_html(industries: list[tuple[str, str]], pollutants: list[tuple[str, str]],
               base: str = "", counties: list[tuple[str, str]] | None = None,
               save_refused: str = "", header: str = "", county: str = "",
               signed_in: bool = False) -> str:
    """The panel's HTML (filled in by ``web/static/app.js``); ``save_refused``: why the
    signed-in user may not save a checked site as a project ("" when they may, or nobody is
    signed in: /projects/new asks them to sign in); ``header``: the pages' links and who is
    signed in, at its foot (the map has no page header); ``county``: the signed-in user's
    county ("" for city-level users), where 找地块 looks first; ``signed_in``: whether
    someone is (找地块's quota demands are theirs only)."""
    refused = (f'<p class="bp-hint" id="bp-save-refused">{escape(save_refused)}。'
               "新建项目请联系自然资源部门工作人员。</p>") if save_refused else ""
    return f"""
<aside id="bp-panel" aria-label="选址初审">
  <header class="bp-head">
    <h1>一张蓝图 <span>选址初审</span></h1>
    <p>在地图上画出项目地块、上传地块文件或粘贴界址点坐标，即可查看与生态保护红线、永久基本农田、
       饮用水水源保护区、城镇开发边界等管控图层的关系。</p>
  </header>
  <section class="bp-card" id="bp-check">
    <label class="bp-field">项目行业
      <select id="bp-industry" name="industry">{_options(industries)}</select></label>
    <div class="bp-ways">
      <div class="bp-way">
        <b>方式一：在地图上绘制</b>
        <span><i class="bp-ico bp-ico-poly"></i> 多边形：依次点击地块拐点，再点击起点完成；
          <i class="bp-ico bp-ico-rect"></i> 矩形：按住鼠标拖动，松开完成。
          工具在地图左侧。</span>
        <label class="bp-field">地块名称
          <input type="text" id="bp-site-name" name="site_name" maxlength="100"
                 placeholder="地图上绘制的地块"></label>
        <button type="button" id="bp-draw" class="bp-btn">开始绘制地块</button>
      </div>
      <div class="bp-way">
        <b>方式二：上传地块文件</b>
        <span>界址点坐标文件（.txt）、GeoJSON、GeoPackage、Shapefile（打包为 .zip）。</span>
        <label class="bp-btn bp-upload">选择文件…
          <input type="file" id="bp-file" name="file" accept="{ACCEPT}"></label>
        <label class="bp-crs">坐标系 <small>（文件或坐标未含带号时选择）</small>
          <select id="bp-crs" name="crs">{_crs_options()}</select></label>
      </div>
    </div>
    <details class="bp-paste">
      <summary>或粘贴界址点坐标（从表格、文档复制）</summary>
      <label class="bp-paste-hint"
        for="bp-points">每行一个界址点：X（纵坐标）Y（横坐标），可带点号、圈号。</label>
      <small class="bp-paste-hint">以逗号、空格或制表符分隔；未含带号时在上方选择坐标系。
        坐标系选“EPSG:4490 经纬度”时每行为“经度 纬度”（度）。多个地块可连同地块头行
        （以“@”结尾）一起粘贴。</small>
      <textarea id="bp-points" name="points" rows="6" spellcheck="false"
        placeholder="J1,4034895.777,39413513.313&#10;J2,4034983.100,39413924.135&#10;…"></textarea>
      <button type="button" id="bp-points-check" class="bp-btn">审查粘贴的坐标</button>
    </details>
    <details class="bp-more">
      <summary>年排放量（可选，用于核算环境容量）</summary>
      <div class="bp-emissions">{_emission_inputs(pollutants)}</div>
    </details>
    <button type="button" id="bp-rerun" class="bp-btn bp-primary" disabled>重新审查当前地块</button>
  </section>
{search_html(industries, pollutants, counties or [], county, signed_in=signed_in, base=base)}
  <section id="bp-status" role="status" aria-live="polite" hidden></section>
  <section class="bp-card" id="bp-result" hidden>
    <div id="bp-verdict" class="bp-verdict"></div>
    <p id="bp-summary" class="bp-summary"></p>
    <div class="bp-downloads">
      <a id="bp-dl-pdf" class="bp-btn bp-primary" href="#">下载初审意见书（PDF）</a>
      <a id="bp-dl-json" class="bp-btn" href="#" download="report.json">下载报告（JSON）</a>
      <a id="bp-dl-geojson" class="bp-btn" href="#"
         download="report.geojson">下载图形（GeoJSON）</a>
      {_save_project(base, save_refused)}
    </div>
    {refused}
    <p class="bp-hint" id="bp-save-elsewhere" hidden></p>
    <div class="bp-downloads bp-site-downloads" id="bp-site-downloads">
      <span>下载地块</span>{_site_downloads()}
    </div>
    <h2>地块信息</h2>
    <table id="bp-site" class="bp-table"></table>
    <h2>逐层审查结果</h2>
    <p class="bp-hint">点击一行可在地图上定位重叠部分。</p>
    <table id="bp-findings" class="bp-table bp-findings"></table>
    <div id="bp-capacity-box"><h2>环境容量（地块范围内）</h2>
      <table id="bp-capacity" class="bp-table"></table></div>
    <div id="bp-quota-box" hidden><h2>要素指标</h2><p id="bp-quota"></p></div>
    <div id="bp-warnings-box" hidden><h2>提示</h2><ul id="bp-warnings"></ul></div>
  </section>
  <footer class="bp-foot">
    {header}
    <p class="bp-api-links"><a href="{base}/docs" target="_blank">接口文档</a> ·
    <a href="{base}/ogc" target="_blank">OGC API – Features</a> ·
    <a href="{base}/ogc/collections?f=html" target="_blank" id="bp-layer-list">图层目录</a></p>
  </footer>
</aside>
"""
