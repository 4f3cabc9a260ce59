/* The new-project form: the site (and the emissions) come from the map's last check
 * (sessionStorage), or from a site file chosen in the form. A refused form comes back with
 * the site read from its file kept in the field, and says so (data-kept): that stays. */
(function () {
  "use strict";
  var field = document.getElementById("bp-site-json");
  var info = document.getElementById("bp-site-info");
  if (!field) { return; }
  var saved = null;
  try { saved = JSON.parse(sessionStorage.getItem("bp-checked-site") || "null"); } catch (e) { saved = null; }
  if (!field.value && saved && saved.feature) {
    field.value = JSON.stringify(saved.feature);
    /* the emissions typed for the check (t/a), unless the form already has some */
    var emissions = saved.emissions || {};
    document.querySelectorAll("input[data-pollutant]").forEach(function (input) {
      var amount = emissions[input.dataset.pollutant];
      if (input.value === "" && typeof amount === "number") { input.value = String(amount); }
    });
  }
  if (info.dataset.kept) {
    /* the site read from the file sent before: the page says which */
  } else if (saved && saved.area_m2) {
    info.textContent = "地块：" + (saved.name || "地图上的地块") + "，面积 " +
      Number(saved.area_m2).toLocaleString("zh-CN", { maximumFractionDigits: 1 }) +
      " 平方米，初审结论：" + (saved.verdict_zh || "") + "。";
  } else if (!field.value) {
    info.textContent = "没有地块：请先在地图上审查一个地块，再点击“保存为项目”；或在下方上传地块文件。";
  }
  /* a chosen file is the site (the server reads it first): say so, not "no site" */
  var file = document.getElementById("bp-site-file"), before = info.textContent;
  if (file) {
    var chosen = function () {
      info.textContent = file.files.length ? "地块：所选文件“" + file.files[0].name +
        "”（提交时读取，以文件为准）。" : before;
    };
    file.addEventListener("change", chosen);
    /* the form shows before this script (at the page's end) has run: a file chosen by then */
    if (file.files.length) { chosen(); }
  }
})();
