/* 一张蓝图: 找地块 (精准选址). POST /api/site-search with the project (industry, area, county,
 * emissions, a point to be near); the allowed region is shaded (green: pass, amber:
 * conditional), the candidates numbered on the map and listed; a candidate opens its
 * report in the check panel (check.js), downloads as a file (POST /api/sites/download) and
 * becomes a project (the 保存为项目 flow after a check). Quota demands (要素需求) are sent
 * as the API's demands by a signed-in user (a visitor's fields are disabled, and the card
 * says 登录后可填写要素需求; a session that ended meanwhile gets the API's refusal); 导出全部候选
 * asks the API for the same search as one FeatureCollection (format geojson: the CLI's
 * --format geojson), the allowed region and every candidate. */
window.BlueprintSearch = function (bp) {
  "use strict";
  var map = bp.map, base = bp.config.base, esc = bp.escapeHtml, check = bp.check || {};
  var $ = function (id) { return document.getElementById(id); };
  var mayNotSave = Boolean($("bp-save-project") && $("bp-save-project").disabled);
  if (!$("bp-search")) { return; }
  var REGION = { pass: "#16a34a", conditional: "#f59e0b" };
  var VERDICT_ZH = { pass: "通过", conditional: "有条件通过", fail: "不通过" };
  var SOURCE_ZH = { land_bank: "储备地块", anywhere: "自动布设" };
  map.createPane("bpSearch").style.zIndex = 430; // over the layers, under a check's result
  var renderer = L.svg({ pane: "bpSearch" });
  var layer = L.featureGroup().addTo(map);
  var near = null, nearMarker = null, picking = false, ctrl = null, shown = [], asked = null;

  function status(kind, html) {
    var box = $("bp-search-status");
    box.className = "bp-status bp-status-" + kind;
    box.innerHTML = html || "";
    box.hidden = !html;
  }

  function emissions() {
    var out = {};
    document.querySelectorAll("[data-search-pollutant]").forEach(function (input) {
      if (input.value !== "") { out[input.dataset.searchPollutant] = Number(input.value); }
    });
    return out;
  }

  /* 要素需求: kind code → amount, blank fields left out (the API checks the amounts);
   * a visitor's are disabled (panel.py: signing in opens them), never sent */
  function demands() {
    var out = {};
    document.querySelectorAll("[data-search-demand]:enabled").forEach(function (input) {
      if (input.value !== "") { out[input.dataset.searchDemand] = Number(input.value); }
    });
    return out;
  }

  function body() {
    var ha = Number($("bp-search-area").value);
    var out = { industry: $("bp-search-industry").value, area_m2: ha * 10000,
      emissions: emissions(), source: $("bp-search-source").value };
    if (Object.keys(demands()).length) { out.demands = demands(); }
    if ($("bp-search-county").value) { out.county = $("bp-search-county").value; }
    if (near) { out.near = [near.lng, near.lat]; }
    return out;
  }

  function run() {
    /* a number typed that the browser cannot read ("1..2") is "" here, as if not given */
    var bad = bp.fields.problem(document.querySelectorAll("#bp-search input[type=number]"));
    if (bad) {
      forget();
      status("error", bp.fields.refuse(bad, "未查找", "bp-search-field-error", esc));
      return;
    }
    var ha = Number($("bp-search-area").value);
    if (!(ha > 0)) {
      status("error", "请填写项目用地面积（公顷）。");
      $("bp-search-area").focus();
      return;
    }
    if (ctrl) { ctrl.abort(); }
    var mine = ctrl = new AbortController(), sent = body();
    status("busy", "<span class='bp-spinner'></span>正在查找可用地块，请稍候…");
    $("bp-search-run").disabled = true;
    fetch(base + "/api/site-search", { method: "POST", signal: mine.signal,
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(sent) })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (b) {
          return { ok: r.ok, body: b };
        });
      }).then(function (res) {
        if (mine !== ctrl) { return; }
        if (!res.ok) {
          forget();
          status("error", "<b>无法完成查找</b><p class='bp-error-zh'>" +
            esc(res.body.message_zh || "查找失败，请检查输入后重试。") + "</p>");
          return;
        }
        asked = sent;
        show(res.body);
      }).catch(function (err) {
        if (err && err.name === "AbortError") { return; }
        forget();
        status("error", "无法连接服务，请确认服务仍在运行后重试。");
      }).then(function () {
        if (mine === ctrl) { ctrl = null; $("bp-search-run").disabled = false; }
      });
  }

  /* A refused or failed search: the candidates of the one before are not its answer, and
   * stay neither listed nor on the map. */
  function forget() {
    layer.clearLayers();
    shown = [];
    asked = null;
    $("bp-candidates").innerHTML = "";
    notes([]);
    $("bp-search-result").hidden = true;
  }

  /* What the search could not look at (layers the store lacks), as the CLI's 提示 lines. */
  function notes(list) {
    $("bp-search-notes-box").hidden = !list.length;
    $("bp-search-notes").innerHTML = list.map(function (n) {
      return "<li>" + esc(n) + "</li>"; }).join("");
  }

  function show(result) {
    layer.clearLayers();
    shown = result.candidates || [];
    L.geoJSON(result.allowed, { pane: "bpSearch", renderer: renderer, interactive: false,
      style: function (f) {
        var c = REGION[f.properties.status] || REGION.pass;
        return { color: c, weight: 1, fillColor: c, fillOpacity: 0.25,
          className: "bp-allowed bp-allowed-" + f.properties.status };
      } }).addTo(layer);
    var outlines = shown.map(function (c, i) {
      var outline = L.geoJSON({ type: "Feature", geometry: c.geometry, properties: {} }, {
        pane: "bpSearch", renderer: renderer, style: { color: "#1e3a8a", weight: 2,
          fillColor: "#1e3a8a", fillOpacity: 0.2, className: "bp-candidate" } });
      /* the number in the search's pane, under a check's result (a site checked after the
       * search was hidden under the numbers of the candidates around it) */
      outline.bindTooltip(String(c.rank), { permanent: true, direction: "center",
        className: "bp-candidate-label", pane: "bpSearch" });
      outline.on("click", function () { pick(i); });
      outline.addTo(layer);
      /* where numbers overlap (a city-wide view) the better one is on top: 1, not 10; all
       * over the outlines (Leaflet puts a pane's SVG at z-index 200) */
      var label = outline.getTooltip() && outline.getTooltip().getElement();
      if (label) { label.style.zIndex = String(200 + shown.length - i); }
      return outline;
    });
    /* and so is its outline, which a click on the number reaches */
    outlines.reverse().forEach(function (outline) { outline.bringToFront(); });
    $("bp-search-result").hidden = false;
    $("bp-search-export").hidden = !shown.length;
    notes(result.notes_zh || []);
    $("bp-search-summary").textContent = result.blocked_zh ? result.blocked_zh :
      "找到 " + shown.length + " 个推荐地块，按通过优先、得分从高到低排列；点击查看初审报告。";
    $("bp-candidates").innerHTML = shown.map(function (c, i) {
      var reasons = (c.reasons_zh || []).map(function (r) { return "<li>" + esc(r) + "</li>"; });
      return "<li class='bp-candidate-item' data-index='" + i + "'>" +
        "<div class='bp-candidate-head'><b>" + esc(c.rank) + "</b> " +
        "<span class='bp-tag bp-tag-" + esc(c.verdict) + "'>" + esc(VERDICT_ZH[c.verdict] || c.verdict) +
        "</span> " + esc(SOURCE_ZH[c.source] || c.source) + " " + esc(c.id) + "，" +
        countyText(c) +
        bp.haText(c.area_m2) + "，得分 " + Number(c.score).toFixed(1) +
        "</div><ul class='bp-reasons'>" + reasons.join("") + "</ul>" +
        "<div class='bp-candidate-actions'>" +
        "<button type='button' class='bp-btn' data-act='report'>查看报告</button>" +
        "<button type='button' class='bp-btn' data-act='download'>下载</button>" +
        (mayNotSave ? "" :  /* a department or read-only user (the panel says why) */
          elsewhere(c) ? "<small class='bp-other-county'>" + elsewhere(c) + "</small>" :
          "<button type='button' class='bp-btn bp-primary' data-act='project'>保存为项目</button>") +
        "</div></li>";
    }).join("");
    status("done", "");
    $("bp-search-status").hidden = true;
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [40, 40], maxZoom: 15 }); }
  }

  /* Which county a candidate is in, by name (the city's one list), for a city-wide search. */
  var COUNTY_NAMES = bp.config.countyNames || {};
  function countyText(c) {
    var code = c.report && c.report.county;
    return code ? esc(COUNTY_NAMES[code] || code) + "，" : "";
  }

  /* A county's staff save projects of their county only (the new-project form offers no
   * other): a candidate in another county (全部县区 chosen) says so instead of offering
   * 保存为项目, which filed it under their county with its site elsewhere. A candidate
   * partly in their county is theirs, as the check panel and the server read it (its
   * report's county, where most of it lies, said it was not: on a county line the list
   * refused what its report then offered). */
  var OWN_COUNTY = $("bp-search").dataset.county || "";
  var KINDS = bp.config.kinds || {};
  function countiesOf(c) {
    var codes = [];
    ((c.report && c.report.findings) || []).forEach(function (f) {
      if ((KINDS[f.kind] || {}).county) { codes = codes.concat(f.feature_ids || []); }
    });
    return codes;
  }
  function elsewhere(c) {
    var code = c.report && c.report.county;
    if (!OWN_COUNTY || !code || code === OWN_COUNTY ||
        countiesOf(c).indexOf(OWN_COUNTY) >= 0) { return ""; }
    return "位于" + esc(COUNTY_NAMES[code] || code) + "，不在您所属的" +
      esc(COUNTY_NAMES[OWN_COUNTY] || OWN_COUNTY) + "，不能保存为项目";
  }

  function feature(c) {
    return { type: "Feature", properties: { name: c.report.site.name }, geometry: c.geometry };
  }

  function pick(i) {
    var c = shown[i];
    if (!c || !check.showCandidate) { return; }
    document.querySelectorAll(".bp-candidate-item").forEach(function (li) {
      li.classList.toggle("bp-selected", li.dataset.index === String(i));
    });
    check.showCandidate(feature(c), c.report, "找地块推荐地块 " + c.rank + "（" +
      (SOURCE_ZH[c.source] || c.source) + " " + c.id + "）");
  }

  $("bp-candidates").addEventListener("click", function (ev) {
    var item = ev.target.closest(".bp-candidate-item");
    if (!item) { return; }
    var i = Number(item.dataset.index), c = shown[i], act = ev.target.dataset.act;
    if (act === "download" && check.downloadSite) {
      check.downloadSite(feature(c), c.report.site.name, $("bp-search-format").value, ev.target);
    } else if (act === "project" && check.saveAsProject) {
      check.saveAsProject(feature(c), c.report);
    } else {
      pick(i);
    }
  });

  /* 导出全部候选: the search shown, asked again as GeoJSON, saved as one file. */
  function exportAll() {
    if (!asked) { return; }
    var button = $("bp-search-export"), text = button.textContent;
    button.disabled = true;
    button.textContent = "正在导出…";
    fetch(base + "/api/site-search", { method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({}, asked, { format: "geojson" })) })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (b) {
          if (!r.ok) {
            status("error", "<b>未能导出</b><p class='bp-error-zh'>" +
              esc(b.message_zh || "导出失败，请重试。") + "</p>");
            return;
          }
          var county = COUNTY_NAMES[asked.county] || asked.county || "全部县区";
          var a = document.createElement("a");
          a.href = URL.createObjectURL(new Blob([JSON.stringify(b, null, 2)],
            { type: "application/geo+json" }));
          a.download = "找地块候选地块-" + county + ".geojson";
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () { URL.revokeObjectURL(a.href); }, 0);
        });
      }).catch(function () {
        status("error", "无法连接服务，请确认服务仍在运行后重试。");
      }).then(function () {
        button.disabled = false;
        button.textContent = text;
      });
  }
  $("bp-search-export").addEventListener("click", exportAll);

  /* 参考位置: the next click on the map; ranking then prefers candidates near it. */
  /* The button starts picking and, pressed again while picking (or Esc), calls it off: a
   * later click on the map (to read a feature) set a point the user no longer wanted. */
  function nearText() {
    return near ? "参考位置：" + near.lng.toFixed(5) + "，" + near.lat.toFixed(5)
      : "按距县城远近排序";
  }
  function setPicking(on) {
    picking = on;
    map.getContainer().classList.toggle("bp-picking", on);
    $("bp-search-near").textContent = on ? "取消点选" : "在地图上点选参考位置";
    $("bp-search-near").setAttribute("aria-pressed", on ? "true" : "false");
    $("bp-search-near-text").textContent = on ? "请在地图上点击参考位置（Esc 取消）…" : nearText();
  }
  $("bp-search-near").addEventListener("click", function () { setPicking(!picking); });
  document.addEventListener("keydown", function (ev) {
    if (picking && ev.key === "Escape") { setPicking(false); }
  });
  $("bp-search-near-clear").addEventListener("click", function () {
    near = null;
    if (nearMarker) { nearMarker.remove(); nearMarker = null; }
    $("bp-search-near-clear").hidden = true;
    setPicking(false);
  });
  /* "preclick": Leaflet fires it on the map for every click, also one on a feature (the
   * county boundaries cover the whole city), whose own click opens its popup and stops
   * there, before the map's "click". The popup of the feature under the picked point is
   * not wanted now: closed once this click is handled. */
  map.on("preclick", function (ev) {
    if (!picking) { return; }
    var opened = null, seen = function (e) { opened = e.popup; };
    map.on("popupopen", seen);
    setTimeout(function () {
      map.off("popupopen", seen);
      if (opened) { map.closePopup(opened); }
    }, 0);
    near = ev.latlng;
    setPicking(false);
    if (nearMarker) { nearMarker.remove(); }
    nearMarker = L.circleMarker(near, { pane: "bpSearch", radius: 7, color: "#7c3aed",
      weight: 2, fillColor: "#7c3aed", fillOpacity: 0.6, className: "bp-near-point" }).addTo(map);
    $("bp-search-near-clear").hidden = false;
  });
  $("bp-search-industry").value = $("bp-industry").value;
  $("bp-search-run").addEventListener("click", run);
};
