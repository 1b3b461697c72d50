"""Upload URLs: `Location` as the client sees it (also behind a proxy), and ids from URLs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_FORWARDED_PAIR = re.compile(r'(?i)\b(host|proto)=("[^"]*"|[^;,\s]*)')
_HOST = re.compile(r"^[A-Za-z0-9.\-\[\]:]{1,255}$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    """What the client addressed: headers the create method declares."""

    host: str | None
    forwarded: str | None = None
    x_forwarded_host: str | None = None
    x_forwarded_proto: str | None = None
    x_forwarded_prefix: str | None = None


def _clean_host(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value if _HOST.match(value) else None


def _clean_proto(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    return value if value in ("http", "https") else None


def _clean_prefix(value: str | None) -> str:
    if not value:
        return ""
    value = "/" + value.strip().strip("/")
    return "" if value == "/" or not re.match(r"^[A-Za-z0-9/._~-]+$", value) else value


def external_base(origin: RequestOrigin, base_path: str, *, behind_proxy: bool) -> str:
    """`scheme://host/base/` for `Location`. Proxy headers count only when trusted.

    Untrusted or malformed values fall back to the Host header; nothing a client sends
    reaches `Location` unless it passes the same strict host/scheme checks.
    """
    scheme = "http"
    host = _clean_host(origin.host) or "localhost"
    prefix = ""
    if behind_proxy:
        if origin.forwarded:
            first = origin.forwarded.split(",")[0]
            for name, raw in _FORWARDED_PAIR.findall(first):
                value = raw.strip('"')
                if name.lower() == "host":
                    host = _clean_host(value) or host
                else:
                    scheme = _clean_proto(value) or scheme
        else:
            forwarded_host = (
                origin.x_forwarded_host.split(",")[0] if origin.x_forwarded_host else None
            )
            host = _clean_host(forwarded_host) or host
            proto = origin.x_forwarded_proto.split(",")[0] if origin.x_forwarded_proto else None
            scheme = _clean_proto(proto) or scheme
        prefix = _clean_prefix(origin.x_forwarded_prefix)
    return f"{scheme}://{host}{prefix}{base_path}"


def id_from_url(url: str, base_path: str, own_host: str | None = None) -> str | None:
    """The upload id a partial-upload URL names, or None when it is not one of ours.

    Accepts a relative path (`/files/ID`, also proxy-prefixed) and an absolute URL whose
    host is `own_host` (the host this request addressed, as `Location` names it); any
    other host (`http://evil.example/files/ID`, `//evil.example/...`) is refused, so a
    request cannot make this server treat another server's URL as a local upload.
    """
    parts = urlsplit(url.strip())
    if parts.netloc and (own_host is None or parts.netloc.lower() != own_host.lower()):
        return None
    if parts.scheme and parts.scheme.lower() not in ("http", "https"):
        return None
    path = parts.path
    if not path:
        return None
    base = base_path.rstrip("/") + "/"
    position = path.rfind(base)
    candidate = path[position + len(base) :] if position >= 0 else path.rsplit("/", 1)[-1]
    candidate = candidate.rstrip("/")
    return candidate if _ID.match(candidate) else None
