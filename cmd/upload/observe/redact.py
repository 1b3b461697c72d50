"""Keep credentials out of log lines: URLs lose their user info and query."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """`scheme://host:port/path` of `url`: no user, password or query string."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return "<unparsable url>"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
