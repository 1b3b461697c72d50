"""Exit codes, and the one line a failure prints instead of a traceback.

0 done, 1 the server refused (413, 460, 404, ...), 2 usage (bad flag, bad URL, missing
file), 3 network (refused, reset, timed out, after the retries), 130 interrupted.
"""

from __future__ import annotations

from tusgen import runtime as rt

OK = rt.EXIT_OK
REFUSED = rt.EXIT_REFUSED
USAGE = rt.EXIT_USAGE
NETWORK = rt.EXIT_NETWORK
INTERRUPTED = rt.EXIT_INTERRUPTED


class Failure(Exception):
    """An expected failure: `message` is the whole line, `code` the exit code."""

    def __init__(self, message: str, code: int = REFUSED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def describe(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and line for an expected failure, else None (a bug: traceback)."""
    if isinstance(exc, Failure):
        return exc.code, exc.message
    return rt.failure(exc)
