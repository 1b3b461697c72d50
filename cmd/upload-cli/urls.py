"""URL checks done before any request, so a typo is a usage error, not a network one."""

from __future__ import annotations

from urllib.parse import urlsplit

from .exits import USAGE, Failure


def checked(url: str) -> str:
    """`url` if it is an absolute http(s) URL with a host, else a usage Failure."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Failure(f"bad URL {url!r}: expected http://host[:port]/path", USAGE)
    return url


def split_upload_url(url: str) -> tuple[str, str]:
    """`http://h/files/abc` -> (`http://h/files`, `abc`): the generated clients take a base
    URL and an id."""
    base, _, last = url.rstrip("/").rpartition("/")
    if not last or "://" not in base:
        raise Failure(f"bad upload URL {url!r}", USAGE)
    return base, last
