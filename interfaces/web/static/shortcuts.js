// Keyboard shortcuts for the common actions; "?" lists them. A key typed into a field, or
// pressed with Ctrl, Alt or Meta, is never taken: shortcuts only act on the page itself.
"use strict";

(function () {
  // The header's link with this text, so the shortcut follows wherever the page lives.
  function navLink(text, fallback) {
    const links = document.querySelectorAll("header.top nav a");
    for (const link of links) {
      if (link.textContent.trim() === text) return link.getAttribute("href");
    }
    return fallback;
  }

  function go(href) {
    if (href) window.location.assign(href);
  }

  function focusSearch() {
    const box = document.querySelector("[data-search]:not([hidden])") ||
      document.querySelector("main input[type=search]");
    if (!box || box.closest("[hidden]")) return false;
    box.focus();
    if (box.select) box.select();
    return true;
  }

  function runNow() {
    const form = document.querySelector('main form[action$="/run"]');
    if (!form) return false;
    const heading = document.querySelector("main h1");
    const name = heading ? heading.textContent.trim() : "this job";
    if (window.confirm("Run " + name + " now?")) form.requestSubmit();
    return true;
  }

  // [keys, what it does, action]; "g j" is g then j.
  const SHORTCUTS = [
    ["/", "Find: focus the page's search box", focusSearch],
    ["g d", "Go to the dashboard", function () { go(navLink("Dashboard", "/")); }],
    ["g j", "Go to the jobs", function () { go(navLink("Jobs", "/")); }],
    ["g r", "Go to the runs", function () { go(navLink("Runs", "/runs")); }],
    ["g a", "Go to the audit trail", function () { go(navLink("Audit trail", "/audit")); }],
    ["n", "New job", function () { go("/jobs/new"); }],
    ["r", "Run now (on a job's page)", runNow],
    ["?", "Show or hide this list", toggleHelp],
  ];

  let help = null;

  function buildHelp() {
    const box = document.createElement("div");
    box.className = "shortcut-help";
    box.id = "shortcut-help";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-modal", "true");
    box.setAttribute("aria-labelledby", "shortcut-help-title");
    const title = document.createElement("h2");
    title.id = "shortcut-help-title";
    title.textContent = "Keyboard shortcuts";
    const list = document.createElement("dl");
    SHORTCUTS.forEach(function (shortcut) {
      const keys = document.createElement("dt");
      shortcut[0].split(" ").forEach(function (key, i) {
        if (i) keys.appendChild(document.createTextNode(" then "));
        const kbd = document.createElement("kbd");
        kbd.textContent = key;
        keys.appendChild(kbd);
      });
      const words = document.createElement("dd");
      words.textContent = shortcut[1];
      list.append(keys, words);
    });
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", hideHelp);
    const hint = document.createElement("p");
    hint.className = "muted";
    hint.textContent = "Shortcuts do nothing while you type in a field.";
    box.append(title, list, hint, close);
    document.body.appendChild(box);
    return box;
  }

  function hideHelp() {
    if (help) help.hidden = true;
  }

  function toggleHelp() {
    if (!help) help = buildHelp();
    else help.hidden = !help.hidden;
    if (!help.hidden) help.querySelector("button").focus();
  }

  function typing(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]"));
  }

  let pending = "";
  let timer = null;

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && help && !help.hidden) {
      hideHelp();
      return;
    }
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (typing(event.target)) return;
    const key = event.key;
    if (key.length !== 1) return;
    const typed = pending ? pending + " " + key : key;
    const found = SHORTCUTS.find(function (shortcut) { return shortcut[0] === typed; });
    const prefix = !found && SHORTCUTS.some(function (shortcut) {
      return shortcut[0].startsWith(typed + " ");
    });
    window.clearTimeout(timer);
    pending = "";
    if (prefix) {
      // The first key of a pair: wait a moment for the second.
      pending = typed;
      timer = window.setTimeout(function () { pending = ""; }, 1500);
      event.preventDefault();
      return;
    }
    if (!found) return;
    if (found[2]() !== false) event.preventDefault();
  });
})();
