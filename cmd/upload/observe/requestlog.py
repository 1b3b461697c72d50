"""One line per request, formatted and written in batches (record.py).

Why batches: a `logging` call plus a write to stderr per request costs ~10 us, an eighth
of a HEAD's CPU. Here every 0.2 s (or 256 requests) the batch's records become lines and
one write empties the buffer. A kill -9 loses at most that
window of request lines, never a state change. Fields: time, method, path (no query
string: it may carry tokens), status, bytes in and out, duration, upload id, protocol,
remote address.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from tuskit.persist.ids import is_safe_id

from .address import forwarded_for
from .record import Record

METHODS = frozenset({"GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"})


def _printable(path: str) -> str:
    """A path as one token: no spaces or control characters can forge a log line."""
    if len(path) <= 512 and path.isprintable() and " " not in path:
        return path
    return repr(path[:512])[1:-1].replace(" ", "%20")


def upload_id(path: str, location: str, prefix: str) -> str:
    """From a creation's Location, else the path segment after the mount's prefix."""
    tail = location.rpartition("/")[2] if location else ""
    if not tail and path.startswith(prefix):
        tail = path[len(prefix) :].partition("/")[0]
    if tail.isascii() and tail.isalnum() and len(tail) <= 128:
        return tail  # the common case (hex ids), without the regular expression
    return tail if tail and is_safe_id(tail) else ""


class RequestLog:
    """Formats a batch of request records as lines and writes them with one write."""

    def __init__(
        self, kind: str = "text", stream: TextIO | None = None, *, behind_proxy: bool = False
    ) -> None:
        self.json = kind == "json"
        self.stream = stream
        self.behind_proxy = behind_proxy
        self._second = -1
        self._stamp = ""
        self._milli = -1
        self._at = ""

    def _time(self, at: float) -> str:
        milli = int(at * 1000)
        if milli != self._milli:  # a busy server logs many requests per millisecond
            second = milli // 1000
            if second != self._second:
                self._second = second
                self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._milli = milli
            self._at = f"{self._stamp}.{milli % 1000:03d}Z"
        return self._at

    def _remote(self, scope: Any) -> str:
        if self.behind_proxy:
            found = forwarded_for(scope.get("headers", []))
            if found:
                return found
        client = scope.get("client")
        return str(client[0]) if client else "-"

    def _line(self, record: Record, offset: float) -> str:
        done, seconds, status, received, sent, location, scope, protocol, prefix = record
        method = scope["method"]
        if method not in METHODS:
            method = "other"
        raw_path: str = scope.get("path", "")
        # Inlined (upload_id, _printable, _remote): this runs once per request.
        if location:
            ident = location.rpartition("/")[2]
        elif raw_path.startswith(prefix):
            ident = raw_path[len(prefix) :].partition("/")[0]
        else:
            ident = ""
        if not (ident.isascii() and ident.isalnum() and len(ident) <= 128):
            ident = ident if ident and is_safe_id(ident) else ""
        path = raw_path
        if len(path) > 512 or not path.isprintable() or " " in path:
            path = _printable(path)
        at = self._time(done + offset)
        if self.behind_proxy:
            remote = self._remote(scope)
        else:
            client = scope.get("client")
            remote = client[0] if client else "-"
        if self.json:
            return json.dumps(
                {
                    "time": at, "level": "info", "logger": "tuskit.access", "msg": "request",
                    "method": method, "path": path, "status": status, "bytes_in": received,
                    "bytes_out": sent, "duration_ms": round(seconds * 1000, 3),
                    "upload_id": ident, "protocol": protocol, "remote_addr": remote,
                },
                ensure_ascii=False,
            )  # fmt: skip
        return (
            f"{at} INFO tuskit.access: {remote} {method} {path} {status}"
            f" in={received} out={sent} {seconds * 1000:.2f}ms id={ident or '-'}"
            f" protocol={protocol}"
        )

    def __call__(self, records: Sequence[Record], offset: float) -> None:
        text = "\n".join([self._line(r, offset) for r in records]) + "\n"
        stream = self.stream or sys.stderr
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed stderr must not fail requests
