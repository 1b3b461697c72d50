"""Static files as prepared responses: body, gzip body and strong validators, computed once
at start-up so a request costs a dict lookup and never reads the disk or compresses."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
UPPY = STATIC / "vendor" / "uppy"

NO_CACHE = "no-cache"
"""Revalidate every time (cheap with ETag + 304): for files whose URL never changes."""
IMMUTABLE = "public, max-age=31536000, immutable"
"""For files whose URL carries their version, so a new version is a new URL."""

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE
}
_COMPRESSIBLE = ("text/",)
_MIN_GZIP = 512  # below this, gzip's header costs more than it saves


@dataclass(frozen=True)
class Asset:
    """One response body in both encodings, with an ETag for each."""

    body: bytes
    content_type: str
    cache_control: str
    etag: str
    gzipped: bytes | None
    gzip_etag: str

    @classmethod
    def of(cls, body: bytes, content_type: str, cache_control: str) -> Asset:
        tag = hashlib.sha256(body).hexdigest()[:32]
        packed: bytes | None = None
        if content_type.startswith(_COMPRESSIBLE) and len(body) >= _MIN_GZIP:
            # mtime=0: the same bytes give the same gzip (and ETag) on every start.
            packed = gzip.compress(body, compresslevel=9, mtime=0)
            if len(packed) >= len(body):
                packed = None
        # A strong ETag names one representation: the gzip one gets its own.
        return cls(body, content_type, cache_control, f'"{tag}"', packed, f'"{tag}-gz"')


def content_type(path: Path) -> str:
    return _TYPES.get(path.suffix, "application/octet-stream")


def from_file(path: Path, cache_control: str) -> Asset:
    return Asset.of(path.read_bytes(), content_type(path), cache_control)


def uppy_version() -> str:
    """The vendored Uppy's version (written by scripts/refresh-uppy), part of its URLs."""
    return (UPPY / "VERSION").read_text().strip()
