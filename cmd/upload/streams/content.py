"""What a stream keeps of its request and how it is served back: the media type (only
types safe to render inline are served as such), and the descriptor's fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tuskit.persist.model import UploadInfo

from ..web import download

_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([A-Za-z0-9._:+-]{1,40})\"?", re.IGNORECASE)
OCTET_STREAM = "application/octet-stream"


def stream_metadata(
    content_type: str | None, queue: str | None = None
) -> tuple[tuple[str, str], ...]:
    """The upload metadata of a new stream: its declared type (`filetype`, the key every
    protocol's download serves) and its queue."""
    pairs: list[tuple[str, str]] = []
    if content_type is not None and content_type.strip():
        pairs.append(("filetype", content_type.strip()))
    if queue is not None:
        pairs.append(("queue", queue))
    return tuple(pairs)


def served_headers(info: UploadInfo) -> tuple[str, str | None]:
    """(Content-Type, Content-Disposition) a GET answers with.

    The declared type is served when its media type is on the shared inline-safe list
    (text/plain keeps a well-formed charset); anything else, html, svg and xhtml
    included, is `application/octet-stream` with `Content-Disposition: attachment`.
    """
    declared = dict(info.metadata).get("filetype", "")
    media = declared.split(";", 1)[0].strip().lower()
    bare = info.replace(metadata=(*_without_filetype(info.metadata), ("filetype", media)))
    content_type, disposition = download.content_headers(bare)
    if content_type == OCTET_STREAM:
        return content_type, disposition
    charset = _CHARSET.search(declared)
    if charset is not None and content_type.startswith("text/"):
        content_type = f"{content_type}; charset={charset.group(1).lower()}"
    return content_type, None if disposition == "inline" else disposition


def _without_filetype(pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in pairs if k != "filetype")


def rfc3339(epoch: float) -> str:
    """`2017-06-02T12:27:05.123Z`: UTC, milliseconds."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
