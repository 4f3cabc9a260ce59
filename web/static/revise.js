/* The revise form: a site drawn on the project map goes into the hidden field "site" as
 * GeoJSON (the last one drawn); an uploaded file takes precedence on the server. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("bp-revise-config").textContent);
  var map = window[cfg.map], drawn = window[cfg.drawnItems];
  var field = document.getElementById("bp-revise-site");
  var state = document.getElementById("bp-revise-site-state");
  if (!map || !drawn || !field) { return; }
  map.on(L.Draw.Event.CREATED, function (ev) {
    drawn.eachLayer(function (l) { if (l !== ev.layer) { drawn.removeLayer(l); } });
    field.value = JSON.stringify(ev.layer.toGeoJSON());
    state.textContent = "已绘制新的项目地块（提交后作为新版本地块保存并重新审查）。";
  });
})();
