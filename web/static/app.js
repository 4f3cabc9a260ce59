/* 一张蓝图 map page: layers loaded per viewport, the capacity overlay and its legend.
 * The page embeds no layer data. Each vector layer's group is filled from
 * /api/layers/{name}/features for the visible area, simplified for the zoom, and refilled
 * when the map moves; a layer of more than 3,000 features (cfg.layers[].tiled) is drawn
 * from vector tiles instead (/api/layers/{name}/tiles/{z}/{x}/{y}.pbf, Leaflet.VectorGrid),
 * whole at every zoom, and a click asks the features endpoint what is there. How each kind
 * is drawn (style, popup labels) comes from the server's layer-kind registry
 * (layers/kinds.toml) as cfg.kinds. The site check lives in check.js. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("bp-config").textContent);
  var map = window[cfg.map];
  var LIMIT = 3000;
  var PIXEL = 0.6; // simplification tolerance, in screen pixels
  var WIDE = 1200; // below this window width the layer control is collapsed (a button)
  var KINDS = cfg.kinds || {};
  var entries = [];
  L.control.scale({ metric: true, imperial: false }).addTo(map); // metres and kilometres only
  map.createPane("bpRaster").style.zIndex = 350; // under the vector layers (400)
  var notice = L.DomUtil.create("div", "bp-map-notice", map.getContainer());
  notice.hidden = true;

  function kindOf(name) { return KINDS[name] || {}; }

  /* The default path, then the kind's style, then its class's (by code, or its first two
   * characters: "1001" falls back to "10"). */
  function style(kind, color) {
    var k = kindOf(kind), byClass = k.classStyles || {};
    return function (feature) {
      var p = feature.properties || {};
      var s = { color: color, weight: 1, opacity: 0.9, fillColor: color, fillOpacity: 0.3 };
      Object.assign(s, k.style || {},
        byClass[p._class] || byClass[String(p._class).slice(0, 2)] || {});
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
  var FIELD_ZH = cfg.fieldLabels || {};
  var HAN = /[\u4e00-\u9fff]/;
  function fieldLabel(key) {
    return FIELD_ZH[key] || (HAN.test(key) ? key : null);
  }
  function classLabel(kind) { return kindOf(kind).classLabel || "分类"; }
  function classText(kind, value) {
    return (kindOf(kind).classNames || {})[String(value)] || value;
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
      var cls = p._class && !seen[classLabel(kind)] ? "<tr><th>" +
        escapeHtml(classLabel(kind)) + "</th><td>" +
        escapeHtml(classText(kind, p._class)) + "</td></tr>" : "";
      return "<div class='bp-popup'><div class='bp-pop-title'>" + escapeHtml(entry.cfg.title) +
        "</div><table><tr><th>编号</th><td>" + escapeHtml(layer.feature.id) + "</td></tr>" +
        cls + rows + "</table></div>";
    };
  }
  var COUNTY_NAMES = cfg.countyNames || {};
  /* A permanent label (county names): a county's name from the city's one list of counties
   * (cfg.countyNames, the names everywhere else), else the class, else the first of the
   * kind's label fields (a code the list lacks keeps the layer's name). */
  function featureLabel(kind, feature) {
    var p = feature.properties || {};
    if (kindOf(kind).county && COUNTY_NAMES[String(feature.id)]) {
      return COUNTY_NAMES[String(feature.id)];
    }
    var field = (kindOf(kind).labelFields || []).filter(function (f) { return p[f]; })[0];
    return p._class || (field ? p[field] : feature.id);
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

  /* Labels of a kind with a label_min_zoom (small plots) only from that zoom on: at city
   * scale they would cover the county names. A label carries bp-label-min-M, the map's
   * container bp-zoom-below-M while the zoom is below M, and one CSS rule per M hides
   * the one inside the other (whenever Leaflet adds or re-opens a label). */
  var MIN_ZOOMS = Object.keys(KINDS).map(function (k) { return KINDS[k].labelMinZoom || 0; })
    .filter(function (m, i, all) { return m && all.indexOf(m) === i; });
  if (MIN_ZOOMS.length) {
    var css = document.createElement("style");
    css.textContent = MIN_ZOOMS.map(function (m) {
      return ".bp-zoom-below-" + m + " .bp-label-min-" + m + " { display: none; }";
    }).join("\n");
    document.head.appendChild(css);
  }
  function fitLabels() {
    var box = map.getContainer(), zoom = map.getZoom();
    MIN_ZOOMS.forEach(function (m) { box.classList.toggle("bp-zoom-below-" + m, zoom < m); });
  }

  function load(entry) {
    if (!map.hasLayer(entry.group) || entry.cfg.tiled) { return; }
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
        if ((kindOf(kind).labelFields || []).length) {
          var min = kindOf(kind).labelMinZoom;
          layer.bindTooltip(escapeHtml(featureLabel(kind, feature)), {
            permanent: true, direction: "center", opacity: 1,
            className: min ? "bp-map-label bp-label-min-" + min : "bp-map-label bp-county-label" });
        }
      }
    }).bindPopup(popup(entry)).addTo(entry.group);
  }

  /* Leaflet.VectorGrid 1.3 calls L.DomEvent.fakeStop, which Leaflet 1.8 removed. */
  if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function (e) { e._stopped = true; }; }

  /* A large layer: vector tiles, styled like the GeoJSON layers; the cells that stand for
   * parcels smaller than 4 pixels (_merged) are filled without outlines. */
  function tiledEntry(entry) {
    var kind = entry.cfg.kind, paint = style(kind, entry.cfg.color), styles = {};
    styles[entry.cfg.name] = function (props) {
      var s = paint({ properties: props });
      if (s.fill === undefined) { s.fill = true; }
      if (props._merged) { // no outline, and never fainter than the default fill
        s.stroke = false; s.fill = true; s.fillOpacity = Math.max(s.fillOpacity, 0.3);
      }
      return s;
    };
    var url = cfg.base + "/api/layers/" + encodeURIComponent(entry.cfg.name) +
      "/tiles/{z}/{x}/{y}.pbf?v=" + encodeURIComponent(entry.cfg.version);
    entry.tiles = L.vectorGrid.protobuf(url, {
      rendererFactory: L.canvas.tile, interactive: true, maxNativeZoom: 20,
      vectorTileLayerStyles: styles
    }).addTo(entry.group);
    entry.tiles.on("click", function (ev) { identify(entry, ev.latlng); });
  }

  /* What is under a click on a tiled layer: the features endpoint, for a 5-pixel box. */
  function identify(entry, latlng) {
    var p = map.latLngToContainerPoint(latlng);
    var sw = map.containerPointToLatLng(p.add([-2, 2]));
    var ne = map.containerPointToLatLng(p.add([2, -2]));
    var box = [sw.lng, sw.lat, ne.lng, ne.lat].map(function (v) { return v.toFixed(6); }).join(",");
    var url = cfg.base + "/api/layers/" + encodeURIComponent(entry.cfg.name) +
      "/features?limit=1&bbox=" + box;
    fetch(url).then(function (r) { return r.json(); }).then(function (fc) {
      if (!fc.features || !fc.features.length) { return; }
      L.popup().setLatLng(latlng).setContent(popup(entry)({ feature: fc.features[0] })).openOn(map);
    }).catch(function () { /* no popup: the layer itself is drawn from its tiles */ });
  }

  /* ----- the capacity raster: a PNG per band, with its colour scale ----- */
  var legend = L.control({ position: "bottomleft" });
  var rasterAnswers = 0;  // image answers handled (drawn or dropped): data-raster-answers
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "bp-legend");
    L.DomEvent.disableClickPropagation(div);
    return div;
  };

  /* The scale's three numbers with one number of decimals, enough for its largest: 0.22,
   * 2.59, 4.95 (they read 0.224, 2.59, 4.953). */
  function scaleLabels(min, max) {
    var top = Math.max(Math.abs(min), Math.abs(max));
    var digits = top > 0 ? Math.min(6, Math.max(0, 2 - Math.floor(Math.log10(top)))) : 0;
    return [min, (min + max) / 2, max].map(function (v) {
      return Number(v).toLocaleString("zh-CN", { minimumFractionDigits: digits,
        maximumFractionDigits: digits });
    });
  }
  var POLLUTANTS_ZH = cfg.pollutantsZh || {};

  function renderLegend(entry, meta) {
    var div = legend.getContainer();
    var options = entry.cfg.bands.map(function (b) {
      var name = POLLUTANTS_ZH[b] ? POLLUTANTS_ZH[b] + " " + b : b;  // 二氧化硫 SO2
      return "<option value='" + escapeHtml(b) + "'" + (b === meta.band ? " selected" : "") +
        ">" + escapeHtml(name) + "</option>";
    }).join("");
    var ramp = "linear-gradient(to right," + meta.colors.join(",") + ")";
    var labels = scaleLabels(meta.min, meta.max);
    div.innerHTML = "<div class='bp-legend-title'>" + escapeHtml(entry.cfg.title) +
      " <select aria-label='污染物'>" + options + "</select></div>" +
      "<div class='bp-ramp' style='background:" + ramp + "'></div>" +
      "<div class='bp-ramp-labels'><span>" + labels[0] + "</span><span>" + labels[1] +
      "</span><span>" + labels[2] + "</span></div>" +
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
    }).then(function () {
      map.getContainer().setAttribute("data-raster-answers", String(++rasterAnswers));
    });
  }

  /* ----- a layer drawn in its classes' colours (用途分区): which colour is which class ----- */
  function classRows(entry) {
    var k = kindOf(entry.cfg.kind), styles = k.classStyles || {}, names = k.classNames || {};
    return Object.keys(styles).filter(function (code) {  // 1001 has the colour of 10
      return names[code] && (styles[code].fillColor || styles[code].color) &&
        !(code.length > 2 && styles[code.slice(0, 2)]);
    }).sort().map(function (code) {
      var s = styles[code], c = s.fillColor || s.color;
      return "<li><span class='bp-class-swatch' style='background:" + escapeHtml(c) + "'>" +
        "</span>" + escapeHtml(names[code]) + " <small>" + escapeHtml(code) + "</small></li>";
    });
  }
  function classLegend(entry, shown) {
    if (!shown) {
      if (entry.legend) { entry.legend.remove(); entry.legend = null; }
      return;
    }
    var rows = classRows(entry);
    if (!rows.length || entry.legend) { return; }
    entry.legend = L.control({ position: "bottomleft" });
    entry.legend.onAdd = function () {
      var div = L.DomUtil.create("div", "bp-class-legend");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      div.dataset.layer = entry.cfg.name;
      /* folded on a narrow screen, where it would cover much of the map */
      div.innerHTML = "<details" + (window.innerWidth < WIDE ? "" : " open") + "><summary>" + escapeHtml(entry.cfg.title) + "（" +
        escapeHtml(classLabel(entry.cfg.kind)) + "）</summary><ul>" + rows.join("") +
        "</ul></details>";
      return div;
    };
    entry.legend.addTo(map);
  }

  function onToggle(ev, shown) {
    entries.forEach(function (entry) {
      if (entry.group !== ev.layer) { return; }
      if (entry.cfg.raster) {
        if (shown) { showRaster(entry, entry.overlay ? null : entry.cfg.bands[0]); }
        else { entry.ticket = (entry.ticket || 0) + 1; legend.remove(); }
      } else {
        if (shown) { load(entry); }
        classLegend(entry, shown);
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
    if (layerCfg.tiled) { tiledEntry(entry); } else if (!layerCfg.raster) { vectorEntry(entry); }
    entries.push(entry);
  });
  map.on("moveend", function () { entries.forEach(function (e) { if (!e.cfg.raster) { load(e); } }); });
  map.on("zoomend", fitLabels);
  fitLabels();
  map.on("overlayadd", function (ev) { onToggle(ev, true); });
  map.on("overlayremove", function (ev) { onToggle(ev, false); });
  entries.forEach(function (e) {
    if (e.cfg.raster && map.hasLayer(e.group)) { showRaster(e, e.cfg.bands[0]); }
    else if (!e.cfg.raster) { load(e); classLegend(e, map.hasLayer(e.group)); }
  });
  if (!cfg.layers.length) {
    notice.textContent = "尚未导入任何图层：请运行 blueprint sample load 导入样例城市，" +
      "或用 blueprint layers import 导入本地图层。";
    notice.hidden = false;
  }
  /* Square metres as hectares the way layers/units.py's ha_text writes them: thousands
   * separated, two decimals (four below 1 公顷), trailing zeros dropped: "100,000 公顷". */
  function haText(m2) {
    var ha = Number(m2) / 10000, digits = Math.abs(ha) >= 1 ? 2 : 4;
    return Number(ha.toFixed(digits)).toLocaleString("en-US", { maximumFractionDigits: digits }) +
      " 公顷";
  }
  window.blueprint = { map: map, config: cfg, layers: entries, escapeHtml: escapeHtml,
    haText: haText, fields: window.BlueprintFields };
  if (window.BlueprintCheck) { window.blueprint.check = window.BlueprintCheck(window.blueprint); }
  if (window.BlueprintSearch) { window.BlueprintSearch(window.blueprint); }
})();
