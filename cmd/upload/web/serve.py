"""A download of an upload as plain data, whatever the protocol: which status, which
headers, which bytes. Each adapter turns it into its design's result (or its 412/416
errors); the rules themselves live in `download` (Range, conditional requests, safe
`Content-Type`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from tuskit.persist.model import UploadInfo

from ..engine import Engine
from . import download


@dataclass(frozen=True, slots=True)
class Download:
    status: int
    """200, 206, 304, or 412 / 416 for the adapter's errors."""
    size: int
    etag: str
    last_modified: str
    content_type: str = ""
    content_disposition: str = ""
    start: int = 0
    end: int = 0
    body: AsyncIterator[bytes] | None = None

    @property
    def content_range(self) -> str | None:
        if self.status == 206:
            return f"bytes {self.start}-{self.end - 1}/{self.size}"
        if self.status == 416:
            return f"bytes */{self.size}"
        return None


def plan(engine: Engine, info: UploadInfo, conditions: download.Conditions) -> Download:
    """What to answer for a GET of `info`: a snapshot `[0, offset)` of append-only bytes."""
    engine.check_readable(info)
    v = download.validators(info)
    size = info.offset
    planned = download.plan_download(v, size, conditions)
    if planned.status in (304, 412, 416):
        return Download(planned.status, size, v.etag, v.last_modified)
    content_type, disposition = download.content_headers(info)
    return Download(
        planned.status,
        size,
        v.etag,
        v.last_modified,
        content_type,
        disposition,
        planned.start,
        planned.end,
        engine.read(info, planned.start, planned.end),
    )
