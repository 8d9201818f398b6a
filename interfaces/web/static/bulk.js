// Bulk bars on the lists: a "choose all" box in the table's head, the number chosen, and
// the bar's buttons enabled only while something is chosen. Without this file the boxes
// still post with the bar's form (their form= attribute); the server confirms either way.
"use strict";

(function () {
  document.querySelectorAll("form[data-bulk]").forEach(function (form) {
    const boxes = Array.from(document.querySelectorAll('input[type=checkbox][form="' + form.id + '"]'));
    const all = document.querySelector('input[data-select-all="' + form.id + '"]');
    const count = form.querySelector("[data-bulk-count]");
    const buttons = form.querySelectorAll("button[type=submit]");
    const prompt = count ? count.textContent : "";

    function update() {
      const chosen = boxes.filter(function (box) { return box.checked; }).length;
      if (count) count.textContent = chosen ? chosen + " chosen:" : prompt;
      buttons.forEach(function (button) { button.disabled = chosen === 0; });
      if (all) {
        all.checked = chosen > 0 && chosen === boxes.length;
        all.indeterminate = chosen > 0 && chosen < boxes.length;
      }
    }

    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
        update();
      });
    }
    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  });
})();
