// The dashboard, live: /dashboard/events sends the re-rendered live part of the page (as
// JSON {"html": ...}) whenever runs or jobs change; this puts it in place, keeps open
// <details> open, ticks the running runs' elapsed times, and asks before a cancel. Without
// this file the page is complete as served; a reload brings it up to date.
"use strict";

(function () {
  const live = document.getElementById("dashboard-live");
  const state = document.getElementById("dashboard-live-state");
  if (!live) return;
  let received = Date.now();

  function words(seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const two = function (n) { return String(n).padStart(2, "0"); };
    if (h) return h + " h " + two(m) + " min " + two(s) + " s";
    if (m) return m + " min " + two(s) + " s";
    return s + " s";
  }

  // The server counted each run's elapsed seconds when it rendered; add what passed since,
  // by this browser's clock alone, so a skewed clock cannot make it wrong.
  function tick() {
    const passed = Math.floor((Date.now() - received) / 1000);
    live.querySelectorAll(".elapsed[data-seconds]").forEach(function (node) {
      node.textContent = words(Number(node.dataset.seconds) + passed);
    });
  }
  window.setInterval(tick, 1000);

  live.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-dashboard-confirm]");
    if (form && !window.confirm(form.dataset.dashboardConfirm)) event.preventDefault();
  });

  function replace(html) {
    const open = Array.from(live.querySelectorAll("details[open]")).map(function (node) {
      return node.closest("[id]") ? node.closest("[id]").id : "";
    });
    live.innerHTML = html;
    open.forEach(function (id) {
      const holder = id && document.getElementById(id);
      const details = holder && holder.querySelector("details");
      if (details) details.open = true;
    });
    received = Date.now();
    tick();
  }

  if (!window.EventSource) return;
  const source = new EventSource(live.dataset.events);
  source.addEventListener("dashboard", function (event) {
    replace(JSON.parse(event.data).html);
    live.dataset.updates = String(Number(live.dataset.updates || 0) + 1);
    if (state) state.textContent = "Live: updates as runs start and end.";
  });
  source.addEventListener("error", function () {
    if (state) state.textContent = "Live updates paused: reconnecting…";
  });
})();
