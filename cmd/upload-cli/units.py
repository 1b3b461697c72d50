"""Sizes on the command line: `8MiB`, `5MB`, `1048576`."""

from __future__ import annotations

import argparse
import re

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}
_SIZE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


def size(raw: str) -> int:
    """An argparse `type`: a positive byte count with an optional unit."""
    match = _SIZE.match(raw)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"expected a size such as 8MiB or 1048576, got {raw!r}")
    return int(match.group(1)) * _UNITS[unit]


def positive(raw: str) -> int:
    """An argparse `type`: an integer >= 1."""
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {raw!r}")
    return int(raw)
