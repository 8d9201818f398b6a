// Bundles editor.js into ../interfaces/web/static/vendor/editor.js (minified), with a
// header naming the exact package versions (from package-lock.json) it was built from:
// tests/unit/test_editor_bundle.py compares the two, so a stale bundle is caught.
import { build } from "esbuild";
import { readFileSync } from "node:fs";

// The pages' CSP is `style-src 'self'`: the <style> element style-mod (CodeMirror's styles)
// adds to a document is refused. A constructable stylesheet is not, and style-mod already
// uses one for shadow roots; this makes it use one for the document too. The build fails
// if style-mod's code no longer reads as expected, rather than shipping unstyled editors.
const STYLE_MOD_TEST = "if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet)";
let patched = false;
const adoptedStyleSheets = {
  name: "style-mod-adopted-stylesheets",
  setup(build) {
    build.onLoad({ filter: /style-mod[\\/]src[\\/]style-mod\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      if (!source.includes(STYLE_MOD_TEST)) throw new Error("style-mod changed: " + args.path);
      patched = true;
      return {
        contents: source.replace(STYLE_MOD_TEST, "if (root.adoptedStyleSheets && win.CSSStyleSheet)"),
        loader: "js",
      };
    });
  },
};

const lock = JSON.parse(readFileSync(new URL("./package-lock.json", import.meta.url)));
const bundled = Object.keys(lock.packages[""].dependencies).sort();
const versions = bundled.map((name) => name + "@" + lock.packages["node_modules/" + name].version);

await build({
  entryPoints: [new URL("./editor.js", import.meta.url).pathname],
  outfile: new URL("../interfaces/web/static/vendor/editor.js", import.meta.url).pathname,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  // Line 1 names the versions (the freshness test reads it); line 2 is the MIT notice of
  // CodeMirror, Lezer, style-mod, crelt and w3c-keyname.
  banner: {
    js:
      "/* JobLedger code editor, built by `make assets` from " + versions.join(" ") + " */\n" +
      "/* CodeMirror 6 and its dependencies: MIT License, Copyright (C) 2018-2021 by Marijn " +
      "Haverbeke <marijn@haverbeke.berlin> and others */",
  },
  plugins: [adoptedStyleSheets],
  logLevel: "info",
});
if (!patched) throw new Error("style-mod was not bundled from src/style-mod.js: not patched");
