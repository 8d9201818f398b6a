"""`jobledger api`: placeholder; its owner replaces this module."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add the `api` command to the parser."""
