"""The JSON every hook and broker gets, in tusd's shapes, so tusd receivers work as is.

A hook request is `{"Type", "EventID", "Time", "Event": {"Upload", "HTTPRequest",
"Protocol", ...}}`; `EventID` (unique per event) and `Protocol` are ours, tusd receivers
ignore them. Post-* events are stored before delivery, so their `Header` leaves out
credentials (Authorization, Cookie, ...): blocking hooks, which are never stored, get
every header.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from tuskit.persist.model import UploadInfo

from ..engine import NewUpload, RequestContext

JSON = dict[str, Any]

CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "x-amz-security-token",
    }
)


def new_event_id() -> str:
    return uuid.uuid4().hex


def upload_json(upload: UploadInfo | NewUpload, offset: int | None = None) -> JSON:
    """tusd's FileInfo."""
    partials = upload.partials
    return {
        "ID": upload.id,
        "Size": upload.length if upload.length is not None else 0,
        "SizeIsDeferred": upload.length is None,
        "Offset": offset if offset is not None else getattr(upload, "offset", 0),
        "MetaData": dict(upload.metadata),
        "IsPartial": upload.is_partial,
        "IsFinal": partials is not None,
        "PartialUploads": list(partials) if partials is not None else None,
        "Storage": dict(upload.storage) or None,
    }


def canonical(name: str) -> str:
    """Go's canonical header form (`upload-length` -> `Upload-Length`), as tusd sends."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def request_json(request: RequestContext | None, *, credentials: bool) -> JSON:
    """tusd's HTTPRequest; without `credentials`, headers that carry them are left out."""
    if request is None:
        return {"Method": "", "URI": "", "RemoteAddr": "", "Header": {}}
    header: dict[str, list[str]] = {}
    for name, value in request.headers:
        if not credentials and name.lower() in CREDENTIAL_HEADERS:
            continue
        header.setdefault(canonical(name), []).append(value)
    return {
        "Method": request.method,
        "URI": request.uri,
        "RemoteAddr": request.remote_addr,
        "Header": header,
    }


def hook_request(
    hook: str,
    upload: UploadInfo | NewUpload,
    request: RequestContext | None,
    *,
    at: float,
    credentials: bool,
    event_id: str | None = None,
    extra: JSON | None = None,
) -> JSON:
    """One hook request body (`extra` adds fields to `Event`, e.g. pre-access's Access)."""
    event: JSON = {
        "Upload": upload_json(upload),
        "HTTPRequest": request_json(request, credentials=credentials),
        "Protocol": request.protocol if request is not None else "",
    }
    if extra:
        event.update(extra)
    return {
        "Type": hook,
        "EventID": event_id or new_event_id(),
        "Time": datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(),
        "Event": event,
    }
