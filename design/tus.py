"""The tus 1.0.0 service: core protocol plus every extension, as HTTP methods.

Statuses follow the protocol (https://tus.io/protocols/resumable-upload, 1.0.0):
412 for an unsupported `Tus-Resumable`, 415 for a PATCH without
`application/offset+octet-stream`, 409 with the current `Upload-Offset`, 460 for a
checksum mismatch, 423 when the upload stays locked past the lock timeout.
"""

from __future__ import annotations

from tusgen.dsl import API, STREAM, Service

from .headers import (
    ACCEPT_RANGES,
    CACHE_CONTROL,
    CONTENT_DISPOSITION,
    CONTENT_LENGTH,
    CONTENT_RANGE,
    CONTENT_TYPE,
    ETAG,
    FORWARDED,
    HOST,
    IF_MATCH,
    IF_MODIFIED_SINCE,
    IF_NONE_MATCH,
    IF_RANGE,
    IF_UNMODIFIED_SINCE,
    LAST_MODIFIED,
    LOCATION,
    OFFSET_STREAM,
    RANGE,
    RETRY_AFTER,
    TRAILER,
    TUS_CHECKSUM_ALGORITHM,
    TUS_EXTENSION,
    TUS_MAX_SIZE,
    TUS_RESUMABLE,
    TUS_VERSION,
    TUS_VERSION_VALUE,
    UPLOAD_CHECKSUM,
    UPLOAD_CONCAT,
    UPLOAD_DEFER_LENGTH,
    UPLOAD_EXPIRES,
    UPLOAD_ID,
    UPLOAD_LENGTH,
    UPLOAD_METADATA,
    UPLOAD_OFFSET,
    X_CONTENT_TYPE_OPTIONS,
    X_FORWARDED_HOST,
    X_FORWARDED_PREFIX,
    X_FORWARDED_PROTO,
)

# Every tus request but OPTIONS must carry a version we speak; anything else is 412.
VERSIONED = TUS_RESUMABLE.required().on_invalid("UnsupportedVersion")
UPLOAD = UPLOAD_ID.on_invalid("NotFound")


