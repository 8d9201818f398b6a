"""The pages' own scripts and styles stay small: every file under interfaces/web/static,
gzip-compressed, totals under 300 KB (issue 13's page-speed budget)."""

from __future__ import annotations

import gzip
from pathlib import Path

from interfaces.web.render import STATIC_DIR

BUDGET_BYTES = 300 * 1024


def compressed_sizes(root: Path) -> dict[str, int]:
    return {
        str(path.relative_to(root)): len(gzip.compress(path.read_bytes(), compresslevel=9))
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_the_static_files_compress_to_under_300_kb_in_total() -> None:
    sizes = compressed_sizes(STATIC_DIR)
    assert "dashboard.js" in sizes and "app.css" in sizes  # the walk found the files
    total = sum(sizes.values())
    biggest = sorted(sizes.items(), key=lambda item: -item[1])[:5]
    assert total < BUDGET_BYTES, f"{total} bytes gzipped; the biggest: {biggest}"


def test_the_walk_counts_files_in_subfolders(tmp_path: Path) -> None:
    (tmp_path / "editor").mkdir()
    (tmp_path / "editor" / "bundle.js").write_bytes(b"x" * 1000)
    (tmp_path / "a.css").write_bytes(b"")
    assert set(compressed_sizes(tmp_path)) == {"a.css", "editor/bundle.js"}
