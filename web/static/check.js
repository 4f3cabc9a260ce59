/* 一张蓝图: check a site drawn on the map, uploaded as a file or pasted as boundary points;
 * show and offer the report. POST /api/vet (drawn GeoJSON), /api/vet/file (upload) or
 * /api/vet/points (pasted), all with format=geojson:
 * the answer is the site, the overlap pieces and the full report. */
window.BlueprintCheck = function (bp) {
  "use strict";
  var map = bp.map, base = bp.config.base, esc = bp.escapeHtml;
  var drawn = window[bp.config.drawnItems];
  // Chinese labels come from the server (analysis/messages.py): each finding carries its
  // status_zh / rule_zh; the page config has the tables for map pieces and other tags.
  var STATUS_ZH = bp.config.statusZh || {}, RULE_ZH = bp.config.ruleZh || {};
  // What the page knows of each layer kind comes from the registry (layers/kinds.toml).
  var KINDS = bp.config.kinds || {};
  function kindOf(name) { return KINDS[name] || {}; }
  var COLORS = { conflict: "#dc2626", conditional: "#f59e0b", warning: "#eab308" };
  var VERDICT_FILL = { pass: "#16a34a", conditional: "#f59e0b", fail: "#dc2626" };
  var $ = function (id) { return document.getElementById(id); };
  map.createPane("bpResult").style.zIndex = 450;
  var renderer = L.svg({ pane: "bpResult" });
  var result = L.featureGroup().addTo(map);
  var pieces = {};
  var site = null, blobs = [];
  var seq = 0, inflight = null; // only the newest check may show its answer
  var EMISSIONS_DELAY = 600; // ms after the last keystroke in an emissions field
  var emissionsTimer = null, sentEmissions = "";

  function fmt(v, digits) {
    return Number(v).toLocaleString("zh-CN", { minimumFractionDigits: digits,
      maximumFractionDigits: digits });
  }
  function pct(v) { return (Number(v) * 100).toFixed(2) + "%"; }
  function tag(status, label) {
    return "<span class='bp-tag bp-tag-" + esc(status) + "'>" +
      esc(label || STATUS_ZH[status] || status) + "</span>";
  }
  function rule(code) { return esc(RULE_ZH[code] || (code ? bp.config.otherRuleZh : "—")); }

  function setState(state, html) {
    document.body.dataset.bpState = state;
    var box = $("bp-status");
    box.className = "bp-status bp-status-" + state;
    box.innerHTML = html || "";
    box.hidden = !html;
    $("bp-file").disabled = $("bp-industry").disabled = $("bp-crs").disabled =
      $("bp-points-check").disabled = state === "busy";
    $("bp-rerun").disabled = state === "busy" || !site;
  }

  function clearResult() {
    result.clearLayers();
    pieces = {};
    $("bp-result").hidden = true;
    blobs.forEach(URL.revokeObjectURL);
    blobs = [];
  }

  function emissions() {
    var out = {};
    document.querySelectorAll("[data-pollutant]").forEach(function (input) {
      if (input.value !== "") { out[input.dataset.pollutant] = Number(input.value); }
    });
    return out;
  }

  function request(em, signal) {
    var industry = $("bp-industry").value;
    if (site.file) {
      var form = new FormData();
      form.append("file", site.file);
      form.append("industry", industry);
      form.append("format", "geojson");
      var text = Object.keys(em).map(function (k) { return k + "=" + em[k]; }).join(",");
      if (text) { form.append("emissions", text); }
      if ($("bp-crs").value) { form.append("crs", $("bp-crs").value); }
      return fetch(base + "/api/vet/file", { method: "POST", body: form, signal: signal });
    }
    if (site.points) {
      return fetch(base + "/api/vet/points", { method: "POST", signal: signal,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ points: site.points, crs: $("bp-crs").value || undefined,
          industry: industry, emissions: em, format: "geojson" }) });
    }
    return fetch(base + "/api/vet", { method: "POST", signal: signal,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ site: site.feature, industry: industry, emissions: em,
        format: "geojson" }) });
  }

  /* Check the current site. A newer check cancels the one still running, and an answer
   * that arrives for an older check is dropped: the panel always shows the last site. */
  function run() {
    if (!site) { return; }
    var bad = bp.fields.problem(document.querySelectorAll("[data-pollutant]"));
    if (bad) { refuse(bad); return; }
    var ticket = ++seq, em = emissions();
    if (inflight) { inflight.abort(); }
    var ctrl = inflight = new AbortController();
    clearTimeout(emissionsTimer);
    sentEmissions = JSON.stringify(em);
    setState("busy", "<span class='bp-spinner'></span>正在审查“" + esc(site.label) + "”，请稍候…");
    request(em, ctrl.signal).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        return { ok: r.ok, body: body };
      });
    }).then(function (res) {
      if (ticket !== seq) { return; }
      inflight = null;
      if (res.ok) { showResult(res.body); } else { showError(res.body); }
    }).catch(function (err) {
      if (ticket !== seq || (err && err.name === "AbortError")) { return; }
      inflight = null;
      showError({ message_zh: "无法连接服务，请确认服务仍在运行后重试。" });
    });
  }

  /* An emissions field the browser cannot read ("1..2" is "" to a script, as if empty): the
   * check is not run without it, and says which field. The site stays: corrected, the field
   * checks it again. */
  function refuse(bad) {
    ++seq;
    if (inflight) { inflight.abort(); inflight = null; }
    clearTimeout(emissionsTimer);
    sentEmissions = null;  /* any valid emissions then check the site again */
    clearResult();
    setState("error", bp.fields.refuse(bad, "未审查", "bp-check-field-error", esc));
  }

  function emissionsChanged() {
    clearTimeout(emissionsTimer);
    emissionsTimer = setTimeout(function () {
      var unread = document.querySelectorAll("[data-pollutant]:invalid").length > 0;
      if (site && (unread || JSON.stringify(emissions()) !== sentEmissions)) { run(); }
    }, EMISSIONS_DELAY);
  }

  /* A refusal's place: a file's or the pasted text's line ("粘贴的坐标:3") as 第 3 行
   * (not a code such as EPSG:4490). */
  function whereZh(where) {
    var m = /^(.*\S):(\d+)$/.exec(String(where));
    return m && !/^[A-Z]+$/.test(m[1]) ? m[1] + " 第 " + m[2] + " 行" : String(where);
  }

  function showError(body) {
    clearResult();
    // a file whose coordinate system is missing (or contradicts the one chosen) stays picked:
    // choosing in 坐标系 checks it again
    // so do pasted points (their text stays in the box whatever went wrong)
    var given = site && (site.file || site.points);
    var crsProblem = body.error === "unknown_crs" && given;
    if (given && !crsProblem) { site = null; }
    $("bp-file").value = "";
    var where = body.where ? "<p class='bp-where'>位置：" + esc(whereZh(body.where)) + "</p>" : "";
    var en = body.message ? "<details class='bp-en'><summary>技术信息（供技术支持）</summary>" +
      "<p lang='en'>" + esc(body.message) + "</p></details>" : "";
    var hint = crsProblem ? "<p class='bp-hint-crs'>在上方“坐标系”中选择后，将自动再次审查此" +
      (site.points ? "地块" : "文件") + "。</p>" : "";
    var login = body.error === "not_authenticated" ? "<p class='bp-login-hint'><a href='" +
      base + "/login?next=/'>请先登录</a></p>" : "";
    setState("error", "<b>无法完成审查</b><p class='bp-error-zh'>" +
      esc(body.message_zh || "审查失败，请检查输入后重试。") + "</p>" + where + hint + login + en);
  }

  /* The rule a piece breaks: by its class where the kind says so (water-source levels),
   * else its finding's. */
  function pieceRule(p, finding) {
    var rules = kindOf(p.kind).pieceRules || {};
    return rules[String(p["class"])] || rules["*"] || finding.rule || "";
  }

  /* A piece's popup says that piece's own facts: its layer, its feature and class (a
   * water-source piece's level by name), its own area and share, the rule it breaks, and
   * the rule's sentence short. The finding's whole text (every level's, every feature's
   * overlap) is the panel's: in a 一级 piece it read as that piece's, areas of the 二级
   * part included. */
  function piecePart(p, finding) {
    return (finding.by_level || []).filter(function (part) {
      return String(part.level) === String(p["class"]); })[0];
  }
  function ruleSentence(p, finding, part) {
    var text = (part || finding).message || "";
    if (p.role === "outside" || !/^地块与/.test(text)) { return p.role === "outside" ? text : ""; }
    return text.slice(text.indexOf("。") + 1);  /* the overlap facts are the table's */
  }
  function piecePopup(f, report) {
    var p = f.properties, finding = (report.findings || []).filter(function (x) {
      return x.layer === p.layer; })[0] || {};
    var part = piecePart(p, finding);
    var share = report.site.area_m2 ? p.area_m2 / report.site.area_m2 : 0;
    var outside = p.role === "outside";
    var klass = part ? part.title : p["class"];
    var what = outside ? "<tr><th>部位</th><td>地块位于" + esc(p.title) + "以外的部分</td></tr>"
      : "<tr><th>图斑</th><td>" + esc(p.feature_id) + "</td></tr>" +
        (klass ? "<tr><th>" + (part ? "级别" : "类别") + "</th><td>" + esc(klass) +
          "</td></tr>" : "");
    var sentence = ruleSentence(p, finding, part);
    return "<div class='bp-popup'><div class='bp-pop-title'>" + tag(p.status) + " " +
      esc(part ? part.title : p.title) + (outside ? "以外" : "") + "</div><table>" +
      "<tr><th>图层</th><td>" + esc(p.title) + "</td></tr>" +
      what + "<tr><th>管控要求</th><td>" + rule(pieceRule(p, finding)) + "</td></tr>" +
      "<tr><th>本图斑重叠面积</th><td>" + fmt(p.area_m2, 2) + " m² ／ " + fmt(p.area_mu, 2) +
      " 亩</td></tr><tr><th>占地块</th><td>" + pct(share) + "</td></tr></table>" +
      (sentence ? "<p class='bp-pop-rule'>" + esc(sentence) + "</p>" : "") + "</div>";
  }

  /* A piece's popup fits the map between its controls (zoom and drawing tools at the left,
   * the layers button at the right): on a phone the map is 390 × 460 px, and a popup as wide
   * and taller had its top cut off and the controls over its text. */
  function popupFit() {
    var size = map.getSize();
    return { maxWidth: Math.max(160, Math.min(340, size.x - 170)),
      maxHeight: Math.max(120, size.y - 120), autoPanPadding: L.point(58, 10) };
  }

  function drawResult(fc) {
    var report = fc.report, order = { warning: 0, conditional: 1, conflict: 2 };
    fc.features.filter(function (f) {
      return f.properties.role !== "site" && COLORS[f.properties.status];
    }).sort(function (a, b) {
      return order[a.properties.status] - order[b.properties.status];
    }).forEach(function (f) {
      var c = COLORS[f.properties.status];
      var layer = L.geoJSON(f, { pane: "bpResult", renderer: renderer, style: {
        color: c, weight: 1.5, fillColor: c, fillOpacity: 0.7,
        className: "bp-piece bp-piece-" + f.properties.status } });
      layer.bindPopup(piecePopup(f, report), popupFit()).addTo(result);
      (pieces[f.properties.layer] = pieces[f.properties.layer] || []).push(layer);
    });
    var siteLayer = L.geoJSON(fc.features.filter(function (f) {
      return f.properties.role === "site"; }), { pane: "bpResult", renderer: renderer,
      interactive: false, style: { color: "#1e3a8a", weight: 3,
        fillColor: VERDICT_FILL[report.verdict] || "#1e3a8a", fillOpacity: 0.15,
        className: "bp-site-outline" } }).addTo(result);
    map.fitBounds(siteLayer.getBounds(), { padding: [80, 80], maxZoom: 15 });
  }

  /* One finding (or one water-source level): the row and its sentence. Environmental
   * capacity has no overlap area: its row shows a dash, not "0.00 m²". */
  function findingRows(f, part) {
    var noArea = !!kindOf(f.kind).raster;
    var area = noArea ? "—" : fmt(part.overlap_m2, 2) + " m²<br><small>" +
      fmt(part.overlap_mu, 2) + " 亩</small>";
    /* a layer with pieces on the map is located by a click on its rows, or by keyboard
     * with the button its name is (a row cannot take the focus) */
    var title = pieces[f.layer] ? "<button type='button' class='bp-locate' title='在地图上定位" +
      "重叠部分'>" + esc(part.title) + "</button>" : esc(part.title);
    return "<tr class='bp-finding bp-st-" + esc(part.status) + "' data-layer='" +
      esc(f.layer) + "' data-kind='" + esc(f.kind) + "'><td>" + title + "</td><td>" +
      tag(part.status, part.status_zh) + "</td><td class='bp-area'>" + area + "</td><td>" +
      (noArea ? "—" : pct(part.overlap_share)) + "</td></tr><tr class='bp-finding-msg bp-st-" +
      esc(part.status) + "' data-layer='" + esc(f.layer) + "'><td colspan='4'><small>" +
      (part.rule_zh ? esc(part.rule_zh) : rule(part.rule)) + "</small><br>" + esc(part.message) + "</td></tr>";
  }

  function table(id, rows) { $(id).innerHTML = rows.join(""); }

  /* The county by name and code: the boundary piece's name, else (a site found by 找地块,
   * whose answer has no pieces) the city's one list of counties, else the code alone. */
  var COUNTY_NAMES = bp.config.countyNames || {};
  function countyName(fc, report) {
    var admin = fc.features.filter(function (f) {
      return kindOf(f.properties.kind).county; })
      .sort(function (a, b) { return b.properties.area_m2 - a.properties.area_m2; })[0];
    var name = admin && admin.properties["class"] ? admin.properties["class"]
      : COUNTY_NAMES[report.county];
    return name ? esc(name) + "（" + esc(report.county || "") + "）" : esc(report.county || "—");
  }

  var UNITS_ZH = { "t/a": "吨/年" };  /* the report's capacity units, as the forms say them */

  function showReport(fc) {
    var r = fc.report, s = r.site;
    var verdict = $("bp-verdict");
    verdict.className = "bp-verdict bp-verdict-" + r.verdict;
    verdict.textContent = "初审结论：" + r.verdict_zh;
    $("bp-summary").textContent = r.summary_zh;
    table("bp-site", [
      "<tr><th>地块</th><td>" + esc(s.name) + "</td></tr>",
      "<tr><th>来源</th><td>" + (site && site.feature ? esc(site.sourceZh || "地图绘制")
        : esc(s.source)) + "</td></tr>",
      "<tr><th>项目行业</th><td>" + esc(r.industry_title) + "</td></tr>",
      "<tr><th>所在县区</th><td>" + countyName(fc, r) + "</td></tr>",
      "<tr><th>面积</th><td>" + fmt(s.area_m2, 2) + " m² ／ " + fmt(s.area_ha, 4) + " 公顷 ／ " +
        fmt(s.area_mu, 2) + " 亩</td></tr>",
      "<tr><th>地块数</th><td>" + s.parcels + "（面积按 " + esc(s.area_crs) + " 计算）</td></tr>"]);
    table("bp-findings", ["<tr><th>图层</th><th>结论</th><th>重叠面积</th><th>占比</th></tr>"]
      .concat(r.findings.map(function (f) {
        return ((f.by_level && f.by_level.length) ? f.by_level : [f]).map(function (part) {
          return findingRows(f, part);
        }).join("");
      })));
    var bands = [], units = [];
    (r.capacity.layers || []).forEach(function (l) {
      bands = bands.concat(l.bands);
      var unit = UNITS_ZH[l.units] || l.units || "";
      if (unit && units.indexOf(unit) < 0) { units.push(unit); }
    });
    $("bp-capacity-box").hidden = !bands.length;
    var per = units.length ? "（" + esc(units.join("、")) + "）" : "";
    table("bp-capacity", ["<tr><th>污染物</th><th>平均剩余" + per + "</th><th>最小剩余" + per +
      "</th><th>拟排放" + per + "</th><th>是否满足</th></tr>"].concat(bands.map(function (b) {
      /* the column asks 是否满足: 满足 or 不满足, not a finding's 符合 / 有条件通过 */
      var fits = b.fits === null ? "—" : (b.fits ? tag("ok", "满足") : tag("conditional", "不满足"));
      return "<tr><td>" + esc(b.title) + " <small>" + esc(b.band) + "</small></td><td>" +
        (b.mean === null ? "—" : fmt(b.mean, 3)) + "</td><td>" + (b.min === null ? "—" : fmt(b.min, 3)) +
        "</td><td>" + (b.demand === null ? "—" : fmt(b.demand, 3)) + "</td><td>" + fits + "</td></tr>";
    })));
    $("bp-quota-box").hidden = !r.quota;
    if (r.quota) { $("bp-quota").innerHTML = tag(r.quota.status) + " " + esc(r.quota.message || ""); }
    $("bp-warnings-box").hidden = !(r.warnings || []).length;
    $("bp-warnings").innerHTML = (r.warnings || []).map(function (w) {
      return "<li>" + esc(w) + "</li>"; }).join("");
  }

  function offer(id, text, type, filename) {
    var url = URL.createObjectURL(new Blob([text], { type: type }));
    blobs.push(url);
    var a = $(id);
    a.href = url;
    a.download = filename;
  }

  function showResult(fc) {
    clearResult();
    drawn.clearLayers();
    drawResult(fc);
    showReport(fc);
    var name = "选址初审-" + (fc.report.site.name || "地块").replace(/[\\/:*?"<>|\s]+/g, "_");
    offer("bp-dl-json", JSON.stringify(fc.report, null, 2), "application/json", name + ".json");
    offer("bp-dl-geojson", JSON.stringify(fc, null, 2), "application/geo+json", name + ".geojson");
    offerProject(fc);
    offerPdf(fc, name);
    offerSite(fc);
    $("bp-result").hidden = false;
    setState("done", "");
    $("bp-result").scrollIntoView({ block: "start" });
  }

  /* "下载初审意见书（PDF）": the site as the server read it, vetted again and printed by
   * POST /api/vet/report.pdf (same industry and emissions); the answer is saved as a file. */
  function offerPdf(fc, name) {
    var r = fc.report, checked = checkedSite(fc, r.site.name);
    var button = $("bp-dl-pdf");
    button.onclick = function (ev) {
      ev.preventDefault();
      if (!checked || button.dataset.busy) { return; }
      button.dataset.busy = "1";
      button.textContent = "正在生成初审意见书…";
      fetch(base + "/api/vet/report.pdf", { method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ site: checked, industry: r.industry,
          emissions: (r.capacity && r.capacity.emissions) || {} }) }).then(function (res) {
        if (!res.ok) { throw new Error("HTTP " + res.status); }
        return res.blob();
      }).then(function (blob) {
        save(blob, name + ".pdf");
      }).catch(function () {
        $("bp-status").hidden = false;
        $("bp-status").textContent = "初审意见书生成失败，请稍后重试。";
      }).then(function () {
        delete button.dataset.busy;
        button.textContent = "下载初审意见书（PDF）";
      });
    };
  }

  function save(blob, filename) {
    var url = URL.createObjectURL(blob), a = document.createElement("a");
    blobs.push(url);
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  /* The file name the server gives (Content-Disposition filename*), else the fallback. */
  function dispositionName(res, fallback) {
    var m = /filename\*=UTF-8''([^;]+)/i.exec(res.headers.get("Content-Disposition") || "");
    try { return m ? decodeURIComponent(m[1]) : fallback; } catch (e) { return fallback; }
  }

  /* 下载地块: a site (GeoJSON Feature) as 界址点坐标文件, GeoPackage, GeoJSON or zipped
   * Shapefile, written by POST /api/sites/download; used after a check and by 找地块. */
  function downloadSite(feature, name, format, button) {
    if (!feature || (button && button.dataset.busy)) { return Promise.resolve(); }
    var label = button ? button.textContent : "";
    if (button) { button.dataset.busy = "1"; button.textContent = "正在生成…"; }
    return fetch(base + "/api/sites/download?format=" + encodeURIComponent(format), {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ site: feature, name: name || undefined }) }).then(function (res) {
      if (!res.ok) {
        return res.json().catch(function () { return {}; }).then(function (body) {
          throw new Error(body.message_zh || "HTTP " + res.status);
        });
      }
      return res.blob().then(function (blob) { save(blob, dispositionName(res, "地块")); });
    }).catch(function (err) {
      $("bp-status").hidden = false;
      $("bp-status").textContent = "地块文件生成失败：" + err.message;
    }).then(function () {
      if (button) { delete button.dataset.busy; button.textContent = label; }
    });
  }

  /* The site as the server read it, to send again: its parcels as given (the answer's
   * role "parcel" features, for a site of several), else its outline (one parcel). The
   * outline is the parcels dissolved: two touching parcels are one polygon in it. Each
   * keeps what its parcel said of itself (a site of one: its outline carries it). */
  function checkedSite(fc, name) {
    var parcels = fc.features.filter(function (f) { return f.properties.role === "parcel"; });
    if (parcels.length) {
      return { type: "FeatureCollection", features: parcels.map(function (f) {
        return { type: "Feature", properties: givenProps(f, name), geometry: f.geometry }; }) };
    }
    var outline = fc.features.filter(function (f) { return f.properties.role === "site"; })[0];
    return outline ? { type: "Feature", properties: givenProps(outline, name),
      geometry: outline.geometry } : null;
  }

  function givenProps(f, name) {
    var props = name ? { name: name } : {};
    ["parcel_name", "land_use"].forEach(function (k) {  /* what the parcel said of itself */
      if (f.properties[k]) { props[k] = f.properties[k]; }
    });
    return props;
  }

  function offerSite(fc) {
    var checked = checkedSite(fc);
    document.querySelectorAll("#bp-site-downloads [data-site-format]").forEach(function (a) {
      a.onclick = function (ev) {
        ev.preventDefault();
        if (!checked) { return; }
        downloadSite(checked, fc.report.site.name, a.dataset.siteFormat, a);
      };
    });
  }

  /* "保存为项目": the checked site (as the server read it: its parcels as given, with
   * their names and land uses, which the project keeps) and the emissions of the check
   * wait in sessionStorage for the new-project form, which opens with the industry and
   * county of the check. */
  function offerProject(fc) {
    var r = fc.report, checked = checkedSite(fc);
    if (!checked) { return; }
    try {
      sessionStorage.setItem("bp-checked-site", JSON.stringify({
        feature: checked,
        name: r.site.name, area_m2: r.site.area_m2, verdict_zh: r.verdict_zh,
        emissions: (r.capacity && r.capacity.emissions) || {} }));
    } catch (e) { return; }
    var query = new URLSearchParams({ industry: r.industry || "", county: r.county || "",
      name: r.site.name || "" });
    var button = $("bp-save-project"), note = $("bp-save-elsewhere");
    button.href = base + "/projects/new?" + query.toString();
    if (button.disabled || !note) { return; }  /* the user may not save a project at all */
    var why = elsewhereZh(r);
    button.hidden = !!why;
    note.hidden = !why;
    note.textContent = why;
  }

  /* A county's staff save projects of their own county only (the new-project form offers
   * no other, and the server refuses it): a site with no part in their county says so
   * instead of offering 保存为项目. The counties are the administrative finding's. */
  var OWN_COUNTY = ($("bp-search") && $("bp-search").dataset.county) || "";
  function elsewhereZh(r) {
    if (!OWN_COUNTY) { return ""; }
    var codes = [];
    (r.findings || []).forEach(function (f) {
      if (kindOf(f.kind).county) { codes = codes.concat(f.feature_ids || []); }
    });
    if (!codes.length || codes.indexOf(OWN_COUNTY) >= 0) { return ""; }
    var named = codes.map(function (c) { return (COUNTY_NAMES[c] || c) + "（" + c + "）"; });
    return "地块位于" + named.join("、") + "，不在本县区（" + (COUNTY_NAMES[OWN_COUNTY] ||
      OWN_COUNTY) + "）内：县区工作人员只能保存本县区的项目，不能保存为项目。";
  }

  function focusLayer(name) {
    var list = pieces[name];
    if (!list || !list.length) { return; }
    var bounds = L.latLngBounds([]);
    list.forEach(function (l) { bounds.extend(l.getBounds()); });
    /* the popup once the map has moved: opened during the move, it was not panned into
     * view (on a phone its top was cut off) */
    map.once("moveend", function () { list[list.length - 1].openPopup(bounds.getCenter()); });
    map.fitBounds(bounds, { padding: [60, 60], maxZoom: 17 });
  }

  $("bp-findings").addEventListener("click", function (ev) {
    var row = ev.target.closest("tr[data-layer]");
    if (row) { focusLayer(row.dataset.layer); }
  });
  function fileChosen() {
    var file = $("bp-file").files[0];
    if (!file) { return; }
    drawn.clearLayers();
    site = { file: file, label: file.name };
    run();
  }
  $("bp-file").addEventListener("change", fileChosen);
  $("bp-industry").addEventListener("change", run);
  $("bp-crs").addEventListener("change", function () {
    if (site && (site.file || site.points)) { run(); }
  });
  $("bp-points-check").addEventListener("click", function () {
    var text = $("bp-points").value;
    if (!text.trim()) {
      site = null;
      showError({ message_zh: "请先在框中粘贴界址点坐标（每行一个点：X Y）。" });
      return;
    }
    drawn.clearLayers();
    site = { points: text, label: "粘贴的坐标" };
    run();
  });
  document.querySelectorAll("[data-pollutant]").forEach(function (input) {
    input.addEventListener("input", emissionsChanged);
  });
  $("bp-rerun").addEventListener("click", run);
  $("bp-site-name").addEventListener("change", function () {
    if (!site || !site.feature) { return; }
    site.label = site.feature.properties.name = this.value.trim() || "地图上绘制的地块";
    run();
  });
  $("bp-draw").addEventListener("click", function () {
    var button = document.querySelector(".leaflet-draw-draw-polygon");
    if (button) { button.click(); }
  });
  map.on(L.Draw.Event.CREATED, function (ev) {
    drawn.eachLayer(function (l) { if (l !== ev.layer) { drawn.removeLayer(l); } });
    var feature = ev.layer.toGeoJSON();
    var name = ($("bp-site-name") && $("bp-site-name").value.trim()) || "地图上绘制的地块";
    feature.properties = { name: name };
    site = { feature: feature, label: name };
    run();
  });
  /* A site found by 找地块 (search.js): its report is the one the search vetted, shown as a
   * check's; the industry select and 重新审查 then check it again like any site. */
  function candidateFc(feature, report) {
    return { type: "FeatureCollection", report: report, features: [{ type: "Feature",
      geometry: feature.geometry, properties: { role: "site", name: report.site.name,
        area_m2: report.site.area_m2, verdict: report.verdict } }] };
  }
  function showCandidate(feature, report, sourceZh) {
    ++seq;
    if (inflight) { inflight.abort(); inflight = null; }
    site = { feature: { type: "Feature", properties: { name: report.site.name },
      geometry: feature.geometry }, label: report.site.name, sourceZh: sourceZh };
    if (report.industry && $("bp-industry").querySelector("option[value='" + report.industry + "']")) {
      $("bp-industry").value = report.industry;
    }
    showResult(candidateFc(feature, report));
  }
  function saveAsProject(feature, report) {
    if ($("bp-save-project").disabled) { return; }  /* the user may not save a project */
    offerProject(candidateFc(feature, report));
    if ($("bp-save-project").hidden) { return; }  /* a site in another county */
    window.location.href = $("bp-save-project").href;
  }

  setState("idle", "");
  /* the panel shows before the deferred scripts have run (on a slow network they come
   * later): a file chosen by then is checked now */
  fileChosen();
  return { downloadSite: downloadSite, showCandidate: showCandidate,
    saveAsProject: saveAsProject };
};
