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
    showEmptySentence();
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

  const FINISHED = ["succeeded", "failed", "timed_out", "cancelled", "skipped", "abandoned"];
  const POLL_MS = 1000;
  const sentence = document.getElementById("run-sentence");
  const statusBox = document.getElementById("run-status");
  // What the empty-log sentence depends on, as the page was served; updated by refreshRun.
  let current = {
    status: statusBox.dataset.status,
    log_level: empty.dataset.logLevel,
    discarded_entries: parseInt(empty.dataset.discarded || "0", 10),
  };

  function finished(run) {
    return FINISHED.indexOf(run.status) >= 0;
  }

  // The same words as interfaces/web/run_view.py says them when it serves the page.
  function statusSentence(run) {
    switch (run.status) {
      case "queued":
        return "This run is waiting for a worker.";
      case "running":
        return "This run is running on worker " + (run.worker || "unknown") + "." +
          (run.cancel_requested_by ? " Cancel requested by " + run.cancel_requested_by + "." : "");
      case "succeeded":
        return "This run succeeded.";
      case "failed":
        return run.exit_code === null || run.exit_code === undefined
          ? "This run failed." : "This run failed with exit code " + run.exit_code + ".";
      case "timed_out":
        return "This run timed out.";
      case "cancelled":
        return run.cancel_requested_by
          ? "This run was cancelled by " + run.cancel_requested_by + "." : "This run was cancelled.";
      case "skipped":
      case "abandoned":
        return "This run was " + run.status + ".";
      default:
        return "This run is " + String(run.status).replace("_", " ") + ".";
    }
  }

  function emptySentence(run, level) {
    const over = finished(run);
    if (level) return "No log entries at " + level + " or above" + (over ? "" : " yet") + ".";
    if (!over) return "No log entries yet.";
    let text = "This run wrote no log entries.";
    const discarded = run.discarded_entries || 0;
    if (discarded) {
      text += " " + discarded + (discarded === 1 ? " entry" : " entries") + " below " +
        run.log_level + (discarded === 1 ? " was" : " were") + " discarded.";
    }
    return text;
  }

  function showEmptySentence() {
    empty.textContent = emptySentence(current, select.value);
  }

  function showNextAttempt(id) {
    const cell = document.querySelector('#run-facts [data-field="attempt"]');
    if (!id || !cell || cell.querySelector('a[rel="next"]')) return;
    const link = document.createElement("a");
    link.rel = "next";
    link.href = "/runs/" + id;
    link.textContent = "next attempt";
    cell.appendChild(document.createTextNode(" · "));
    cell.appendChild(link);
  }

  async function refreshRun() {
    const response = await fetch("/api/runs/" + runId, { credentials: "same-origin" });
    if (!response.ok) return null;
    const run = await response.json();
    const badge = document.createElement("span");
    badge.className = "status status-" + run.status;
    badge.textContent = String(run.status).replace("_", " ");
    statusBox.replaceChildren(badge);
    statusBox.dataset.status = run.status;
    sentence.textContent = statusSentence(run);
    const facts = document.getElementById("run-facts");
    function set(name, text) {
      const cell = facts.querySelector('[data-field="' + name + '"]');
      if (cell && typeof text === "string") cell.textContent = text;
      else if (cell) cell.replaceChildren(text);
    }
    // A row that is hidden while empty (worker, cancel requested by): shown once it is not.
    function reveal(name, text) {
      set(name, text || "");
      facts.querySelectorAll('[data-row="' + name + '"], [data-field="' + name + '"]')
        .forEach(function (node) { node.hidden = !text; });
    }
    function when(value) {
      return value ? timeElement(value) : "—";
    }
    set("started_at", when(run.started_at));
    set("finished_at", when(run.finished_at));
    set("exit_code", run.exit_code === null ? "—" : String(run.exit_code));
    set("error", run.error || "—");
    set("discarded_entries", String(run.discarded_entries ?? 0) + " discarded");
    reveal("worker", run.worker);
    reveal("cancel_requested_by", run.cancel_requested_by);
    if (run.started_at && run.finished_at) {
      set("duration", ((new Date(run.finished_at) - new Date(run.started_at)) / 1000).toFixed(1) + " s");
    }
    showNextAttempt(run.next_attempt);
    current = run;
    showEmptySentence();
    if (finished(run)) {
      live.textContent = "";
      document.querySelectorAll('form[action$="/cancel"]').forEach(function (form) {
        form.hidden = true;
      });
    }
    return run;
  }

  // The log stream sends entries, not the run's other changes (started, worker, finished):
  // while the run is not over, read the run every second so every part of the page follows.
  function poll() {
    if (table.dataset.live !== "true") return;
    // A retry is recorded with the failure it follows, but the view may show it a moment
    // later: a run that may be retried is read a few more times for its next attempt.
    const RETRIED = ["failed", "timed_out", "abandoned"];
    let grace = 3;
    async function tick() {
      let run = null;
      try { run = await refreshRun(); } catch (error) { run = undefined; }
      if (run === null) return; // gone, or signed out
      if (run && finished(run)) {
        if (run.next_attempt || RETRIED.indexOf(run.status) < 0 || grace-- <= 0) return;
      }
      setTimeout(tick, POLL_MS);
    }
    setTimeout(tick, POLL_MS);
  }

  function follow() {
    if (table.dataset.live !== "true" || !window.EventSource) return;
    const source = new EventSource("/api/runs/" + runId + "/logs/stream?after=" + lastSeq);
    let ended = false;
    function finish() {
      if (ended) return;
      ended = true;
      source.close();
      refreshRun();
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
  poll();
})();
