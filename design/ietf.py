"""The IETF "Resumable Uploads for HTTP" draft (draft-ietf-httpbis-resumable-upload), as
HTTP methods: interop version 9 (the current text) and 6 (drafts -04/-05), chosen per
request by `Upload-Draft-Interop-Version` (docs/ietf.md says what differs and how 5, 7 and 8
are served).

The draft's own fields are RFC 9651 structured fields whose invalid values must be
ignored, not refused; they are declared as strings here and parsed by the adapter with a
structured-field parser (`cmd/upload/ietf/fields.py`). Errors are RFC 9457 problem details
with the draft's problem types; 104 interim responses are sent from the service through
`body.inform`.
"""

from __future__ import annotations

from tusgen.dsl import API, STREAM, Field, Header, Int64, ListOf, Param, Service, String

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
    RANGE,
    RETRY_AFTER,
    UPLOAD_ID,
    UPLOAD_METADATA,
    X_CONTENT_TYPE_OPTIONS,
    X_FORWARDED_HOST,
    X_FORWARDED_PREFIX,
    X_FORWARDED_PROTO,
)

PROBLEM_TYPES = "https://iana.org/assignments/http-problem-types"

INTEROP_VERSION = Header(
    "Upload-Draft-Interop-Version",
    String,
    doc="Interop version of the draft the client speaks (9 or 6; 5, 7, 8 are served as the "
    "nearest). Without it a request is not a resumable-upload request.",
    example="9",
)
UPLOAD_COMPLETE = Header(
    "Upload-Complete",
    String,
    doc="Structured boolean: `?1` when this request's content ends the upload.",
    example="?1",
)
UPLOAD_OFFSET_IN = Header(
    "Upload-Offset",
    String,
    doc="Structured integer: where this request's content starts in the upload.",
    example="0",
)
UPLOAD_LENGTH_IN = Header(
    "Upload-Length",
    String,
    doc="Structured integer: the length of the whole representation, when known.",
    example="1048576",
)
UPLOAD_OFFSET = Header(
    "Upload-Offset", Int64, minimum=0, doc="Bytes of the upload stored and recorded.", example=0
)
UPLOAD_LENGTH = Header(
    "Upload-Length", Int64, minimum=0, doc="The length of the whole representation.", example=0
)
UPLOAD_COMPLETE_OUT = Header(
    "Upload-Complete", String, doc="`?1` once the upload is complete, else `?0`.", example="?0"
)
UPLOAD_LIMIT = Header(
    "Upload-Limit",
    String,
    doc="Structured dictionary of limits: `max-size`, `max-age` (9) or `expires` (6), or "
    "`min-size=0` when there are none.",
    example="max-size=1073741824, max-age=86400",
)
CONTENT_DIGEST = Header(
    "Content-Digest",
    String,
    doc="RFC 9530 digest of this request's content (sha-256, sha-512); on a mismatch the "
    "content is not appended.",
    example="sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",
)
REPR_DIGEST = Header(
    "Repr-Digest",
    String,
    doc="RFC 9530 digest of the whole representation: at creation, checked once the upload "
    "completes; in a response, the digest the server computed.",
    example="sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",
)
WANT_REPR_DIGEST = Header(
    "Want-Repr-Digest",
    String,
    doc="RFC 9530 preferences: the completing response carries `Repr-Digest`.",
    example="sha-256=10",
)
CONTENT_LOCATION = Header("Content-Location", String, doc="Where the stored file is served.")
NAME = Param(
    "id",
    String,
    pattern=r"^[^/\x00-\x1f\x7f]{1,255}$",
    doc="The file's name (`curl -T file URL/` sends it); the upload gets a new id.",
    example="photo.jpg",
)

