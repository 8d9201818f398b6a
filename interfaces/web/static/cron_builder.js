// The CRON builder: pick "every N minutes", "hourly at", "daily at", "weekly on",
// "monthly on a day or the last weekday" and the expression is written for you; type an
// expression and the builder shows it where it can (else "as the expression says").
// Writing the expression fires its "input" event, so app.js's preview (description and
// next fire times, from /api/schedules/preview) updates with it.
"use strict";

(function () {
  const builder = document.querySelector("[data-cron-builder]");
  const cron = document.getElementById("cron");
  if (!builder || !cron || cron.disabled) return;
  const kind = builder.querySelector("#cron-kind");
  const every = builder.querySelector("#cron-every");
  const minute = builder.querySelector("#cron-minute");
  const time = builder.querySelector("#cron-time");
  const day = builder.querySelector("#cron-day");
  const weekdays = Array.prototype.slice.call(builder.querySelectorAll("input[data-weekday]"));
  const NAMES = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

  function number(text, low, high) {
    if (!/^\d{1,2}$/.test(text)) return null;
    const value = Number(text);
    return value >= low && value <= high ? value : null;
  }
  function pad(value) { return (value < 10 ? "0" : "") + value; }
  function clamp(input, low, high, fallback) {
    const value = Math.round(Number(input.value));
    return isNaN(value) || input.value === "" ? fallback : Math.min(high, Math.max(low, value));
  }

  // Weekday field -> sorted day numbers (0 = Sunday), or null if it is not a plain list.
  function days(field) {
    const found = [];
    for (const part of field.toLowerCase().split(",")) {
      const range = /^(\w+)-(\w+)$/.exec(part);
      const ends = range ? [range[1], range[2]] : [part, part];
      const [from, to] = ends.map(function (end) {
        if (end in NAMES) return NAMES[end];
        const value = number(end, 0, 7);
        return value === 7 ? 0 : value;
      });
      if (from === null || to === null || from > to) return null;
      for (let d = from; d <= to; d++) if (found.indexOf(d) < 0) found.push(d);
    }
    return found.sort();
  }

  // An expression -> the builder's settings, or null when the builder cannot say it.
  function parse(text) {
    const trimmed = text.trim();
    if (trimmed === "") return { kind: "none" };
    const f = trimmed.split(/\s+/);
    if (f.length !== 5) return null;
    const [m, h, dom, month, dow] = f;
    if (month !== "*") return null;
    const step = /^\*\/(\d{1,2})$/.exec(m);
    if (step && h === "*" && dom === "*" && dow === "*") {
      const n = number(step[1], 1, 59);
      return n === null ? null : { kind: "minutes", every: n };
    }
    const mm = number(m, 0, 59);
    if (mm === null) return null;
    if (h === "*" && dom === "*" && dow === "*") return { kind: "hourly", minute: mm };
    const hh = number(h, 0, 23);
    if (hh === null) return null;
    const at = pad(hh) + ":" + pad(mm);
    if (dom === "*" && dow === "*") return { kind: "daily", time: at };
    if (dom === "*") {
      const list = days(dow);
      return list && list.length ? { kind: "weekly", time: at, days: list } : null;
    }
    if (dow !== "*") return null;
    if (dom === "L" || dom === "LW") return { kind: "monthly", time: at, day: dom };
    const d = number(dom, 1, 31);
    return d === null ? null : { kind: "monthly", time: at, day: String(d) };
  }

  // The builder's settings -> an expression.
  function expression() {
    const [hh, mm] = (time.value || "02:00").split(":").map(Number);
    switch (kind.value) {
      case "none": return "";
      case "minutes": return "*/" + clamp(every, 1, 59, 15) + " * * * *";
      case "hourly": return clamp(minute, 0, 59, 0) + " * * * *";
      case "daily": return mm + " " + hh + " * * *";
      case "weekly": {
        const chosen = weekdays.filter(function (box) { return box.checked; })
          .map(function (box) { return box.value; });
        return chosen.length ? mm + " " + hh + " * * " + chosen.join(",") : null; // none: wait
      }
      case "monthly": return mm + " " + hh + " " + day.value + " * *";
      default: return null;
    }
  }

  // Show only the inputs the chosen kind uses.
  function showInputs() {
    builder.querySelectorAll("[data-for]").forEach(function (part) {
      part.hidden = part.dataset.for.split(" ").indexOf(kind.value) < 0;
    });
  }

  function fromExpression() {
    const found = parse(cron.value);
    kind.value = found ? found.kind : "custom";
    if (found) {
      if (found.every !== undefined) every.value = found.every;
      if (found.minute !== undefined) minute.value = found.minute;
      if (found.time !== undefined) time.value = found.time;
      if (found.day !== undefined) day.value = found.day;
      if (found.days !== undefined) {
        weekdays.forEach(function (box) { box.checked = found.days.indexOf(Number(box.value)) >= 0; });
      }
    }
    showInputs();
  }

  function toExpression() {
    showInputs();
    const text = expression();
    if (text === null || text === cron.value.trim()) return;
    cron.value = text;
    cron.dispatchEvent(new Event("input")); // app.js refreshes the preview
  }

  builder.hidden = false;
  fromExpression();
  cron.addEventListener("input", fromExpression);
  builder.addEventListener("change", toExpression);
  builder.addEventListener("input", function (event) {
    if (event.target !== kind) toExpression();
  });
})();
