"""The flags every command shares, and the parser class whose usage errors are one line."""

from __future__ import annotations

import argparse
from typing import NoReturn

from .exits import USAGE


class Parser(argparse.ArgumentParser):
    """Usage errors are one line and exit status 2 (no usage dump before them)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def common_flags() -> Parser:
    common = Parser(add_help=False)
    shown = common.add_mutually_exclusive_group()
    shown.add_argument("-q", "--quiet", action="store_true", help="Print only the results.")
    shown.add_argument("--json", action="store_true", help="Print JSON lines (for scripts).")
    common.add_argument(
        "--state-dir",
        metavar="DIR",
        help="Where interrupted uploads are remembered (default: $UPLOAD_CLI_STATE_DIR, "
        "else $XDG_STATE_HOME/upload-cli, else ~/.local/state/upload-cli).",
    )
    common.add_argument(
        "--retries",
        type=int,
        default=8,
        metavar="N",
        help="Tries per request on 423, 503 or a connection error, with backoff (8).",
    )
    common.add_argument(
        "--timeout", type=float, default=60.0, metavar="S", help="Network timeout (60 s)."
    )
    return common
