"""The page itself: static HTML with the server's configuration in a JSON data block.

Every URL the page uses is relative to the page, so it works behind a proxy that adds a
path prefix and under an embedding host's `root_path` without knowing either. A JSON
block (`<script type="application/json">`) is data, not script: the Content-Security-Policy
needs no `'unsafe-inline'` for it.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass

from .assets import STATIC


@dataclass(frozen=True)
class PageConfig:
    """What the page needs from the server. Paths are absolute, with one slash each side."""

    page_path: str
    tus_path: str | None
    ietf_path: str | None
    max_size: int | None


def relative(target: str, page: str) -> str:
    """`target` (a folder path like /files/) as a URL relative to a page at `page`."""
    rel = posixpath.relpath(target, page)
    return "./" if rel == "." else rel + "/"


def config_json(config: PageConfig, uppy_version: str) -> str:
    """The data block's text; `<`, `>` and `&` escaped so no value can end the block."""

    def rel(path: str | None) -> str | None:
        return None if path is None else relative(path, config.page_path)

    data = {
        "tus": rel(config.tus_path),
        "ietf": rel(config.ietf_path),
        "maxSize": config.max_size,
        "uppy": uppy_version,
    }
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(config: PageConfig, uppy_version: str) -> bytes:
    template = (STATIC / "index.html").read_text()
    html = template.replace("{{uppy}}", f"uppy-{uppy_version}").replace(
        "{{config}}", config_json(config, uppy_version)
    )
    return html.encode()
