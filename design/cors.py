"""Browser access: tus-js-client and Uppy run on other origins and read the tus and
IETF-draft headers."""

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
    # the IETF resumable-upload draft (design/ietf.py) and RFC 9530 digests
    "Upload-Complete",
    "Upload-Draft-Interop-Version",
    "Content-Disposition",
    "Content-Digest",
    "Repr-Digest",
    "Want-Repr-Digest",
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
    "Upload-Complete",
    "Upload-Limit",
    "Upload-Draft-Interop-Version",
    "Repr-Digest",
    "Content-Location",
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