_CREATION_IN = (
    INTEROP_VERSION,
    UPLOAD_COMPLETE,
    UPLOAD_LENGTH_IN,
    UPLOAD_OFFSET_IN,
    UPLOAD_METADATA,
    CONTENT_TYPE,
    CONTENT_LENGTH,
    CONTENT_DISPOSITION,
    CONTENT_DIGEST,
    REPR_DIGEST,
    WANT_REPR_DIGEST,
    HOST,
    FORWARDED,
    X_FORWARDED_HOST,
    X_FORWARDED_PROTO,
    X_FORWARDED_PREFIX,
)
_STATE_OUT = (UPLOAD_COMPLETE_OUT, UPLOAD_OFFSET, UPLOAD_LENGTH, UPLOAD_LIMIT)
_ENDED_OUT = (LOCATION, *_STATE_OUT, REPR_DIGEST)
_ERROR_STATE = [UPLOAD_COMPLETE_OUT.default("?0"), UPLOAD_OFFSET]


def declare_ietf(api: API) -> Service:
    """Add the resumable-uploads (IETF draft) service to `api` and return it."""
    with api.service(
        "ietf",
        path="/uploads",
        doc="Resumable Uploads for HTTP (IETF draft), interop versions 9 and 6.",
    ) as svc:
        svc.error_format("problem")
        svc.method_override("X-HTTP-Method-Override")

        svc.error(
            "BadRequest",
            400,
            headers=_ERROR_STATE,
            doc="A header is malformed or the request is not one the draft allows.",
        )
        svc.error(
            "UnsupportedInteropVersion",
            400,
            code="unsupported_interop_version",
            title="unsupported draft interop version",
            fields=[Field("supported-versions", ListOf(Int64), doc="The versions served.")],
            doc="`Upload-Draft-Interop-Version` names a version this server does not speak "
            "(3, 4, 10, ...); `supported-versions` lists the ones it does.",
        )
        svc.error(
            "InconsistentLength",
            400,
            code="inconsistent_upload_length",
            problem_type=PROBLEM_TYPES + "#inconsistent-upload-length",
            title="inconsistent length values for upload",
            headers=_ERROR_STATE,
            doc="`Upload-Length`, `Content-Length` with `Upload-Complete: ?1`, or the content "
            "disagree about the upload's length (an upload whose content passed its length "
            "is removed).",
        )
        svc.error(
            "ContentDigestMismatch",
            400,
            code="content_digest_mismatch",
            title="content does not match Content-Digest",
            headers=_ERROR_STATE,
            doc="The content does not match `Content-Digest`; none of it was appended.",
        )
        svc.error(
            "ReprDigestMismatch",
            400,
            code="repr_digest_mismatch",
            title="representation does not match Repr-Digest",
            headers=[UPLOAD_COMPLETE_OUT.default("?1"), UPLOAD_OFFSET, REPR_DIGEST],
            doc="The complete upload does not match the `Repr-Digest` given at creation; the "
            "upload failed and was removed. `Repr-Digest` is what the server computed.",
        )
        svc.error("NotFound", 404, doc="No upload with this id ever existed.")
        svc.error(
            "TooLarge",
            413,
            headers=[UPLOAD_COMPLETE_OUT.default("?0"), UPLOAD_LIMIT],
            doc="The length or the content passes `max-size`; `Upload-Limit` says the limits.",
        )
        svc.error("Gone", 410, doc="The upload was cancelled, failed or expired.")
        svc.error(
            "Locked",
            423,
            headers=_ERROR_STATE,
            doc="Another request holds the upload and did not let go within the lock timeout.",
        )
        svc.error("Internal", 500, doc="Unexpected server failure; nothing stored was lost.")
        svc.error(
            "Unavailable",
            503,
            headers=[*_ERROR_STATE, RETRY_AFTER],
            doc="The server is shutting down or the upload was handed to another request; "
            "resume from `Upload-Offset`.",
        )

        with svc.method(
            "options", http="OPTIONS /", doc="Limits of uploads created here (`Upload-Limit`)."
        ) as m:
            m.payload(INTEROP_VERSION)
            m.result(204, UPLOAD_LIMIT.required())

        with svc.method(
            "options_upload", http="OPTIONS /{id}", doc="Limits, asked on an upload's URL."
        ) as m:
            m.payload(UPLOAD_ID, INTEROP_VERSION)
            m.result(204, UPLOAD_LIMIT.required())

        with svc.method(
            "create",
            http="POST /",
            doc="Upload creation: `Upload-Complete: ?1` with the whole representation (a 104 "
            "carries the upload's URL first, so an interrupted request can resume), or `?0` "
            "with a first part or none. Without `Upload-Draft-Interop-Version` this is a "
            "conventional upload (stored whole, not resumable).",
        ) as m:
            m.payload(*_CREATION_IN)
            m.body(STREAM)
            m.result(201, *_ENDED_OUT, CONTENT_LOCATION)

        with svc.method(
            "put",
            http="PUT /{id}",
            doc="Upload creation naming the file (`curl -T photo.jpg .../uploads/`): as POST, "
            "with the name as the file's name; the upload gets its own URL.",
        ) as m:
            m.payload(NAME, *_CREATION_IN)
            m.body(STREAM)
            m.result(201, *_ENDED_OUT, CONTENT_LOCATION)

        with svc.method(
            "head",
            http="HEAD /{id}",
            doc="Offset retrieval: `Upload-Offset`, `Upload-Complete`, `Upload-Length` when "
            "known, `Upload-Limit`; never cached.",
        ) as m:
            m.payload(
                UPLOAD_ID, INTEROP_VERSION, UPLOAD_COMPLETE, UPLOAD_OFFSET_IN, UPLOAD_LENGTH_IN
            )
            m.result(204, *_STATE_OUT, CACHE_CONTROL.const("no-store"))

        with svc.method(
            "append",
            http="PATCH /{id}",
            doc="Upload append: `application/partial-upload` content at `Upload-Offset`; "
            "`Upload-Complete: ?1` ends the upload.",
        ) as m:
            m.payload(
                UPLOAD_ID,
                INTEROP_VERSION,
                UPLOAD_COMPLETE,
                UPLOAD_OFFSET_IN,
                UPLOAD_LENGTH_IN,
                CONTENT_TYPE,
                CONTENT_LENGTH,
                CONTENT_DIGEST,
                WANT_REPR_DIGEST,
                HOST,
                FORWARDED,
                X_FORWARDED_HOST,
                X_FORWARDED_PROTO,
                X_FORWARDED_PREFIX,
            )
            m.body(STREAM)
            m.result(201, *_ENDED_OUT, CONTENT_LOCATION)
            m.result(204, *_STATE_OUT)
            m.error(
                "CompletedUpload",
                400,
                code="completed_upload",
                problem_type=PROBLEM_TYPES + "#completed-upload",
                title="upload is already completed",
                headers=_ERROR_STATE,
                doc="The upload is complete and takes no more content.",
            )
            m.error(
                "MismatchingOffset",
                409,
                code="mismatching_upload_offset",
                problem_type=PROBLEM_TYPES + "#mismatching-upload-offset",
                title="offset from request does not match offset of resource",
                headers=[UPLOAD_COMPLETE_OUT.default("?0"), UPLOAD_OFFSET.required()],
                fields=[
                    Field("expected-offset", Int64, doc="The upload's offset."),
                    Field("provided-offset", Int64, doc="The request's `Upload-Offset`."),
                ],
                doc="`Upload-Offset` is not the upload's offset, given in the header.",
            )
            m.error(
                "UnsupportedMediaType",
                415,
                headers=_ERROR_STATE,
                doc="Content not sent as `application/partial-upload` (interop 6 and 9).",
            )

        with svc.method(
            "delete",
            http="DELETE /{id}",
            doc="Upload cancellation: stops a running transfer and removes the upload.",
        ) as m:
            m.payload(UPLOAD_ID, INTEROP_VERSION, UPLOAD_COMPLETE, UPLOAD_OFFSET_IN)
            m.result(204)

        with svc.method("get", http="GET /{id}", doc="Download the uploaded bytes.") as m:
            m.payload(
                UPLOAD_ID,
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
            m.result(200, *download_headers, *_STATE_OUT, body=STREAM)
            m.result(206, *download_headers, *_STATE_OUT, CONTENT_RANGE.required(), body=STREAM)
            m.result(304, ETAG, LAST_MODIFIED)
            m.error(
                "PreconditionFailed", 412, doc="`If-Match` / `If-Unmodified-Since` did not hold."
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
                headers=_ERROR_STATE,
                doc="The store serves an upload only once it is complete (object storage).",
            )
    return svc
