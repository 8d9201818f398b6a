// The code editor of the job form, bundled by build.mjs into
// interfaces/web/static/vendor/editor.js. Progressive enhancement: every
// <textarea data-code-editor="powershell|json"> stays the form's field (the page works
// without JavaScript); a CodeMirror editor takes its place on screen and writes every
// change back to it, firing "input" so app.js's live checks see it, and follows it when
// another script (the job-type switch) sets its value.
import { EditorState } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  drawSelection, highlightSpecialChars,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  StreamLanguage, syntaxHighlighting, indentOnInput, bracketMatching, indentUnit,
} from "@codemirror/language";
import { classHighlighter } from "@lezer/highlight";
import { powerShell } from "@codemirror/legacy-modes/mode/powershell";
import { json } from "@codemirror/lang-json";

const LANGUAGES = {
  powershell: () => StreamLanguage.define(powerShell),
  json: () => json(),
};

// The editor's text area gets the textarea's name and state for assistive technology:
// its label, its description (hint, live status, server error) and aria-invalid, kept in
// step as app.js changes them.
function mirrorAria(area, content) {
  const label = area.id && document.querySelector('label[for="' + area.id + '"]');
  if (label) {
    // The label now names the editor (and only it: the hidden textarea is out of the way).
    if (!label.id) label.id = area.id + "-label";
    label.removeAttribute("for");
    content.setAttribute("aria-labelledby", label.id);
    // A click on the label goes to the editor, as it went to the textarea.
    label.addEventListener("click", (event) => { event.preventDefault(); content.focus(); });
  }
  const copy = () => {
    for (const name of ["aria-describedby", "aria-invalid"]) {
      const value = area.getAttribute(name);
      if (value === null) content.removeAttribute(name);
      else content.setAttribute(name, value);
    }
  };
  copy();
  new MutationObserver(copy).observe(area, { attributes: true });
}

function attach(area) {
  const language = LANGUAGES[area.dataset.codeEditor];
  if (!language || area.jlEditor) return;
  let writing = false;
  const view = new EditorView({
    doc: area.value,
    extensions: [
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars(),
      history(),
      drawSelection(),
      indentOnInput(),
      bracketMatching(),
      highlightActiveLine(),
      // Tokens get classes (tok-string, tok-keyword, ...) that static/code.css colours, in
      // the light and the dark theme alike; CodeMirror's default style has light-only colours.
      syntaxHighlighting(classHighlighter),
      indentUnit.of("    "),
      // Tab indents; Escape then Tab leaves the editor (CodeMirror's rule), so the
      // keyboard is never trapped.
      keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
      language(),
      EditorView.lineWrapping,
      EditorState.readOnly.of(area.disabled || area.readOnly),
      EditorView.editable.of(!(area.disabled || area.readOnly)),
      EditorView.contentAttributes.of({ "aria-multiline": "true", role: "textbox", spellcheck: "false" }),
      EditorView.updateListener.of((update) => {
        if (!update.docChanged) return;
        writing = true;
        area.value = update.state.doc.toString();
        area.dispatchEvent(new Event("input", { bubbles: true }));
        writing = false;
      }),
    ],
  });
  // Another script set the field (an example program for the chosen job type).
  area.addEventListener("input", () => {
    if (writing) return;
    const text = area.value;
    if (text !== view.state.doc.toString()) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    }
  });
  // The browser cannot point at a hidden textarea it refuses: the editor takes the focus, and
  // the field's own status line (app.js) says what is wrong.
  area.addEventListener("invalid", (event) => {
    event.preventDefault();
    view.focus();
  });
  area.addEventListener("focus", () => view.focus());
  const wrapper = document.createElement("div");
  wrapper.className = "code-editor";
  wrapper.dataset.language = area.dataset.codeEditor;
  wrapper.appendChild(view.dom);
  area.after(wrapper);
  area.hidden = true;
  mirrorAria(area, view.contentDOM);
  area.jlEditor = view;
}

function attachAll() {
  document.querySelectorAll("textarea[data-code-editor]").forEach(attach);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", attachAll);
else attachAll();
