/* The monthly report form: the milestones it offers follow the month typed. The page
 * embeds, in #bp-offers, the milestones a report may say were reached for each month with
 * a report ("months": its own report may be corrected) and for any other month ("other"),
 * as the server computed them (analysis.tracking.model.milestone_offer, the rule the core
 * enforces on submit). A date typed for a milestone stays while the milestone is offered,
 * and comes back when a month offering it again is chosen. */
(function () {
  "use strict";
  var config = document.getElementById("bp-offers");
  var box = document.getElementById("bp-reached");
  var month = document.querySelector("#bp-report-form input[name=month]");
  if (!config || !box || !month) { return; }
  var offers = JSON.parse(config.textContent);
  var typed = {};  /* kind → the date typed, kept across months */
  var shown = null;  /* the month whose milestones the box shows */

  function remember() {
    box.querySelectorAll("input[type=date]").forEach(function (input) {
      typed[input.name.slice("reached_".length)] = input.value;
    });
  }

  function show(kinds) {
    remember();
    box.querySelectorAll("label, .bp-hint").forEach(function (el) { el.remove(); });
    kinds.forEach(function (kind) {
      var label = document.createElement("label");
      var input = document.createElement("input");
      input.type = "date";
      input.name = "reached_" + kind;
      input.value = typed[kind] || "";
      label.append(offers.names[kind] + " ", input);
      box.append(label, " ");
    });
    if (!kinds.length) {
      var hint = document.createElement("span");
      hint.className = "bp-hint";
      hint.textContent = "计划中的节点均已报送完成，本月无需填报节点。";
      box.append(hint);
    }
  }

  function follow() {
    var value = month.value.trim();
    if (!/^[0-9]{4}-(0[1-9]|1[0-2])$/.test(value) || value === shown) { return; }
    shown = value;
    show(offers.months[value] || offers.other);
  }

  shown = month.defaultValue.trim();  /* the server offered the milestones of its month */
  month.addEventListener("input", follow);
  month.addEventListener("change", follow);
  follow();  /* a month typed before this script (at the page's end) has run */
})();
