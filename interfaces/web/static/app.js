// JobLedger pages: small progressive enhancements. Every page works without this file;
// it adds live checks (JSON editors, schedule preview) and confirmation prompts.
"use strict";

(function () {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  document.documentElement.classList.add("js");

  // JSON editors: must hold a JSON object; the form will not submit until they do.
  // One message per field: while the text is the one the server refused, the server's
  // error (which may be about more than syntax: a program its job type refuses) is the
  // message and the live hint says nothing; once the text changes, that error no longer
  // describes it and the live hint takes over.

  // Where JSON.parse stopped, as "line L, column C", and why, in our words.
  function jsonSyntaxError(text, error) {
    const raw = String(error.message || "");
    const at = /at position (\d+)/.exec(raw);
    let where = "";
    if (at || /end of JSON input/.test(raw)) {
      const before = text.slice(0, at ? Number(at[1]) : text.length).split("\n");
      where = " at line " + before.length + ", column " + (before[before.length - 1].length + 1);
    }
    const reason = raw
      .replace(/^JSON\.parse: /, "")
      .replace(/ \(line \d+ column \d+\)$/, "")
      .replace(/ ?(in JSON )?at position \d+$/, "")
      .replace(/, ".*" is not valid JSON$/s, "")
      .replace(/ in JSON$/, "");
    const words = reason ? reason.charAt(0).toLowerCase() + reason.slice(1) : "unexpected text";
    return "not valid JSON" + where + ": " + words;
  }

  // The server's error for this editor, if the page came back with one.
  function serverError(area) {
    const ids = (area.getAttribute("aria-describedby") || "").split(/\s+/);
    for (const id of ids) {
      const node = id && document.getElementById(id);
      if (node && node.classList.contains("field-error")) return node;
    }
    return null;
  }

  function checkJson(area) {
    const status = area.parentElement.querySelector(".json-status");
    const server = area.jlServerError;
    let message = "";
    const text = area.value;
    if (text.trim() !== "") {
      try {
        const value = JSON.parse(text);
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          message = "must be a JSON object, like {\"key\": \"value\"}";
        }
      } catch (error) {
        message = jsonSyntaxError(text, error);
      }
    }
    if (message) message = area.name + ": " + message;
    area.setCustomValidity(message);
    const serverSpeaks = server && text === area.jlJudged;
    if (server) server.hidden = !serverSpeaks;
    area.setAttribute("aria-invalid", message || serverSpeaks ? "true" : "false");
    if (status) {
      status.textContent = serverSpeaks ? "" : message || (text.trim() ? "Well-formed JSON object." : "");
      status.classList.toggle("invalid", Boolean(message) && !serverSpeaks);
      area.setAttribute("aria-describedby", serverSpeaks ? server.id : status.id);
    }
    return !message;
  }

  document.querySelectorAll("textarea[data-json-object]").forEach(function (area) {
    if (area.disabled) return;
    const status = area.parentElement.querySelector(".json-status");
    if (status && !status.id) status.id = area.id + "-status";
    area.jlServerError = serverError(area);
    area.jlJudged = area.value;
    area.addEventListener("input", function () { checkJson(area); });
    checkJson(area);
  });

  document.querySelectorAll("form[data-validate-json]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      let ok = true;
      form.querySelectorAll("textarea[data-json-object]").forEach(function (area) {
        if (!checkJson(area)) ok = false;
      });
      if (!ok) {
        event.preventDefault();
        const bad = form.querySelector("textarea[aria-invalid=true]");
        if (bad) bad.focus();
      }
    });
  });

  // Inputs with a pattern (secret names) say the rule in words when it is broken, not the
  // browser's "match the requested format".
  document.querySelectorAll("input[data-pattern-message]").forEach(function (input) {
    function check() {
      input.setCustomValidity(input.validity.patternMismatch ? input.dataset.patternMessage : "");
    }
    input.addEventListener("input", check);
    check();
  });

  // Confirmation before destructive actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // Schedule editor: describe the schedule and list its next fire times as you type.
  document.querySelectorAll("[data-schedule-editor]").forEach(function (editor) {
    const cron = editor.querySelector("#cron");
    const zone = editor.querySelector("#timezone");
    const out = editor.querySelector("#schedule-preview");
    if (!cron || !zone || !out || cron.disabled) return;
    let timer = null;
    let latest = 0;

    function element(tag, className, text) {
      const node = document.createElement(tag);
      if (className) node.className = className;
      if (text !== undefined) node.textContent = text;
      return node;
    }

    function show(nodes) {
      out.replaceChildren.apply(out, nodes);
    }

    // Each fire time as the server writes one (UTC); times.js shows it in the job's zone.
    function fireTime(at, timezone) {
      const date = new Date(at);
      const utc = isNaN(date) ? String(at)
        : date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
      const time = element("time", "", utc);
      time.setAttribute("datetime", at);
      time.title = utc;
      time.dataset.zone = timezone;
      return time;
    }

    async function refresh() {
      const text = cron.value.trim();
      if (text === "") {
        show([element("p", "muted", "No schedule: the job runs only when someone runs it.")]);
        return;
      }
      const ticket = ++latest;
      let response;
      try {
        response = await fetch("/api/schedules/preview", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify({ cron: text, timezone: zone.value.trim() || "UTC", count: 10 }),
        });
      } catch (error) {
        if (ticket === latest) show([element("p", "muted", "Preview unavailable (offline?).")]);
        return;
      }
      const body = await response.json().catch(function () { return {}; });
      if (ticket !== latest) return; // a newer keystroke's answer wins
      if (!response.ok) {
        const messages = body.errors && body.errors.length
          ? body.errors.map(function (e) { return e.field + ": " + e.message; })
          : [body.detail || "This schedule is not valid."];
        show(messages.map(function (message) { return element("p", "field-error", message); }));
        return;
      }
      const list = element("ol", "fire-times");
      (body.fire_times || []).forEach(function (fire) {
        const item = element("li", fire.offset_changed ? "dst" : "");
        item.appendChild(fireTime(fire.at, body.timezone));
        if (fire.offset_changed) {
          item.appendChild(document.createTextNode(" "));
          item.appendChild(element("span", "dst-mark", "clocks changed (daylight saving)"));
        }
        list.appendChild(item);
      });
      const describe = element("p", "describe");
      describe.appendChild(element("strong", "", "Runs " + body.description + " (" + body.timezone + ")"));
      show([describe, element("p", "muted", "Next " + list.children.length + " fire times:"), list]);
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    }
    cron.addEventListener("input", later);
    zone.addEventListener("input", later);
  });
})();

// New job: choosing a job type puts its example program in an untouched program editor.
(function () {
  const type = document.querySelector("select#job_type");
  const program = document.getElementById("program");
  if (!type || !program) return;
  function example() {
    const option = type.options[type.selectedIndex];
    return option ? option.dataset.example || "" : "";
  }
  let shown = example();
  const description = document.getElementById("job-type-description");
  type.addEventListener("change", function () {
    const option = type.options[type.selectedIndex];
    if (description && option) description.textContent = option.dataset.description || "";
    if (program.value.trim() === "" || program.value === shown) {
      program.value = example();
      program.dispatchEvent(new Event("input"));
    }
    shown = example();
  });
})();
