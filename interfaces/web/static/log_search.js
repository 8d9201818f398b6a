// The run page's log: find text in the lines shown (client-side: the lines already on the
// page, live ones included), each match highlighted and counted; and "Follow new lines",
// which keeps the newest line in view while a running job writes more.
// Rows hidden by the level filter (logs.js sets row.hidden) stay hidden; rows that do not
// match the search get the class "search-miss" instead, so the two filters combine.
"use strict";

(function () {
  const table = document.getElementById("log");
  const tools = document.getElementById("log-tools");
  if (!table || !tools) return;
  const body = table.tBodies[0];
  const input = document.getElementById("log-search");
  const count = document.getElementById("log-search-count");
  const follow = document.getElementById("log-follow");
  const level = document.getElementById("min_level");
  tools.hidden = false;

  // The message cell's text with each match of `needle` (ignoring case) in a <mark>.
  function highlight(cell, needle) {
    const text = cell.textContent;
    if (!needle) {
      if (cell.querySelector("mark")) cell.textContent = text;
      return true;
    }
    const lower = text.toLowerCase();
    let at = lower.indexOf(needle);
    if (at < 0) {
      if (cell.querySelector("mark")) cell.textContent = text;
      return false;
    }
    const parts = [];
    let from = 0;
    while (at >= 0) {
      if (at > from) parts.push(document.createTextNode(text.slice(from, at)));
      const mark = document.createElement("mark");
      mark.textContent = text.slice(at, at + needle.length);
      parts.push(mark);
      from = at + needle.length;
      at = lower.indexOf(needle, from);
    }
    if (from < text.length) parts.push(document.createTextNode(text.slice(from)));
    cell.replaceChildren.apply(cell, parts);
    return true;
  }

  function needle() {
    return input.value.trim().toLowerCase();
  }

  function searchRow(row, wanted) {
    const cell = row.querySelector("td.message");
    const found = cell ? highlight(cell, wanted) : !wanted;
    row.classList.toggle("search-miss", !found);
    return found;
  }

  function countMatches() {
    const wanted = needle();
    if (!wanted) {
      count.textContent = "";
      return;
    }
    let shown = 0;
    let matched = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      if (row.hidden) return;
      shown += 1;
      if (!row.classList.contains("search-miss")) matched += 1;
    });
    count.textContent = matched + " of " + shown + (shown === 1 ? " line" : " lines") + " match";
  }

  function searchAll() {
    const wanted = needle();
    Array.prototype.forEach.call(body.rows, function (row) { searchRow(row, wanted); });
    countMatches();
  }

  function lastShownRow() {
    for (let i = body.rows.length - 1; i >= 0; i -= 1) {
      const row = body.rows[i];
      if (!row.hidden && !row.classList.contains("search-miss")) return row;
    }
    return null;
  }

  input.addEventListener("input", searchAll);
  if (level) level.addEventListener("change", countMatches);

  // Lines written while the page is open: searched as they come, and followed.
  new MutationObserver(function (mutations) {
    const wanted = needle();
    let added = false;
    mutations.forEach(function (mutation) {
      mutation.addedNodes.forEach(function (node) {
        if (node.nodeName === "TR") {
          searchRow(node, wanted);
          added = true;
        }
      });
    });
    if (!added) return;
    countMatches();
    if (follow && follow.checked) {
      const row = lastShownRow();
      if (row) row.scrollIntoView({ block: "end" });
    }
  }).observe(body, { childList: true });

  if (follow) {
    follow.addEventListener("change", function () {
      const row = follow.checked && lastShownRow();
      if (row) row.scrollIntoView({ block: "end" });
    });
  }
})();
