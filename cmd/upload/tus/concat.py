"""The concatenation extension's header: `Upload-Concat: final;URL URL ...`."""

from __future__ import annotations

from ..web.urls import id_from_url


class ConcatError(ValueError):
    """The `Upload-Concat: final;...` header names something that is not an upload URL."""


def parse_final(header: str, base_path: str, own_host: str | None = None) -> list[str]:
    """Partial upload ids from `final;URL URL ...`: relative URLs, or absolute ones on
    `own_host` (the host this request addressed)."""
    if not header.startswith("final;"):
        raise ConcatError("Upload-Concat must be `partial` or `final;URL ...`")
    urls = header[len("final;") :].split()
    if not urls:
        raise ConcatError("Upload-Concat final lists no partial uploads")
    ids: list[str] = []
    for url in urls:
        upload_id = id_from_url(url, base_path, own_host)
        if upload_id is None:
            raise ConcatError(f"{url!r} is not an upload URL of this server")
        ids.append(upload_id)
    return ids
