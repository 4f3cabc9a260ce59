/* 一张蓝图 map page: layers loaded per viewport, the capacity overlay and its legend.
 * The page embeds no layer data. Each vector layer's group is filled from
 * /api/layers/{name}/features for the visible area, simplified for the zoom, and refilled
 * when the map moves. The site check lives in check.js. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("bp-config").textContent);
  var map = window[cfg.map];
  var LIMIT = 3000;
  var PIXEL = 0.6; // simplification tolerance, in screen pixels
  var WIDE = 1200; // below this window width the layer control is collapsed (a button)
  var ZONING_COLORS = { "07": "#f5e663", "08": "#e58ad6", "09": "#ef6a5a", "10": "#b5835a",
    "1001": "#b5835a", "11": "#9b7fd1", "1101": "#9b7fd1", "12": "#9ca3af", "13": "#5aa0e6",
    "14": "#7bc96f" };
  var entries = [];
  L.control.scale({ metric: true, imperial: false }).addTo(map); // metres and kilometres only
  map.createPane("bpRaster").style.zIndex = 350; // under the vector layers (400)
  var notice = L.DomUtil.create("div", "bp-map-notice", map.getContainer());
  notice.hidden = true;

  function style(kind, color) {
    return function (feature) {
      var p = feature.properties || {};
      var s = { color: color, weight: 1, opacity: 0.9, fillColor: color, fillOpacity: 0.3 };
      if (kind === "admin_boundary") {
        s = { color: "#4b5563", weight: 2, dashArray: "6 4", fill: false };
      } else if (kind === "urban_boundary") {
        s.weight = 2; s.fillOpacity = 0.05;
      } else if (kind === "zoning") {
        var c = ZONING_COLORS[p._class] || ZONING_COLORS[String(p._class).slice(0, 2)] || color;
        s = { color: c, weight: 0.5, fillColor: c, fillOpacity: 0.45 };
      } else if (kind === "water_source") {
        s.fillOpacity = String(p._class) === "1" ? 0.5 : 0.2;
      } else if (kind === "industrial_park") {
        s.weight = 2; s.dashArray = "5 3"; s.fillOpacity = 0.15;
      } else if (kind === "basic_farmland") {
        s.weight = 0.4; s.fillOpacity = 0.3;
      }
      return s;
    };
  }

  function escapeHtml(v) {
    return String(v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /* Popups show the fields a reviewer reads, under Chinese labels; other attributes of the
   * source file (a viewer's centre point, counters, codes of no meaning here) stay out. */
  var FIELD_ZH = { name: "名称", NAME: "名称", mc: "名称", MC: "名称", type: "类型",
    TYPE: "类型", lx: "类型", county_code: "县区代码", XZQDM: "县区代码", xzqdm: "县区代码",
    XZQMC: "所在县区", xzqmc: "所在县区", landuse: "用地代码", landuse_name: "用地类型",
    DLMC: "地类名称", dlmc: "地类名称", DLBM: "地类编码", TBBH: "图斑编号", tbbh: "图斑编号",
    hxbh: "红线编号", HXBH: "红线编号", level: "保护级别", jb: "保护级别",
    industries: "主导产业", area: "面积", mj: "面积", MJ: "面积", bz: "备注", BZ: "备注",
    remark: "备注" };
  var CLASS_ZH = { water_source: "保护级别", zoning: "用地类型", admin_boundary: "名称",
    basic_farmland: "地类", ecological_redline: "类型" };
  var HAN = /[\u4e00-\u9fff]/;
  function fieldLabel(key) {
    return FIELD_ZH[key] || (HAN.test(key) ? key : null);
  }
  function classText(kind, value) {
    if (kind === "water_source") {
      return { "1": "一级保护区", "2": "二级保护区" }[String(value)] || value;
    }
    return value;
  }
  function popup(entry) {
    return function (layer) {
      var p = layer.feature.properties || {}, kind = entry.cfg.kind, seen = {};
      var rows = Object.keys(p).filter(function (k) {
        var label = fieldLabel(k);
        if (k.charAt(0) === "_" || !label || seen[label] || p[k] === null || p[k] === "" ||
            typeof p[k] === "object") { return false; }
        seen[label] = true;
        return true;
      }).slice(0, 10).map(function (k) {
        return "<tr><th>" + escapeHtml(fieldLabel(k)) + "</th><td>" +
          escapeHtml(k === "level" ? classText(kind, p[k]) : p[k]) + "</td></tr>";
      }).join("");
      var cls = p._class && !seen[CLASS_ZH[kind] || "分类"] ? "<tr><th>" +
        escapeHtml(CLASS_ZH[kind] || "分类") + "</th><td>" +
        escapeHtml(classText(kind, p._class)) + "</td></tr>" : "";
      return "<div class='bp-popup'><div class='bp-pop-title'>" + escapeHtml(entry.cfg.title) +
        "</div><table><tr><th>编号</th><td>" + escapeHtml(layer.feature.id) + "</td></tr>" +
        cls + rows + "</table></div>";
    };
  }
  function countyLabel(feature) {
    var p = feature.properties || {};
    return p._class || p.name || p.NAME || p.xzqmc || p.XZQMC || feature.id;
  }

  function tolerance() {
    var degreesPerPixel = 360 / (256 * Math.pow(2, map.getZoom()));
    return Math.min(1, PIXEL * degreesPerPixel).toPrecision(3);
  }

  function bbox() {
    var b = map.getBounds().pad(0.1);
    return [Math.max(b.getWest(), -180), Math.max(b.getSouth(), -90),
      Math.min(b.getEast(), 180), Math.min(b.getNorth(), 90)]
      .map(function (v) { return v.toFixed(5); }).join(",");
  }

  function showNotice() {
    var msgs = entries.filter(function (e) { return e.problem && map.hasLayer(e.group); })
      .map(function (e) { return e.problem; });
    notice.textContent = msgs.join(" ");
    notice.hidden = msgs.length === 0;
  }

  function load(entry) {
    if (!map.hasLayer(entry.group)) { return; }
    if (entry.ctrl) { entry.ctrl.abort(); }
    var ctrl = entry.ctrl = new AbortController();
    var url = cfg.base + "/api/layers/" + encodeURIComponent(entry.cfg.name) +
      "/features?bbox=" + bbox() + "&limit=" + LIMIT + "&simplify=" + tolerance();
    fetch(url, { signal: ctrl.signal }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body.message_zh || "图层加载失败"); }
        return body;
      });
    }).then(function (fc) {
      entry.geo.clearLayers();
      entry.geo.addData(fc);
      entry.problem = fc.numberMatched > fc.numberReturned
        ? "“" + entry.cfg.title + "”在当前范围内有 " + fc.numberMatched + " 个要素，仅显示 " +
          fc.numberReturned + " 个，请放大地图查看全部。" : "";
      entry.loaded = (entry.loaded || 0) + 1;
      showNotice();
    }).catch(function (err) {
      if (err.name === "AbortError") { return; }
      entry.problem = "“" + entry.cfg.title + "”加载失败：" + err.message;
      showNotice();
    });
  }

  function vectorEntry(entry) {
    var kind = entry.cfg.kind;
    entry.geo = L.geoJSON(null, {
      style: style(kind, entry.cfg.color),
      onEachFeature: function (feature, layer) {
        if (kind === "admin_boundary") {
          layer.bindTooltip(escapeHtml(countyLabel(feature)), {
            permanent: true, direction: "center", className: "bp-county-label", opacity: 1 });
        }
      }
    }).bindPopup(popup(entry)).addTo(entry.group);
  }

  /* ----- the capacity raster: a PNG per band, with its colour scale ----- */
  var legend = L.control({ position: "bottomleft" });
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "bp-legend");
    L.DomEvent.disableClickPropagation(div);
    return div;
  };

  function renderLegend(entry, meta) {
    var div = legend.getContainer();
    var options = entry.cfg.bands.map(function (b) {
      return "<option" + (b === meta.band ? " selected" : "") + ">" + escapeHtml(b) + "</option>";
    }).join("");
    var ramp = "linear-gradient(to right," + meta.colors.join(",") + ")";
    div.innerHTML = "<div class='bp-legend-title'>" + escapeHtml(entry.cfg.title) +
      " <select aria-label='污染物'>" + options + "</select></div>" +
      "<div class='bp-ramp' style='background:" + ramp + "'></div>" +
      "<div class='bp-ramp-labels'><span>" + meta.min + "</span><span>" +
      ((meta.min + meta.max) / 2).toFixed(2) + "</span><span>" + meta.max + "</span></div>" +
      "<div class='bp-legend-note'>剩余容量（吨/年·每格网），红色为余量紧张</div>";
    div.querySelector("select").addEventListener("change", function (ev) {
      showRaster(entry, ev.target.value);
    });
  }

  function showRaster(entry, band) {
    var url = cfg.base + "/api/layers/" + encodeURIComponent(entry.cfg.name) + "/image" +
      (band ? "?band=" + encodeURIComponent(band) : "");
    var ticket = entry.ticket = (entry.ticket || 0) + 1;
    fetch(url).then(function (r) { return r.json(); }).then(function (meta) {
      // switched off (or asked again) while the image was on its way: show nothing
      if (ticket !== entry.ticket || !map.hasLayer(entry.group)) { return; }
      if (!meta.url) { throw new Error(meta.message_zh || "栅格加载失败"); }
      if (entry.overlay) {
        entry.overlay.setUrl(meta.url);
      } else {
        entry.overlay = L.imageOverlay(meta.url, meta.bounds, {
          opacity: 0.65, className: "bp-raster", interactive: false, pane: "bpRaster" })
          .addTo(entry.group);
      }
      if (!legend.getContainer() || !legend.getContainer().parentNode) { legend.addTo(map); }
      renderLegend(entry, meta);
    }).catch(function (err) {
      entry.problem = "“" + entry.cfg.title + "”加载失败：" + err.message;
      showNotice();
    });
  }

  function onToggle(ev, shown) {
    entries.forEach(function (entry) {
      if (entry.group !== ev.layer) { return; }
      if (entry.cfg.raster) {
        if (shown) { showRaster(entry, entry.overlay ? null : entry.cfg.bands[0]); }
        else { entry.ticket = (entry.ticket || 0) + 1; legend.remove(); }
      } else if (shown) {
        load(entry);
      }
      showNotice();
    });
  }

  /* The layer control is the legend: expanded on wide screens. On narrower ones it would
   * cover the popups of the pieces on the map, so it folds into Leaflet's layers button
   * (hover or tap to open). Leaflet reads `collapsed` when the control is added. */
  function fitLayerControl() {
    var control = window[cfg.layerControl];
    var collapsed = window.innerWidth < WIDE;
    if (!control || control.options.collapsed === collapsed) { return; }
    if (!collapsed) { map.off("click", control.collapse, control); }
    control.remove();
    control.options.collapsed = collapsed;
    control.addTo(map);
  }

  fitLayerControl();
  map.on("resize", fitLayerControl);
  if (cfg.bounds) { map.fitBounds(cfg.bounds, { animate: false }); }
  cfg.layers.forEach(function (layerCfg) {
    var entry = { cfg: layerCfg, group: window[layerCfg.group] };
    if (!layerCfg.raster) { vectorEntry(entry); }
    entries.push(entry);
  });
  map.on("moveend", function () { entries.forEach(function (e) { if (!e.cfg.raster) { load(e); } }); });
  map.on("overlayadd", function (ev) { onToggle(ev, true); });
  map.on("overlayremove", function (ev) { onToggle(ev, false); });
  entries.forEach(function (e) {
    if (e.cfg.raster && map.hasLayer(e.group)) { showRaster(e, e.cfg.bands[0]); }
    else if (!e.cfg.raster) { load(e); }
  });
  if (!cfg.layers.length) {
    notice.textContent = "尚未导入任何图层：请运行 blueprint sample load 导入样例城市，" +
      "或用 blueprint layers import 导入本地图层。";
    notice.hidden = false;
  }
  window.blueprint = { map: map, config: cfg, layers: entries, escapeHtml: escapeHtml };
  if (window.BlueprintCheck) { window.BlueprintCheck(window.blueprint); }
})();
