/* The revise form: a site drawn on the project map goes into the hidden field "site" as
 * GeoJSON (the last one drawn); an uploaded file takes precedence on the server. A refused
 * form comes back with the site drawn before in that field, and the page already says so
 * (before this script runs): it is drawn again on the map. The form is folded until it is
 * opened or a site is drawn on the map (then it opens to show it). */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("bp-revise-config").textContent);
  var map = window[cfg.map], drawn = window[cfg.drawnItems];
  var field = document.getElementById("bp-revise-site");
  var state = document.getElementById("bp-revise-site-state");
  var box = document.getElementById("bp-revise-box");
  var DRAWN = "已绘制新的项目地块（提交后作为新版本地块保存并重新审查）。";
  var file = document.querySelector("#bp-revise-form input[name=site_file]");
  /* a site kept from a file sent before: its name goes with it, until a site is drawn */
  var source = document.getElementById("bp-revise-site-source");
  var kept = state && field && field.value ? state.textContent : DRAWN;
  if (file && state) {  /* a chosen file is the new site (the server reads it first) */
    var chosen = function () {
      state.textContent = file.files.length ? "新的项目地块：所选文件“" + file.files[0].name +
        "”（提交时读取，优先于绘制的地块；提交后作为新版本地块保存并重新审查）。"
        : field && field.value ? kept : state.dataset.unchanged;
    };
    file.addEventListener("change", chosen);
    /* the form shows before this script (at the page's end) has run: a file chosen by then */
    if (file.files.length) { chosen(); }
  }
  if (!map || !drawn || !field) { return; }
  if (field.value) {
    try {
      L.geoJSON(JSON.parse(field.value)).eachLayer(function (l) { drawn.addLayer(l); });
      if (!map.getBounds().contains(drawn.getBounds())) { map.fitBounds(drawn.getBounds()); }
    } catch (e) {  /* not a site after all: nothing is kept, and the page says so */
      field.value = "";
      if (source) { source.value = ""; }
      drawn.clearLayers();
      state.textContent = state.dataset.unchanged;
    }
  }
  map.on(L.Draw.Event.CREATED, function (ev) {
    drawn.eachLayer(function (l) { if (l !== ev.layer) { drawn.removeLayer(l); } });
    field.value = JSON.stringify(ev.layer.toGeoJSON());
    if (source) { source.value = ""; }
    kept = DRAWN;
    if (!file || !file.files.length) { state.textContent = DRAWN; }  /* a chosen file still wins */
    if (box) { box.open = true; }
  });
})();
