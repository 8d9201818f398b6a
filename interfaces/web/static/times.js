// Times in the reader's zone. The server writes every time as
// <time datetime="ISO-UTC" title="... UTC">2026-11-30 14:05:09 UTC</time> (one Jinja filter,
// `when`); this rewrites each into the browser's zone, or into its data-zone (a job's zone,
// for fire times), in the same format with the zone's abbreviation, keeping UTC on hover.
// "Times in UTC" in the header turns that off, remembered in localStorage. Without this
// file the pages show UTC, in the same format. Times on lists marked data-relative show
// how long ago they were ("3 min ago"), refreshed every 30 s, the time itself on hover.
"use strict";

(function () {
  const KEY = "jobledger.times";
  const toggle = document.getElementById("utc-times");

  let utc = false;
  try { utc = window.localStorage.getItem(KEY) === "utc"; } catch (error) { /* no storage */ }

  function parts(date, zone, locale) {
    const format = new Intl.DateTimeFormat(locale, {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
      timeZoneName: "short",
    });
    const found = {};
    format.formatToParts(date).forEach(function (part) { found[part.type] = part.value; });
    return found;
  }

  // "EST", "CET", "BST": en-US knows the American abbreviations, en-GB the European ones;
  // elsewhere there is none in common use and the offset is shown ("UTC+05:30").
  function zoneName(date, zone) {
    let name = "";
    for (const locale of ["en-US", "en-GB"]) {
      name = parts(date, zone, locale).timeZoneName || "";
      if (!/^GMT[+-]/.test(name)) return name;
    }
    const offset = name.replace(/^GMT/, "");
    const [hours, minutes] = offset.slice(1).split(":");
    return "UTC" + offset[0] + hours.padStart(2, "0") + ":" + (minutes || "00");
  }

  function text(date, zone) {
    const p = parts(date, zone, "en-US");
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + ":" +
      p.second + " " + zoneName(date, zone);
  }

  // "3 min ago", "in 5 h", "2 days ago": how far a moment is from now, in whole units.
  function relative(date, now) {
    const seconds = Math.round((date.getTime() - now) / 1000);
    const past = seconds <= 0;
    const size = Math.abs(seconds);
    if (size < 60) return past ? "just now" : "in under a minute";
    const units = [
      [365 * 86400, "year", "years"], [30 * 86400, "month", "months"],
      [86400, "day", "days"], [3600, "h", "h"], [60, "min", "min"],
    ];
    for (const [length, one, many] of units) {
      if (size >= length) {
        const count = Math.floor(size / length);
        const words = count + " " + (count === 1 ? one : many);
        return past ? words + " ago" : "in " + words;
      }
    }
    return "";
  }

  function show(element) {
    const date = new Date(element.getAttribute("datetime"));
    if (isNaN(date)) return;
    let zone = utc ? "UTC" : (element.dataset.zone || undefined);
    let shown;
    try {
      shown = text(date, zone);
    } catch (error) { // a zone this browser does not know: its own zone instead
      zone = undefined;
      shown = text(date, zone);
    }
    if (zone === "UTC") shown = shown.replace(/ (GMT|UTC)$/, " UTC");
    const inUtc = text(date, "UTC").replace(/ (GMT|UTC)$/, " UTC");
    if (element.hasAttribute("data-relative")) {
      // On lists: how long ago, with the time itself (and its UTC instant) on hover.
      element.textContent = relative(date, Date.now());
      element.title = shown === inUtc ? shown : shown + " (" + inUtc + ")";
      return;
    }
    element.textContent = shown;
    element.title = inUtc;
  }

  function showAll(root) {
    if (root.matches && root.matches("time[datetime]")) show(root);
    if (root.querySelectorAll) root.querySelectorAll("time[datetime]").forEach(show);
  }

  window.JobLedgerTimes = { show: show };
  showAll(document);
  // Relative times age: "just now" becomes "1 min ago" without a reload.
  window.setInterval(function () {
    document.querySelectorAll("time[data-relative]").forEach(show);
  }, 30000);
  // Times added later (a live log, the schedule preview) are shown the same way.
  new MutationObserver(function (mutations) {
    mutations.forEach(function (mutation) {
      mutation.addedNodes.forEach(function (node) {
        if (node.nodeType === Node.ELEMENT_NODE) showAll(node);
      });
    });
  }).observe(document.documentElement, { childList: true, subtree: true });

  if (toggle) {
    toggle.checked = utc;
    toggle.closest(".utc-toggle").hidden = false;
    toggle.addEventListener("change", function () {
      utc = toggle.checked;
      try {
        if (toggle.checked) window.localStorage.setItem(KEY, "utc");
        else window.localStorage.removeItem(KEY);
      } catch (error) { /* storage refused: the choice lasts for this page only */ }
      showAll(document);
    });
  }
})();
