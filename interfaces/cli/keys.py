"""`jobledger keys rotate`: rewrap every job's data key under a new master key.

The events are not touched: they hold secrets encrypted under data keys, and only the
data keys' wrapping changes. The rotation is resumable: run the command again after an
interruption and it finishes with the same new key.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from adapters.key_rotation import rotate_master_key
from adapters.master_key import KEY_FILE_NAME, MasterKey, read_key_file, write_key_file
from domain.errors import InvalidInput
from interfaces.cli.context import opened


def register(commands: Any) -> None:
    parser = commands.add_parser("keys", help="manage the master key")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    rotate = sub.add_parser(
        "rotate",
        help="rewrap every data key under a new master key",
        description="Generate a new master key and rewrap every job's data key with it. With "
        "the default key file the file is replaced; when JOBLEDGER_MASTER_KEY is set, give "
        "--new-key-file and point JOBLEDGER_MASTER_KEY at it afterwards. Stop other JobLedger "
        "processes first, and restart them after.",
    )
    rotate.add_argument("--new-key-file", type=Path, help="where to write the new master key")
    rotate.set_defaults(handler=rotate_keys)


def rotate_keys(args: argparse.Namespace) -> int:
    with opened() as system:
        default_file = system.settings.data_dir / KEY_FILE_NAME
        using_default = not system.settings.master_key
        target: Path | None = args.new_key_file or (
            default_file.with_suffix(".key.next") if using_default else None
        )
        if target is None:
            raise InvalidInput(
                "--new-key-file", "JOBLEDGER_MASTER_KEY is set; say where to write the new key"
            )
        # Resume with the same new key if an earlier rotation was interrupted.
        new = read_key_file(target) if target.exists() else MasterKey.generate()
        if not target.exists():
            write_key_file(target, new)
        count = rotate_master_key(system.keys, system.master_key, new)
    if using_default and args.new_key_file is None:
        write_key_file(default_file, new, overwrite=True)
        os.unlink(target)
        print(f"Rewrapped {count} data keys; {default_file} now holds the new master key.")
    else:
        print(
            f"Rewrapped {count} data keys under the new master key in {target}. "
            "Point JOBLEDGER_MASTER_KEY at it and restart JobLedger."
        )
    return 0
