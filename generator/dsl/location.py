"""Where a DSL call was made: the design's file and line, for error messages."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

_DSL_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class Loc:
    """A source location in a design file (absolute path; shown relative to the cwd)."""

    file: str
    line: int

    def __str__(self) -> str:
        path = os.path.realpath(self.file)
        try:
            rel = os.path.relpath(path)
        except ValueError:  # pragma: no cover - other drive on Windows
            rel = path
        shown = path if rel.startswith("..") else rel
        return f"{shown}:{self.line}"


UNKNOWN = Loc("<unknown>", 0)


def caller() -> Loc:
    """The first frame outside the DSL package: the line of the design that called us."""
    frame = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == (
        _DSL_DIR
    ):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:  # pragma: no cover
        return UNKNOWN
    return Loc(frame.f_code.co_filename, frame.f_lineno)
