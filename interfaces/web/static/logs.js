// The run page's log viewer: filter by level without reloading, and follow a running
// job live through the API's Server-Sent Events stream (the session cookie signs it in).
"use strict";

(function () {
  const table = document.getElementById("log");
  if (!table) return;
  const body = table.tBodies[0];
  const select = document.getElementById("min_level");
  const empty = document.getElementById("log-empty");
  const live = document.getElementById("log-live");
  const download = document.getElementById("log-download");
  const runId = table.dataset.runId;
  const LEVELS = { Verbose: 10, Debug: 20, Info: 30, Warning: 40, Error: 50 };
  const serverMin = table.dataset.minLevel || "";
  let lastSeq = parseInt(table.dataset.lastSeq || "0", 10);

  function threshold() {
    return LEVELS[select.value] || 0;
  }

  function applyFilter() {
    const min = threshold();
    let shown = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      const visible = (LEVELS[row.dataset.level] || 0) >= min;
      row.hidden = !visible;
      if (visible) shown += 1;
    });
    empty.hidden = shown > 0;
    const query = select.value ? "?min_level=" + encodeURIComponent(select.value) : "";
    download.href = "/runs/" + runId + "/log.txt" + query;
    const url = new URL(window.location.href);
    if (select.value) url.searchParams.set("min_level", select.value);
    else url.searchParams.delete("min_level");
    window.history.replaceState(null, "", url);
  }

  // Rows below a level the server already filtered out are not on the page: lowering the
  // level past it needs the page again.
  select.addEventListener("change", function () {
    if ((LEVELS[select.value] || 0) < (LEVELS[serverMin] || 0)) {
      select.form.submit();
      return;
    }
    applyFilter();
  });

  // A time as the server writes one (UTC, as the `when` filter does); times.js then shows
  // it in the reader's zone like every other time on the page.
  function timeElement(at) {
    const date = new Date(at);
    const utc = isNaN(date) ? String(at)
      : date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
    const time = document.createElement("time");
    time.setAttribute("datetime", at);
    time.title = utc;
    time.textContent = utc;
    return time;
  }

  function addEntry(entry) {
    if (typeof entry.seq !== "number" || entry.seq <= lastSeq) return;
    if ((LEVELS[entry.level] || 0) < (LEVELS[serverMin] || 0)) {
      lastSeq = entry.seq;
      return;
    }
    lastSeq = entry.seq;
    const row = body.insertRow();
    row.className = "level-" + String(entry.level).toLowerCase();
    row.dataset.level = entry.level;
    const time = timeElement(entry.at);
    [String(entry.seq), time, String(entry.level), String(entry.message)].forEach(function (value, i) {
      const cell = row.insertCell();
      if (i === 3) cell.className = "message";
      if (typeof value === "string") cell.textContent = value; else cell.appendChild(value);
    });
    const visible = (LEVELS[entry.level] || 0) >= threshold();
    row.hidden = !visible;
    if (visible) empty.hidden = true;
  }

  function handle(data) {
    let value;
    try { value = JSON.parse(data); } catch (error) { return; }
    if (Array.isArray(value)) value.forEach(addEntry);
    else if (value && Array.isArray(value.items)) value.items.forEach(addEntry);
    else if (value) addEntry(value);
  }

  async function refreshRun() {
    const response = await fetch("/api/runs/" + runId, { credentials: "same-origin" });
    if (!response.ok) return null;
    const run = await response.json();
    const status = document.getElementById("run-status");
    const badge = document.createElement("span");
    badge.className = "status status-" + run.status;
    badge.textContent = String(run.status).replace("_", " ");
    status.replaceChildren(badge);
    status.dataset.status = run.status;
    const facts = document.getElementById("run-facts");
    function set(name, text) {
      const cell = facts.querySelector('[data-field="' + name + '"]');
      if (cell && typeof text === "string") cell.textContent = text;
      else if (cell) cell.replaceChildren(text);
    }
    function when(value) {
      return value ? timeElement(value) : "—";
    }
    set("started_at", when(run.started_at));
    set("finished_at", when(run.finished_at));
    set("exit_code", run.exit_code === null ? "—" : String(run.exit_code));
    set("error", run.error || "—");
    set("discarded_entries", String(run.discarded_entries ?? 0) + " discarded");
    if (run.started_at && run.finished_at) {
      set("duration", ((new Date(run.finished_at) - new Date(run.started_at)) / 1000).toFixed(1) + " s");
    }
    return run;
  }

  const FINISHED = ["succeeded", "failed", "timed_out", "cancelled", "skipped", "abandoned"];

  function follow() {
    if (table.dataset.live !== "true" || !window.EventSource) return;
    const source = new EventSource("/api/runs/" + runId + "/logs/stream?after=" + lastSeq);
    let ended = false;
    function finish() {
      if (ended) return;
      ended = true;
      source.close();
      refreshRun().then(function (run) {
        live.textContent = run ? "This run is " + String(run.status).replace("_", " ") + "." : "";
        document.querySelectorAll('form[action$="/cancel"]').forEach(function (form) {
          if (run && FINISHED.indexOf(run.status) >= 0) form.hidden = true;
        });
      });
    }
    // Each message is one entry (its id is the entry's seq); `end` says the run finished.
    source.onmessage = function (event) { handle(event.data); };
    source.addEventListener("end", finish);
    source.onerror = function () {
      // A dropped connection is retried by the browser (from the last seq it got); a
      // refused one (signed out, run gone) is closed for good.
      if (source.readyState === EventSource.CLOSED) finish();
    };
    source.onopen = function () { refreshRun(); };
  }

  document.querySelectorAll(".no-js").forEach(function (node) { node.hidden = true; });
  applyFilter();
  follow();
})();
