"""Archived run logs: one gzip-compressed text file per run, `<run id>.log.gz`, in the
archive directory (`JOBLEDGER_ARCHIVE_DIR`), written by the retention sweep before it
deletes the log. Owner-only, like the store: a log may hold what a job printed."""

from __future__ import annotations

import contextlib
import gzip
import os
from collections.abc import Iterable
from pathlib import Path
from uuid import UUID

from adapters.file_modes import private_directory

FILE_MODE = 0o600


class FileLogArchive:
    """`application.ports.LogArchive` in a directory of gzip files."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, run_id: UUID) -> Path:
        return self.directory / f"{run_id}.log.gz"

    def write(self, run_id: UUID, lines: Iterable[str]) -> int:
        """Write the run's archive (replacing an earlier, partial one); returns its size.
        Written to a temporary name, flushed to disk, then renamed: a crash leaves either
        no archive or a whole one, and the log is deleted only after this returns."""
        private_directory(self.directory)
        final = self.path_for(run_id)
        partial = final.with_name(final.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as raw:
                with gzip.GzipFile(filename=final.name[:-3], mode="wb", fileobj=raw) as out:
                    for line in lines:
                        out.write(line.encode("utf-8", "replace"))
                        out.write(b"\n")
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
        return final.stat().st_size

    def find(self, run_id: UUID) -> Path | None:
        """The run's archive, if there is one."""
        path = self.path_for(run_id)
        return path if path.is_file() else None
