"""Browser access: tus-js-client and Uppy run on other origins and read tus headers."""

from __future__ import annotations

from tusgen.dsl import API

TUS_REQUEST_HEADERS = [
    "Authorization",
    "Origin",
    "X-Requested-With",
    "X-Request-ID",
    "X-HTTP-Method-Override",
    "Content-Type",
    "Upload-Length",
    "Upload-Offset",
    "Tus-Resumable",
    "Upload-Metadata",
    "Upload-Defer-Length",
    "Upload-Concat",
    "Upload-Checksum",
    "Range",
    "If-Range",
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
    "Content-Digest",  # session chunks (design/sessions.py)
    "Content-MD5",
]

TUS_EXPOSED_HEADERS = [
    "Location",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Defer-Length",
    "Upload-Concat",
    "Upload-Expires",
    "Upload-Checksum",
    "Tus-Version",
    "Tus-Resumable",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    "Content-Range",
    "Content-Disposition",
    "ETag",
    "Last-Modified",
    "Retry-After",
]


def declare_cors(api: API) -> None:
    """Permissive by default for the tus headers; operators narrow origins at run time."""
    api.cors(
        origins=["*"],
        methods=["POST", "GET", "HEAD", "PATCH", "PUT", "DELETE", "OPTIONS"],
        allow_headers=TUS_REQUEST_HEADERS,
        expose_headers=TUS_EXPOSED_HEADERS,
        max_age=86400,
        credentials=False,
    )
