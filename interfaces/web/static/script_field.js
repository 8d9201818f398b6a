// The new-job form's Script field belongs to the job types that edit a script as text
// (data-script-for): it is shown, and sent, only while one of them is chosen, and gets
// that type's example script while the user has not written one. Without this file the
// field is always shown and the server ignores it for other types.
"use strict";

(function () {
  const type = document.querySelector("select#job_type");
  const script = document.getElementById("script");
  if (!type || !script) return;
  const field = script.closest("[data-script-for]");
  const types = field.dataset.scriptFor.split(" ");
  const examples = JSON.parse(script.dataset.examples || "{}");
  let shown = script.value.trim() === "" ? "" : null; // null: the user's own script

  function update() {
    const on = types.indexOf(type.value) >= 0;
    field.hidden = !on;
    script.disabled = !on; // a disabled field is not submitted
    const example = examples[type.value];
    if (on && example !== undefined && (shown !== null || script.value.trim() === "")) {
      if (script.value !== example) {
        script.value = example;
        script.dispatchEvent(new Event("input")); // the code editor follows
      }
      shown = example;
    }
  }
  script.addEventListener("input", function () {
    if (script.value !== shown) shown = script.value.trim() === "" ? "" : null;
  });
  type.addEventListener("change", update);
  update();
})();
