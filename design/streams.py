"""The HTTP stream store (seed 002) and its FIFO queues, as one service under `/v1`.

A stream is a body stored whole by one POST or PUT and read back by id, by many readers
at once, until a DELETE. Queues (the seed's TODO) list streams in the order they became
visible. Answers follow the seed's JSON shapes: `{"id":..,"status":"created"}`, errors as
`{"status":"error","error":{"code":..,"message":..}}`; JSON is compressed past 860 bytes
per `Accept-Encoding` and listings carry an ETag (after the rst toolkit, seed 004).
"""

from __future__ import annotations

from tusgen.dsl import (
    API,
    STREAM,
    Field,
    Float64,
    Header,
    Int64,
    ListOf,
    Object,
    Param,
    Query,
    Service,
    String,
)

from .headers import (
    CACHE_CONTROL,
    CONTENT_DISPOSITION,
    CONTENT_RANGE,
    ETAG,
    IF_MATCH,
    IF_MODIFIED_SINCE,
    IF_NONE_MATCH,
    IF_RANGE,
    IF_UNMODIFIED_SINCE,
    LAST_MODIFIED,
    RANGE,
    RETRY_AFTER,
)

JSON_UTF8 = "application/json; charset=utf-8"

STREAM_ID = Param(
    "id",
    String,
    pattern=r"^[A-Za-z0-9_-]{1,128}$",
    doc="Stream id, as returned at creation (a UUID).",
    example="20ef43f7-4bfd-4b86-9204-7c857a09a940",
).on_invalid("NotFound")
QUEUE = Param(
    "queue",
    String,
    pattern=r"^(?!\.+$)[A-Za-z0-9._-]{1,128}$",
    doc="Queue name: 1-128 characters of `[A-Za-z0-9._-]`, not dots only.",
    example="orders",
)
BODY_TYPE = Header("Content-Type", String, doc="Media type of the stream, kept and served back.")
BODY_LENGTH = Header(
    "Content-Length", Int64, minimum=0, doc="Size of the body; absent for a chunked body."
)
SERVED_TYPE = Header(
    "Content-Type",
    String,
    doc="The type given at creation when it is safe to render inline, else "
    "`application/octet-stream`.",
)
SIZE = Header("Content-Length", Int64, minimum=0, doc="Bytes in this response.")
LOCATION = Header("Location", String, doc="Path of the new stream: `/v1/streams/<id>`.")
ACCEPT_RANGES = Header("Accept-Ranges", String, doc="`bytes`.")
NOSNIFF = Header("X-Content-Type-Options", String, doc="`nosniff`.")
LISTING_ETAG = Header("ETag", String, doc="Validator of this listing; send it as If-None-Match.")
LIMIT = Query("limit", Int64, minimum=1, maximum=1000, default=100, doc="Most streams on one page.")
CURSOR = Query("cursor", String, doc="The `next` of the previous page.")
WAIT = Query(
    "wait",
    Float64,
    minimum=0,
    doc="Seconds to wait for a stream to arrive before answering 404 (at most 60).",
)

STATUS = Object(
    "StreamStatus",
    Field("id", String, doc="The stream's id."),
    Field("status", String, enum=["created", "deleted"], doc="What happened."),
    doc="The answer to a store or a delete, as the original service gave it.",
)
QUEUED = Object(
    "QueuedStatus",
    Field("id", String, doc="The stream's id."),
    Field("queue", String, doc="The queue it joined."),
    Field("status", String, enum=["created"], doc="`created`."),
    doc="The answer to a store into a queue.",
)
DESCRIPTOR = Object(
    "StreamDescriptor",
    Field("id", String, doc="The stream's id; read it at `/v1/streams/<id>`."),
    Field("queue", String, doc="Its queue."),
    Field("size", Int64, minimum=0, doc="Bytes."),
    Field("contentType", String, doc="The Content-Type a GET serves."),
    Field("created", String, doc="When it became visible (RFC 3339, UTC)."),
    doc="One stream of a queue.",
)
PAGE = Object(
    "StreamPage",
    Field("queue", String, doc="The queue."),
    Field("streams", ListOf(DESCRIPTOR), doc="Oldest first (FIFO)."),
    Field(
        "next",
        String,
        nullable=True,
        doc="Cursor of the following page; null when no stream follows yet.",
    ),
    doc="A page of a queue's streams.",
)
QUEUE_SUMMARY = Object(
    "QueueSummary",
    Field("queue", String, doc="Queue name."),
    Field("streams", Int64, minimum=1, doc="Streams it holds."),
    doc="A queue and how many streams it holds.",
)
QUEUE_LIST = Object(
    "QueueList",
    Field("queues", ListOf(QUEUE_SUMMARY), doc="Every queue holding at least one stream."),
    doc="The queues.",
)

_DOWNLOAD_HEADERS = (
    SERVED_TYPE,
    CONTENT_DISPOSITION,
    SIZE,
    ETAG,
    LAST_MODIFIED.required(),
    ACCEPT_RANGES.const("bytes"),
    CACHE_CONTROL.const("no-cache"),
    NOSNIFF.const("nosniff"),
)
_CONDITIONS = (IF_MATCH, IF_NONE_MATCH, IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE)


