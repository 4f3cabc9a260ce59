/* Leaflet and Leaflet.draw in Simplified Chinese. Loaded after leaflet.draw.js, before the map
 * is built: the titles a pointer shows and a screen reader reads (Leaflet's own are English:
 * "Zoom in", "Layers", "Close popup"). */
(function () {
  "use strict";
  var d = L.drawLocal.draw;
  d.toolbar.actions = { title: "取消绘制", text: "取消" };
  d.toolbar.finish = { title: "完成绘制", text: "完成" };
  d.toolbar.undo = { title: "删除最后一个拐点", text: "撤销拐点" };
  d.toolbar.buttons.polygon = "绘制多边形地块";
  d.toolbar.buttons.rectangle = "绘制矩形地块";
  d.handlers.polygon.tooltip = {
    start: "点击地图放置第一个拐点",
    cont: "继续点击放置拐点",
    end: "点击第一个拐点完成地块"
  };
  d.handlers.polyline.error = "<strong>错误：</strong>地块边界不能自相交！";
  d.handlers.rectangle.tooltip = { start: "按住鼠标并拖动绘制矩形" };
  d.handlers.simpleshape.tooltip = { end: "松开鼠标完成绘制" };

  L.Control.Zoom.mergeOptions({ zoomInTitle: "放大", zoomOutTitle: "缩小" });
  var attribution = L.Control.Attribution.prototype.options;
  attribution.prefix = String(attribution.prefix || "")
    .replace("A JavaScript library for interactive maps", "交互式地图 JavaScript 库");
  /* The layers button (a folded layer control) and a popup's close button name themselves
   * in _initLayout, with no option for it. */
  function after(proto, method, then) {
    var original = proto[method];
    proto[method] = function () {
      var out = original.apply(this, arguments);
      then.call(this);
      return out;
    };
  }
  after(L.Control.Layers.prototype, "_initLayout", function () {
    this._layersLink.title = "图层";
    this._layersLink.setAttribute("aria-label", "图层");
  });
  after(L.Popup.prototype, "_initLayout", function () {
    if (this._closeButton) { this._closeButton.setAttribute("aria-label", "关闭"); }
  });
})();