def declare_tus(api: API) -> Service:
    """Add the tus service to `api` and return it."""
    with api.service("tus", path="/files", doc="Resumable uploads, tus protocol 1.0.0.") as svc:
        svc.method_override("X-HTTP-Method-Override")
        svc.response_header(TUS_RESUMABLE.const(TUS_VERSION_VALUE), skip=["options"])

        svc.error("BadRequest", 400, doc="A header or the metadata is malformed.")
        svc.error("NotFound", 404, doc="No upload with this id ever existed.")
        svc.error("Gone", 410, doc="The upload was terminated or expired.")
        svc.error(
            "UnsupportedVersion",
            412,
            headers=[TUS_VERSION.required().default(TUS_VERSION_VALUE)],
            doc="`Tus-Resumable` is missing or names a version the server does not speak.",
        )
        svc.error(
            "Locked",
            423,
            doc="Another request holds the upload and did not let go within the lock timeout.",
        )
        svc.error("Internal", 500, doc="Unexpected server failure; nothing stored was lost.")
        svc.error(
            "InsufficientStorage",
            507,
            headers=[RETRY_AFTER],
            doc="The server's storage is full; nothing of this request was kept. Retry later.",
        )
        svc.error(
            "Unavailable",
            503,
            headers=[RETRY_AFTER],
            doc="The server is shutting down or the upload was handed to another request; retry.",
        )

        with svc.method(
            "options", http="OPTIONS /", doc="Discover version, extensions, limits."
        ) as m:
            m.result(
                204,
                TUS_VERSION.required(),
                TUS_EXTENSION,
                TUS_MAX_SIZE,
                TUS_CHECKSUM_ALGORITHM,
            )

        with svc.method(
            "options_upload", http="OPTIONS /{id}", doc="Discovery on an upload URL."
        ) as m:
            m.payload(UPLOAD_ID)
            m.result(
                204,
                TUS_VERSION.required(),
                TUS_EXTENSION,
                TUS_MAX_SIZE,
                TUS_CHECKSUM_ALGORITHM,
            )

        with svc.method(
            "create",
            http="POST /",
            doc="Create an upload (creation), optionally with its first bytes "
            "(creation-with-upload), a deferred length, or as a concatenation.",
        ) as m:
            m.payload(
                VERSIONED,
                UPLOAD_LENGTH,
                UPLOAD_DEFER_LENGTH,
                UPLOAD_METADATA,
                UPLOAD_CONCAT,
                UPLOAD_CHECKSUM,
                CONTENT_TYPE,
                CONTENT_LENGTH,
                TRAILER,
                HOST,
                FORWARDED,
                X_FORWARDED_HOST,
                X_FORWARDED_PROTO,
                X_FORWARDED_PREFIX,
            )
            m.body(STREAM, trailers=[UPLOAD_CHECKSUM])
            m.result(201, LOCATION.required(), UPLOAD_OFFSET, UPLOAD_EXPIRES)
            m.error(
                "RequestTooLarge",
                413,
                doc="`Upload-Length` or the body exceeds `Tus-Max-Size`.",
            )
            m.error(
                "UnsupportedMediaType",
                415,
                doc="A body was sent without `application/offset+octet-stream`.",
            )
            m.error(
                "ChecksumMismatch",
                460,
                headers=[UPLOAD_OFFSET],
                doc="The body does not match `Upload-Checksum`; it was discarded.",
            )

        with svc.method(
            "head", http="HEAD /{id}", doc="Current offset and state of an upload."
        ) as m:
            m.payload(UPLOAD, VERSIONED)
            m.result(
                200,
                UPLOAD_OFFSET,
                UPLOAD_LENGTH,
                UPLOAD_DEFER_LENGTH,
                UPLOAD_METADATA,
                UPLOAD_CONCAT,
                UPLOAD_EXPIRES,
                CACHE_CONTROL.const("no-store"),
            )

        with svc.method("patch", http="PATCH /{id}", doc="Append bytes at `Upload-Offset`.") as m:
            m.payload(
                UPLOAD,
                VERSIONED,
                UPLOAD_OFFSET.required(),
                CONTENT_TYPE.required().enum(OFFSET_STREAM).on_invalid("UnsupportedMediaType"),
                UPLOAD_LENGTH,
                UPLOAD_CHECKSUM,
                CONTENT_LENGTH,
                TRAILER,
            )
            m.body(STREAM, trailers=[UPLOAD_CHECKSUM])
            m.result(204, UPLOAD_OFFSET.required(), UPLOAD_EXPIRES)
            m.error(
                "FinalUpload",
                403,
                doc="PATCH on a final upload of a concatenation is not allowed.",
            )
            m.error(
                "OffsetMismatch",
                409,
                headers=[UPLOAD_OFFSET.required()],
                doc="`Upload-Offset` differs from the upload's offset, given in the header.",
            )
            m.error("RequestTooLarge", 413, doc="The body would pass `Upload-Length`.")
            m.error(
                "UnsupportedMediaType",
                415,
                doc="`Content-Type` is not `application/offset+octet-stream`.",
            )
            m.error(
                "ChecksumMismatch",
                460,
                headers=[UPLOAD_OFFSET],
                doc="The body does not match `Upload-Checksum`; it was discarded.",
            )

        with svc.method(
            "delete", http="DELETE /{id}", doc="Terminate an upload (termination)."
        ) as m:
            m.payload(UPLOAD, VERSIONED)
            m.result(204)

        with svc.method("get", http="GET /{id}", doc="Download the uploaded bytes.") as m:
            m.payload(
                UPLOAD,
                TUS_RESUMABLE,
                RANGE,
                IF_RANGE,
                IF_MATCH,
                IF_NONE_MATCH,
                IF_MODIFIED_SINCE,
                IF_UNMODIFIED_SINCE,
            )
            download_headers = (
                CONTENT_TYPE,
                CONTENT_DISPOSITION,
                CONTENT_LENGTH,
                ETAG,
                LAST_MODIFIED,
                ACCEPT_RANGES,
                CACHE_CONTROL,
                X_CONTENT_TYPE_OPTIONS,
            )
            m.result(200, *download_headers, body=STREAM)
            m.result(206, *download_headers, CONTENT_RANGE.required(), body=STREAM)
            m.result(304, ETAG, LAST_MODIFIED)
            m.error(
                "PreconditionFailed",
                412,
                doc="`If-Match` / `If-Unmodified-Since` did not hold.",
            )
            m.error(
                "RangeNotSatisfiable",
                416,
                headers=[CONTENT_RANGE.required()],
                doc="The range lies outside the stored bytes; `Content-Range: bytes */size`.",
            )
            m.error(
                "Incomplete",
                409,
                headers=[UPLOAD_OFFSET],
                doc="The store serves an upload only once it is complete (object storage).",
            )
    return svc