def _creation(svc: Service, name: str, verb: str, path: str, queued: bool) -> None:
    where = "a new stream in the queue" if queued else "a new stream"
    with svc.method(name, http=f"{verb} {path}", doc=f"Store the body as {where} ({verb}).") as m:
        if queued:
            m.payload(QUEUE, BODY_TYPE, BODY_LENGTH)
        else:
            m.payload(BODY_TYPE, BODY_LENGTH)
        m.body(STREAM)
        m.result(201, LOCATION.required(), body=QUEUED if queued else STATUS)
        m.error(
            "TooLarge",
            413,
            code="too_large",
            doc="The body is larger than the server's `--max-size` (told at once when "
            "Content-Length shows it, else as soon as the body passes it).",
        )


def declare_streams(api: API) -> Service:
    """Add the stream store service to `api` and return it."""
    with api.service(
        "streams",
        path="/v1",
        doc="The HTTP stream store: streams stored whole, read many times, in FIFO queues.",
    ) as svc:
        svc.error_format("envelope")
        svc.json(JSON_UTF8, compress=("gzip", "deflate"))
        svc.error("BadRequest", 400, code="bad_request", doc="A request value is invalid.")
        svc.error(
            "NotFound",
            404,
            code="not_found",
            doc="No such stream (unknown, deleted or malformed id), or no stream there yet.",
        )
        svc.error(
            "Incomplete",
            400,
            code="incomplete_body",
            doc="The body ended early or stalled; nothing was stored.",
        )
        svc.error(
            "Locked", 423, code="locked", doc="Another request holds the stream; retry later."
        )
        svc.error("Internal", 500, code="internal", doc="Unexpected failure; nothing was lost.")
        svc.error(
            "Unavailable",
            503,
            code="unavailable",
            headers=[RETRY_AFTER],
            doc="The server is shutting down or lost a lock; nothing was stored, retry.",
        )

        _creation(svc, "create", "POST", "/streams", queued=False)
        _creation(svc, "put", "PUT", "/streams", queued=False)

        with svc.method("get", http="GET /streams/{id}", doc="Stream the bytes back.") as m:
            m.payload(STREAM_ID, RANGE, IF_RANGE, *_CONDITIONS)
            m.result(200, *_DOWNLOAD_HEADERS, body=STREAM)
            m.result(206, *_DOWNLOAD_HEADERS, CONTENT_RANGE.required(), body=STREAM)
            m.result(304, ETAG, LAST_MODIFIED)
            m.error(
                "PreconditionFailed",
                412,
                code="precondition_failed",
                doc="`If-Match` / `If-Unmodified-Since` did not hold.",
            )
            m.error(
                "RangeNotSatisfiable",
                416,
                code="range_not_satisfiable",
                headers=[CONTENT_RANGE.required()],
                doc="The range lies outside the stream; `Content-Range: bytes */size`.",
            )

        with svc.method("head", http="HEAD /streams/{id}", doc="The GET's headers only.") as m:
            m.payload(STREAM_ID, *_CONDITIONS)
            m.result(200, *_DOWNLOAD_HEADERS)
            m.result(304, ETAG, LAST_MODIFIED)
            m.error("PreconditionFailed", 412, code="precondition_failed")

        with svc.method("delete", http="DELETE /streams/{id}", doc="Delete a stream.") as m:
            m.payload(STREAM_ID)
            m.result(200, body=STATUS)

        _creation(svc, "enqueue", "POST", "/queues/{queue}/streams", queued=True)
        _creation(svc, "enqueue_put", "PUT", "/queues/{queue}/streams", queued=True)

        with svc.method(
            "list", http="GET /queues/{queue}/streams", doc="A page of the queue, oldest first."
        ) as m:
            m.payload(QUEUE, LIMIT, CURSOR, IF_NONE_MATCH)
            m.result(200, LISTING_ETAG.required(), body=PAGE)
            m.result(304, LISTING_ETAG.required())

        with svc.method(
            "first", http="GET /queues/{queue}/first", doc="The oldest stream of the queue."
        ) as m:
            m.payload(QUEUE, WAIT)
            m.result(200, body=DESCRIPTOR)

        with svc.method(
            "next",
            http="GET /queues/{queue}/streams/{id}/next",
            doc="The stream after `id` in the queue (follow a queue with `wait`).",
        ) as m:
            m.payload(QUEUE, STREAM_ID, WAIT)
            m.result(200, body=DESCRIPTOR)

        with svc.method(
            "prev",
            http="GET /queues/{queue}/streams/{id}/prev",
            doc="The stream before `id` in the queue.",
        ) as m:
            m.payload(QUEUE, STREAM_ID)
            m.result(200, body=DESCRIPTOR)

        with svc.method("queues", http="GET /queues", doc="Every queue holding streams.") as m:
            m.payload(IF_NONE_MATCH)
            m.result(200, LISTING_ETAG.required(), body=QUEUE_LIST)
            m.result(304, LISTING_ETAG.required())
    return svc
