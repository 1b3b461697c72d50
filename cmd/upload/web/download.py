"""GET semantics over stored bytes (RFC 9110): validators, conditional requests, a
single Range, and safe content headers. Every protocol's download uses these.

Pure functions: the adapter snapshots the upload's offset, asks `plan_download` what
to send, then streams exactly that span from the engine.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields
from urllib.parse import quote

from tuskit.persist.model import UploadInfo

from .dates import http_date, parse_http_date

# Types a browser may render inline without risk of script execution.
INLINE_SAFE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/bmp",
        "image/webp",
        "image/avif",
        "audio/wave",
        "audio/wav",
        "audio/x-wav",
        "audio/webm",
        "audio/ogg",
        "audio/mpeg",
        "video/webm",
        "video/ogg",
        "video/mp4",
        "text/plain",
        "application/pdf",
    }
)
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True, slots=True)
class Validators:
    etag: str
    last_modified: str
    last_modified_ts: float


@dataclass(frozen=True, slots=True)
class Conditions:
    range: str | None = None
    if_range: str | None = None
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None
    if_unmodified_since: str | None = None

    @classmethod
    def of(cls, request: object) -> Conditions:
        """The conditional headers a generated payload carries (a HEAD's has no Range):
        every protocol names them alike, so one place reads them."""
        return cls(**{f.name: getattr(request, f.name, None) for f in fields(cls)})


@dataclass(frozen=True, slots=True)
class Plan:
    """What to answer: 200/206 with [start, end), 304, 412 or 416."""

    status: int
    start: int = 0
    end: int = 0
    size: int = 0


def validators(info: UploadInfo) -> Validators:
    """Strong ETag of the current content: append-only bytes change only with the offset."""
    tag = hashlib.sha256(f"{info.id}:{info.created_at!r}:{info.offset}".encode()).hexdigest()
    seconds = int(info.updated_at)
    return Validators(f'"{tag[:32]}"', http_date(seconds), float(seconds))


def _etag_list_matches(header: str, etag: str) -> bool:
    candidates = [c.strip() for c in header.split(",")]
    return "*" in candidates or etag in candidates or f"W/{etag}" in candidates


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(start, end) for one satisfiable range; None to ignore; 'unsatisfiable'."""
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # multiple ranges or another unit: serve the whole body
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first != "" and last != "" and int(last) < int(first):
        return None  # invalid (RFC 9110 14.1.1): ignored, whatever the body's size
    if size == 0:
        return "unsatisfiable"  # no byte range of an empty body exists
    if first == "":
        suffix = int(last)
        if suffix == 0:
            return "unsatisfiable"
        return (max(0, size - suffix), size)
    start = int(first)
    if start >= size:
        return "unsatisfiable"
    end = size if last == "" else min(size, int(last) + 1)
    return (start, end)


def plan_download(v: Validators, size: int, c: Conditions) -> Plan:
    """RFC 9110 section 13.2.2 order: If-Match, If-Unmodified-Since, If-None-Match,
    If-Modified-Since, then Range with If-Range."""
    if c.if_match is not None:
        if not _etag_list_matches(c.if_match, v.etag) or c.if_match.strip().startswith("W/"):
            return Plan(412, size=size)
    elif c.if_unmodified_since is not None:
        since = parse_http_date(c.if_unmodified_since)
        if since is not None and v.last_modified_ts > since:
            return Plan(412, size=size)
    if c.if_none_match is not None:
        if _etag_list_matches(c.if_none_match, v.etag):
            return Plan(304, size=size)
    elif c.if_modified_since is not None:
        since = parse_http_date(c.if_modified_since)
        if since is not None and v.last_modified_ts <= since:
            return Plan(304, size=size)
    if c.range is not None and _if_range_holds(c.if_range, v):
        parsed = _parse_range(c.range, size)
        if parsed == "unsatisfiable":
            return Plan(416, size=size)
        if isinstance(parsed, tuple):
            return Plan(206, parsed[0], parsed[1], size)
    return Plan(200, 0, size, size)


def _if_range_holds(if_range: str | None, v: Validators) -> bool:
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith('"') or value.startswith("W/"):
        return value == v.etag
    since = parse_http_date(value)
    return since is not None and since == v.last_modified_ts


def content_headers(info: UploadInfo) -> tuple[str, str]:
    """(Content-Type, Content-Disposition) from metadata, safe whatever the client sent.

    `filetype` is used only when it is a well-formed media type on the inline-safe
    allow-list; anything else is served as an attachment of application/octet-stream.
    """
    metadata = dict(info.metadata)
    declared = metadata.get("filetype", "").strip().lower()
    media_type = declared if _MEDIA_TYPE.match(declared) else ""
    inline = media_type in INLINE_SAFE_TYPES
    content_type = media_type if inline else "application/octet-stream"
    filename = metadata.get("filename") or metadata.get("name")
    disposition = "inline" if inline else "attachment"
    if filename:
        disposition += _filename_params(filename)
    return content_type, disposition


def _filename_params(filename: str) -> str:
    """RFC 6266: an ASCII fallback plus RFC 5987 `filename*` for the real name."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "download"
    fallback = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"%;' else "_" for ch in name)
    encoded = quote(name, safe="")
    return f"; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
