"""Session-based chunked uploads (seed 003): initiate, chunks in any order and in parallel,
complete, abort, expiry; then the attachment is downloaded or deleted.

For clients that cannot speak tus (Google Drive / Box / S3 multipart style): the server
fixes the chunking, each chunk is retried on its own, the session tracks which chunks
arrived. Errors use the envelope shape `{"status":"error","error":{"code","message"}}`
with stable codes; `missingChunks` rides on the 409 of an incomplete completion.
"""

from __future__ import annotations

from tusgen.dsl import (
    API,
    STREAM,
    Field,
    Header,
    Int64,
    ListOf,
    Method,
    Object,
    Param,
    Service,
    String,
)

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
    X_CONTENT_TYPE_OPTIONS,
    X_FORWARDED_HOST,
    X_FORWARDED_PREFIX,
    X_FORWARDED_PROTO,
)

ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
SESSION_ID = Param("sessionId", String, pattern=ID_PATTERN, doc="Session id, from initiate.").named(
    "session_id"
)
CHUNK_ID = Param("chunkId", Int64, minimum=0, doc="0-based chunk index.").named("chunk_id")
ATTACHMENT_ID = Param("attachmentId", String, pattern=ID_PATTERN, doc="Attachment id.").named(
    "attachment_id"
)

CONTENT_DIGEST = Header(
    "Content-Digest",
    String,
    doc="RFC 9530 digest of this chunk's body (`sha-256=:<base64>:` or `sha-512=:...:`).",
    example="sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
)
CONTENT_MD5 = Header(
    "Content-MD5", String, doc="Base64 MD5 of this chunk's body (RFC 1864).", example=""
)

INITIATE = Object(
    "InitiateRequest",
    Field("fileName", String, doc="1-255 bytes of UTF-8; no `/`, `\\`, control characters."),
    Field("fileSize", Int64, doc="Size of the whole file in bytes (0 or more)."),
    Field("contentType", String, required=False, doc="Media type (application/octet-stream)."),
    Field(
        "checksum",
        String,
        required=False,
        doc="Whole-file digest, RFC 9530 form: `sha-256=:<base64>:` (or sha-512), checked "
        "at completion.",
    ),
    doc="What the client wants to upload.",
)
SESSION = Object(
    "Session",
    Field("sessionId", String, doc="The new session's id."),
    Field("chunkSize", Int64, doc="Bytes per chunk (the last one may be shorter)."),
    Field("totalChunks", Int64, doc="max(1, ceil(fileSize / chunkSize))."),
    Field("expiresAt", String, doc="RFC 3339 UTC; each accepted chunk moves it forward."),
    Field("fileName", String, doc="As given."),
    Field("fileSize", Int64, doc="As given."),
    Field("contentType", String, doc="As given, or application/octet-stream."),
    doc="A new upload session and its chunking.",
)
CHUNK_RECEIPT = Object(
    "ChunkReceipt",
    Field("sessionId", String, doc="The session."),
    Field("chunkId", Int64, doc="The chunk stored."),
    Field("size", Int64, doc="Its bytes."),
    Field("receivedCount", Int64, doc="Chunks of the session stored so far."),
    doc="A chunk was stored.",
)
SESSION_STATE = Object(
    "SessionState",
    Field("sessionId", String, doc="The session."),
    Field("status", String, enum=["active", "completed"], doc="active or completed."),
    Field("fileName", String, doc="As given at initiate."),
    Field("fileSize", Int64, doc="As given at initiate."),
    Field("contentType", String, doc="As given, or application/octet-stream."),
    Field("chunkSize", Int64, doc="Bytes per chunk."),
    Field("totalChunks", Int64, doc="Number of chunks."),
    Field("receivedChunks", ListOf(Int64), doc="Indexes stored, ascending."),
    Field("missingChunks", ListOf(Int64), doc="Indexes still to send, ascending."),
    Field("expiresAt", String, nullable=True, doc="RFC 3339 UTC; null once completed."),
    Field("attachmentId", String, nullable=True, doc="The attachment, once completed."),
    doc="Where a session stands: how a client resumes after a crash.",
)
ATTACHMENT = Object(
    "Attachment",
    Field("attachmentId", String, doc="The attachment's id."),
    Field("fileName", String, doc="File name."),
    Field("fileSize", Int64, doc="Bytes."),
    Field("contentType", String, doc="Media type."),
    Field("location", String, doc="URL of the attachment (GET, HEAD, DELETE)."),
    doc="The file a completed session became.",
)
ABORTED = Object(
    "AbortedSession",
    Field("sessionId", String, doc="The session."),
    Field("status", String, enum=["aborted"], doc="aborted."),
    doc="A session was aborted; its chunks are gone.",
)

