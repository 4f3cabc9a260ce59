/* The inbox's answer form: a condition area drawn on the small map goes into the hidden
 * field "condition" as GeoJSON (the last one drawn); a chosen file is sent instead; the
 * button 清除条件范围 drops both (only 有条件同意 may carry an area). */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("bp-answer-config").textContent);
  var map = window[cfg.map], drawn = window[cfg.drawnItems];
  var field = document.getElementById("bp-condition");
  var state = document.getElementById("bp-condition-state");
  var file = document.getElementById("bp-condition-file");
  if (file) {
    var chosen = function () {
      if (!file.files.length) { return; }
      state.textContent = "已选择条件范围文件“" + file.files[0].name + "”（提交时读取，优先于绘制的范围）。";
      var conditional = document.querySelector("input[name=answer][value=conditional]");
      if (conditional) { conditional.checked = true; }
    };
    file.addEventListener("change", chosen);
    /* the form shows before this script (at the page's end) has run: a file chosen by then */
    chosen();
  }
  var clear = document.getElementById("bp-clear-condition");
  if (clear) {  /* the way back from an area drawn (or a file chosen) by mistake */
    clear.addEventListener("click", function () {
      field.value = "";
      if (file) { file.value = ""; }
      if (drawn) { drawn.clearLayers(); }
      state.textContent = state.dataset.none;
    });
  }
  if (!map || !drawn) { return; }
  /* the tools draw a condition area here, not a site (draw-zh.js names the site) */
  var tools = { polygon: "绘制多边形条件范围", rectangle: "绘制矩形条件范围" };
  Object.keys(tools).forEach(function (shape) {
    var button = map.getContainer().querySelector(".leaflet-draw-draw-" + shape);
    if (!button) { return; }
    button.title = tools[shape];
    var said = button.querySelector(".sr-only");  /* what a screen reader says */
    if (said) { said.textContent = tools[shape]; }
  });
  L.drawLocal.draw.handlers.polygon.tooltip.end = "点击第一个拐点完成条件范围";
  if (field.value) {  /* a refused answer comes back with the area drawn before (the page says so) */
    try {
      L.geoJSON(JSON.parse(field.value)).eachLayer(function (l) { drawn.addLayer(l); });
    } catch (e) {  /* not an area after all: nothing is kept, and the page says so */
      field.value = "";
      drawn.clearLayers();
      state.textContent = state.dataset.none;
    }
  }
  map.on(L.Draw.Event.CREATED, function (ev) {
    drawn.eachLayer(function (l) { if (l !== ev.layer) { drawn.removeLayer(l); } });
    var feature = ev.layer.toGeoJSON();
    field.value = JSON.stringify(feature.geometry);
    state.textContent = "已绘制条件范围（提交时随意见保存）。";
    var conditional = document.querySelector("input[name=answer][value=conditional]");
    if (conditional) { conditional.checked = true; }
  });
})();
