/* 一张蓝图: the number fields of the map page's panels (check.js, search.js) and of the
 * pages' forms that ask for it (data-bp-numbers: the project forms). What a person
 * types that the browser cannot read as a number ("1..2", "1e", "--3") reaches a script as
 * an empty value, the same as a field left empty: a check or search ran without it and said
 * nothing. Before a run, problem() finds such a field (validity.badInput) or one breaking
 * its own min / max / step; the run stops and says which field, in Chinese, with the field
 * marked aria-invalid and focused. */
window.BlueprintFields = (function () {
  "use strict";

  function nameOf(input) {
    if (input.dataset.fieldZh) { return input.dataset.fieldZh; }
    var label = input.closest("label");
    return label ? label.textContent.replace(/\s+/g, " ").trim() : input.name || input.id;
  }

  function whyZh(input) {
    var v = input.validity;
    if (v.valid) { return ""; }
    if (v.badInput) { return "填写的内容不是有效的数字（应为如 12.5 的数字，或不填）"; }
    if (v.rangeUnderflow) { return "不能小于 " + input.min; }
    if (v.rangeOverflow) { return "不能大于 " + input.max; }
    if (v.stepMismatch) { return "须为 " + input.step + " 的整数倍"; }
    return input.validationMessage || "填写有误";
  }

  function unmark(input) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }

  /* The mark goes as soon as the field is right again (not at the next run). */
  function watch(input) {
    if (input.dataset.bpWatched) { return; }
    input.dataset.bpWatched = "1";
    input.addEventListener("input", function () {
      if (input.validity.valid) { unmark(input); }
    });
  }

  /* The first of inputs the browser finds invalid, as { input, message } (every invalid
   * one marked aria-invalid, the others unmarked), or null when all are valid. */
  function problem(inputs) {
    var first = null;
    Array.prototype.forEach.call(inputs, function (input) {
      watch(input);
      var why = whyZh(input);
      if (!why) { unmark(input); return; }
      input.setAttribute("aria-invalid", "true");
      if (!first) {
        first = { input: input, message: "“" + nameOf(input) + "”" + why + "，请改正后重试。" };
      }
    });
    return first;
  }

  /* The refusal as the panels' status boxes show an error, an alert tied to the field;
   * the field focused (its folded section opened first). */
  function refuse(found, title, id, esc) {
    found.input.setAttribute("aria-describedby", id);
    for (var d = found.input.closest("details"); d; d = d.parentElement.closest("details")) {
      d.open = true;
    }
    found.input.focus();
    return "<b>" + esc(title) + "</b><p class='bp-error-zh' role='alert' id='" + id + "'>" +
      esc(found.message) + "</p>";
  }

  function escaped(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  /* A page's form with data-bp-numbers (the project forms; its value the refusal's title,
   * 未保存): when it is sent, a number field the browser cannot read or out of its min stops
   * it, said above its submit button in Chinese, the field marked and focused; nothing is
   * sent. The browser's own checks (required, maxlength) still run after, as before. */
  function guard(form) {
    form.noValidate = true;  /* checked here: the browser's bubble does not name the field */
    var id = (form.id || "bp-form") + "-field-error";
    form.addEventListener("submit", function (event) {
      var box = form.querySelector(".bp-field-problem");
      var found = problem(form.querySelectorAll("input[type=number]"));
      if (!found) {
        if (box) { box.innerHTML = ""; }
        if (!form.checkValidity()) { event.preventDefault(); form.reportValidity(); }
        return;
      }
      event.preventDefault();
      if (!box) {
        box = document.createElement("div");
        box.className = "bp-field-problem bp-error";
        var button = form.querySelector("[type=submit]");
        if (button) { button.parentNode.insertBefore(box, button); } else { form.appendChild(box); }
      }
      box.innerHTML = refuse(found, form.dataset.bpNumbers, id, escaped);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-bp-numbers]"), guard);

  return { problem: problem, refuse: refuse };
})();