ORIGIN = (HOST, FORWARDED, X_FORWARDED_HOST, X_FORWARDED_PROTO, X_FORWARDED_PREFIX)
DOWNLOAD_HEADERS = (
    CONTENT_TYPE,
    CONTENT_DISPOSITION,
    CONTENT_LENGTH,
    ETAG,
    LAST_MODIFIED,
    ACCEPT_RANGES,
    CACHE_CONTROL,
    X_CONTENT_TYPE_OPTIONS,
)
CONDITIONS = (RANGE, IF_RANGE, IF_MATCH, IF_NONE_MATCH, IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE)


def declare_sessions(api: API) -> Service:
    """Add the sessions service to `api` and return it."""
    with api.service(
        "sessions", path="/attachment", doc="Session-based chunked uploads of attachments."
    ) as svc:
        svc.error_format("envelope")
        svc.json("application/json", compress=("gzip", "deflate"))
        svc.error("BadRequest", 400, doc="A request value is invalid; `errors` lists each.")
        svc.error("Internal", 500, doc="Unexpected server failure; nothing stored was lost.")
        svc.error(
            "Unavailable",
            503,
            headers=[RETRY_AFTER],
            code="unavailable",
            doc="The server is stopping, or a newer request took this chunk over; retry.",
        )
        svc.error(
            "Locked",
            423,
            code="locked",
            doc="Another request holds the session and did not let go in time; retry.",
        )

        with svc.method("initiate", http="POST /initiate", doc="Open an upload session.") as m:
            m.payload(*ORIGIN)
            m.body(INITIATE)
            m.result(201, LOCATION.required(), body=SESSION)
            m.error("TooLarge", 413, code="too_large", doc="fileSize exceeds --max-size.")
            m.error(
                "UnsupportedMediaType",
                415,
                code="unsupported_media_type",
                doc="The body is not application/json.",
            )

        with svc.method(
            "upload_chunk",
            http="PUT /session/{sessionId}/upload/{chunkId}",
            doc="Store chunk `chunkId` (replacing an earlier copy).",
        ) as m:
            m.payload(SESSION_ID, CHUNK_ID, CONTENT_LENGTH, CONTENT_DIGEST, CONTENT_MD5)
            m.body(STREAM)
            m.result(200, body=CHUNK_RECEIPT)
            m.error(
                "ChecksumMismatch",
                400,
                code="checksum_mismatch",
                doc="The body does not match its digest; nothing was stored.",
            )
            m.error(
                "BadDigest",
                400,
                code="bad_digest",
                doc="Content-Digest / Content-MD5 is malformed or names no supported algorithm.",
            )
            m.error(
                "ChunkSizeMismatch",
                400,
                code="chunk_size_mismatch",
                doc="The body is not exactly the chunk's length; nothing was stored.",
            )
            _session_refusals(m)
            m.error(
                "SessionCompleted",
                409,
                code="session_completed",
                doc="The session is completed (or being completed): no more chunks.",
            )
            m.error(
                "ChunkOutOfRange",
                416,
                code="chunk_out_of_range",
                doc="chunkId is not below totalChunks.",
            )

        with svc.method(
            "get_session", http="GET /session/{sessionId}", doc="Where a session stands."
        ) as m:
            m.payload(SESSION_ID)
            m.result(200, CACHE_CONTROL.const("no-store"), body=SESSION_STATE)
            _session_refusals(m)

        with svc.method(
            "complete",
            http="POST /session/{sessionId}/complete",
            doc="Assemble the chunks into the attachment (again: the same attachment, 200).",
        ) as m:
            m.payload(SESSION_ID, *ORIGIN)
            m.result(201, LOCATION.required(), body=ATTACHMENT)
            m.result(200, LOCATION.required(), body=ATTACHMENT)
            m.error(
                "ChecksumMismatch",
                400,
                code="checksum_mismatch",
                doc="The assembled file does not match the checksum given at initiate; the "
                "session stays active and every chunk must be sent again.",
            )
            _session_refusals(m)
            m.error(
                "MissingChunks",
                409,
                code="missing_chunks",
                fields=[Field("missingChunks", ListOf(Int64), doc="Chunk indexes not stored.")],
                doc="Some chunks were never stored.",
            )

        with svc.method(
            "abort", http="POST /session/{sessionId}/abort", doc="Cancel a session."
        ) as m:
            m.payload(SESSION_ID)
            m.result(200, body=ABORTED)
            _session_refusals(m, aborted=False)
            m.error(
                "SessionCompleted",
                409,
                code="session_completed",
                doc="The session is completed: delete the attachment instead.",
            )

        with svc.method(
            "download", http="GET /{attachmentId}", doc="Download the attachment."
        ) as m:
            m.payload(ATTACHMENT_ID.on_invalid("AttachmentNotFound"), *CONDITIONS)
            m.result(200, *DOWNLOAD_HEADERS, body=STREAM)
            m.result(206, *DOWNLOAD_HEADERS, CONTENT_RANGE.required(), body=STREAM)
            m.result(304, ETAG, LAST_MODIFIED)
            _attachment_errors(m)

        with svc.method(
            "head_attachment", http="HEAD /{attachmentId}", doc="The download's headers."
        ) as m:
            m.payload(ATTACHMENT_ID.on_invalid("AttachmentNotFound"), *CONDITIONS)
            m.result(200, *DOWNLOAD_HEADERS)
            m.result(206, *DOWNLOAD_HEADERS, CONTENT_RANGE.required())
            m.result(304, ETAG, LAST_MODIFIED)
            _attachment_errors(m)

        with svc.method(
            "delete_attachment", http="DELETE /{attachmentId}", doc="Delete the attachment."
        ) as m:
            m.payload(ATTACHMENT_ID.on_invalid("AttachmentNotFound"))
            m.result(204)
            m.error(
                "AttachmentNotFound",
                404,
                code="attachment_not_found",
                doc="No such attachment (or it was deleted).",
            )
    return svc


def _session_refusals(m: Method, *, aborted: bool = True) -> None:
    """404 for an unknown session, 410 for an aborted or expired one."""
    m.error("SessionNotFound", 404, code="session_not_found", doc="No session with this id.")
    if aborted:
        m.error("SessionAborted", 410, code="session_aborted", doc="The session was aborted.")
    m.error(
        "SessionExpired",
        410,
        code="session_expired",
        doc="The session expired before completion; its chunks are gone.",
    )


def _attachment_errors(m: Method) -> None:
    """404, and the download's precondition and range refusals."""
    m.error(
        "AttachmentNotFound",
        404,
        code="attachment_not_found",
        doc="No such attachment (or it was deleted).",
    )
    m.error(
        "PreconditionFailed",
        412,
        code="precondition_failed",
        doc="`If-Match` / `If-Unmodified-Since` did not hold.",
    )
    m.error(
        "RangeNotSatisfiable",
        416,
        headers=[CONTENT_RANGE.required()],
        code="range_not_satisfiable",
        doc="The range lies outside the file; `Content-Range: bytes */size`.",
    )
