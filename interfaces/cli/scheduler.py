"""`jobledger scheduler`: placeholder; its owner replaces this module."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add the `scheduler` command to the parser."""
