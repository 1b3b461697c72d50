"""Reusable tus headers and params, declared once and refined per method (`.required()`)."""

from __future__ import annotations

from tusgen.dsl import Header, Int64, Param, String

TUS_VERSION_VALUE = "1.0.0"

UPLOAD_ID = Param(
    "id",
    String,
    pattern=r"^[A-Za-z0-9_-]{1,128}$",
    doc="Upload id, as returned in Location.",
    example="4f1c0a4e9d3b4a8f9e2b7c6d5a4f3e2d",
)

TUS_RESUMABLE = Header(
    "Tus-Resumable",
    String,
    enum=[TUS_VERSION_VALUE],
    doc="Protocol version the client speaks; every request but OPTIONS carries it.",
    example=TUS_VERSION_VALUE,
)
TUS_VERSION = Header(
    "Tus-Version", String, doc="Comma-separated versions the server supports.", example="1.0.0"
)
TUS_EXTENSION = Header(
    "Tus-Extension",
    String,
    doc="Comma-separated extensions the server supports.",
    example="creation,termination",
)
TUS_MAX_SIZE = Header(
    "Tus-Max-Size", Int64, minimum=0, doc="Largest upload accepted, in bytes.", example=1073741824
)
TUS_CHECKSUM_ALGORITHM = Header(
    "Tus-Checksum-Algorithm",
    String,
    doc="Comma-separated checksum algorithms the server supports.",
    example="md5,sha1,sha256",
)

UPLOAD_OFFSET = Header(
    "Upload-Offset", Int64, minimum=0, doc="Byte offset within the upload.", example=0
)
UPLOAD_LENGTH = Header(
    "Upload-Length", Int64, minimum=0, doc="Total size of the upload in bytes.", example=1048576
)
UPLOAD_DEFER_LENGTH = Header(
    "Upload-Defer-Length",
    String,
    enum=["1"],
    doc="`1` when the length is not known yet (creation-defer-length).",
    example="1",
)
UPLOAD_METADATA = Header(
    "Upload-Metadata",
    String,
    doc="Comma-separated `key base64value` pairs; keys unique, ASCII, no spaces or commas.",
    example="filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential",
)
UPLOAD_EXPIRES = Header(
    "Upload-Expires",
    String,
    doc="RFC 9110 date after which an unfinished upload may be removed.",
    example="Wed, 25 Jun 2014 16:00:00 GMT",
)
UPLOAD_CHECKSUM = Header(
    "Upload-Checksum",
    String,
    pattern=r"^[A-Za-z0-9-]+ [A-Za-z0-9+/=]*$",
    doc="`algorithm base64digest` of this request's body.",
    example="sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
)
UPLOAD_CONCAT = Header(
    "Upload-Concat",
    String,
    pattern=r"^(partial|final;.*)$",
    doc="`partial`, or `final;` followed by space-separated partial upload URLs.",
    example="final;/files/a /files/b",
)
CONTENT_TYPE = Header("Content-Type", String, doc="Media type of the body.")
CONTENT_LENGTH = Header("Content-Length", Int64, minimum=0, doc="Body size in bytes.")
LOCATION = Header("Location", String, doc="URL of the created upload.")
CACHE_CONTROL = Header("Cache-Control", String, doc="Caching directive.")

OFFSET_STREAM = "application/offset+octet-stream"

# Downloads (GET) and conditional requests.
RANGE = Header("Range", String, doc="Single byte range, e.g. `bytes=0-1023`.")
IF_RANGE = Header("If-Range", String, doc="ETag or date; serve the range only if unchanged.")
IF_MATCH = Header("If-Match", String, doc="Serve only if the ETag matches.")
IF_NONE_MATCH = Header("If-None-Match", String, doc="304 when the ETag matches.")
IF_MODIFIED_SINCE = Header("If-Modified-Since", String, doc="304 when not modified since.")
IF_UNMODIFIED_SINCE = Header("If-Unmodified-Since", String, doc="412 when modified since.")
ETAG = Header("ETag", String, doc="Strong validator of the upload's content.")
LAST_MODIFIED = Header("Last-Modified", String, doc="When the upload last changed.")
ACCEPT_RANGES = Header("Accept-Ranges", String, doc="`bytes`.")
CONTENT_RANGE = Header("Content-Range", String, doc="`bytes start-end/size` or `bytes */size`.")
CONTENT_DISPOSITION = Header(
    "Content-Disposition", String, doc="`inline` or `attachment; filename=...`."
)
X_CONTENT_TYPE_OPTIONS = Header("X-Content-Type-Options", String, doc="`nosniff`.")
TRAILER = Header(
    "Trailer",
    String,
    doc="Names the trailers that follow a chunked body (`Upload-Checksum` for checksum-trailer).",
)
HOST = Header("Host", String, doc="Host the client addressed; used to build `Location`.")
FORWARDED = Header(
    "Forwarded", String, doc="RFC 7239 proxy information; trusted only with --behind-proxy."
)
X_FORWARDED_HOST = Header(
    "X-Forwarded-Host", String, doc="Original host; trusted only with --behind-proxy."
)
X_FORWARDED_PROTO = Header(
    "X-Forwarded-Proto", String, doc="Original scheme; trusted only with --behind-proxy."
)
X_FORWARDED_PREFIX = Header(
    "X-Forwarded-Prefix",
    String,
    doc="Path prefix the proxy strips; trusted only with --behind-proxy.",
)
RETRY_AFTER = Header("Retry-After", Int64, minimum=0, doc="Seconds before retrying.")
