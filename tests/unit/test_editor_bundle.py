"""The committed code-editor bundle (static/vendor/editor.js, built by `make assets` from
frontend/) was built from the packages frontend/package-lock.json pins, and stays small."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "interfaces" / "web" / "static" / "vendor" / "editor.js"
LOCK = ROOT / "frontend" / "package-lock.json"
PACKAGE = ROOT / "frontend" / "package.json"


def test_the_bundle_header_names_the_locked_versions_of_what_it_bundles() -> None:
    header = BUNDLE.read_text(encoding="utf-8").split("\n", 1)[0]
    named = dict(re.findall(r"(@?[\w./-]+?)@(\d[\w.+-]*)", header))
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    wanted = json.loads(PACKAGE.read_text(encoding="utf-8"))["dependencies"]
    locked = {name: lock["packages"][f"node_modules/{name}"]["version"] for name in wanted}
    assert named == locked, "the bundle is stale: run `make assets` and commit the result"


def test_the_bundle_is_under_150_kb_compressed() -> None:
    assert len(gzip.compress(BUNDLE.read_bytes(), 9)) < 150_000


def test_the_lock_file_matches_package_json() -> None:
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    package = json.loads(PACKAGE.read_text(encoding="utf-8"))
    root = lock["packages"][""]
    assert root.get("dependencies") == package["dependencies"]
    assert root.get("devDependencies") == package["devDependencies"]
