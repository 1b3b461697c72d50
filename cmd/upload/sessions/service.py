"""SessionService: the generated session interface, translated onto the engine.

A session is the engine's assembly from parts (chunk i = part i), its attachment the
upload the assembly becomes. The generated router has decoded the JSON body (415, 400
for bad JSON, missing or wrong-typed fields) and the path params; this adapter checks
what is the session API's own (file names, sizes, RFC 9530 digests), calls the engine,
and turns its records and refusals into results and errors. Locks, part writes,
assembly, expiry and downloads' reads live in the engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tusgen import runtime as rt
from tusgen.runtime import BodyStream, ServiceError
from tuskit.gen.sessions import errors
from tuskit.gen.sessions.service import (
    AbortedSession,
    AbortPayload,
    AbortResult,
    Attachment,
    ChunkReceipt,
    CompletePayload,
    CompleteResult,
    DeleteAttachmentPayload,
    DeleteAttachmentResult,
    DownloadPayload,
    DownloadResult,
    GetSessionPayload,
    GetSessionResult,
    HeadAttachmentPayload,
    HeadAttachmentResult,
    InitiatePayload,
    InitiateRequest,
    InitiateResult,
    Session,
    SessionState,
    UploadChunkPayload,
    UploadChunkResult,
)
from tuskit.persist.assembly import Assembly, AssemblyState
from tuskit.persist.model import UploadInfo

from ..engine import AccessMode, Engine, Verification
from ..engine.assembly import Assemblies
from ..engine.errors import BodyRejected, translating
from ..web import download
from ..web.urls import RequestOrigin, external_base
from .digest import DigestError, parse_content_md5, parse_rfc9530
from .names import content_type_problems, file_name_problems
from .translate import attachment_error, session_error

OCTET_STREAM = "application/octet-stream"


on_session = translating(session_error)
on_attachment = translating(attachment_error)


def rfc3339(ts: float | None) -> str | None:
    """`2025-01-31T12:00:00Z` (UTC, whole seconds), or None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class SessionOptions:
    base_path: str = "/attachment/"
    """Where the service lives, with one trailing slash, as `Location` names it."""
    behind_proxy: bool = False
    """Trust Forwarded / X-Forwarded-* when building `Location`."""


class _Body:
    """The request body for the engine: a design error raised while reading it refuses
    the request instead of counting as an interruption."""

    __slots__ = ("_body",)

    def __init__(self, body: BodyStream[Any]) -> None:
        self._body = body

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._body.__anext__()
        except ServiceError as exc:
            raise BodyRejected(exc) from exc


def _meta(info: Assembly | UploadInfo, key: str, default: str = "") -> str:
    for k, v in info.metadata:
        if k == key:
            return v
    return default


class SessionService:
    """Implements `tuskit.gen.sessions.service.Service` on an Engine's assemblies."""

    def __init__(
        self, engine: Engine, assemblies: Assemblies, options: SessionOptions | None = None
    ) -> None:
        self.engine = engine
        self.assemblies = assemblies
        self.config = options if options is not None else SessionOptions()

    def _base(self, origin: RequestOrigin) -> str:
        return external_base(origin, self.config.base_path, behind_proxy=self.config.behind_proxy)

    # -- sessions ----------------------------------------------------------------------

    @on_session
    async def initiate(self, payload: InitiatePayload, body: InitiateRequest) -> InitiateResult:
        problems: list[tuple[str, str, str]] = []
        if body.file_size < 0:
            problems.append(("body", "fileSize", "must not be negative"))
        problems += [("body", "fileName", m) for m in file_name_problems(body.file_name)]
        content_type = OCTET_STREAM if body.content_type is None else body.content_type
        if body.content_type is not None:
            problems += [("body", "contentType", m) for m in content_type_problems(content_type)]
        expected = None
        if body.checksum is not None:
            try:
                expected = parse_rfc9530(body.checksum)
            except DigestError as exc:
                problems.append(("body", "checksum", str(exc)))
        if problems:
            raise rt.with_problems(errors.BadRequest("invalid body"), problems)
        a = await self.assemblies.begin(
            body.file_size,
            (("filename", body.file_name), ("filetype", content_type)),
            expected,
        )
        base = self._base(_origin(payload))
        return InitiateResult(
            location=f"{base}session/{a.id}",
            body=Session(
                sessionId=a.id,
                chunkSize=a.part_size,
                totalChunks=a.part_count,
                expiresAt=rfc3339(a.expires_at) or "",
                fileName=body.file_name,
                fileSize=body.file_size,
                contentType=content_type,
            ),
        )

    @on_session
    async def upload_chunk(
        self, payload: UploadChunkPayload, body: BodyStream[Any]
    ) -> UploadChunkResult:
        stored = await self.assemblies.write(
            payload.session_id,
            payload.chunk_id,
            _Body(body),
            content_length=payload.content_length,
            verify=_chunk_verification(payload),
        )
        return UploadChunkResult(
            body=ChunkReceipt(
                sessionId=stored.assembly.id,
                chunkId=stored.index,
                size=stored.size,
                receivedCount=stored.received,
            )
        )

    @on_session
    async def get_session(self, payload: GetSessionPayload) -> GetSessionResult:
        status = await self.assemblies.status(payload.session_id)
        a = status.assembly
        completed = a.state is AssemblyState.COMPLETED
        return GetSessionResult(
            body=SessionState(
                sessionId=a.id,
                # A completion under way (or interrupted) shows as active with nothing
                # missing: POST complete finishes it.
                status="completed" if completed else "active",
                fileName=_meta(a, "filename"),
                fileSize=a.length,
                contentType=_meta(a, "filetype", OCTET_STREAM),
                chunkSize=a.part_size,
                totalChunks=a.part_count,
                receivedChunks=list(status.received),
                missingChunks=status.missing,
                expiresAt=None if completed else rfc3339(a.expires_at),
                attachmentId=a.upload_id if completed else None,
            )
        )

    @on_session
    async def complete(self, payload: CompletePayload) -> CompleteResult:
        done = await self.assemblies.complete(payload.session_id)
        url = self._base(_origin(payload)) + done.upload.id
        return CompleteResult(
            status=201 if done.first else 200,
            location=url,
            body=Attachment(
                attachmentId=done.upload.id,
                fileName=_meta(done.upload, "filename"),
                fileSize=done.upload.length or 0,
                contentType=_meta(done.upload, "filetype", OCTET_STREAM),
                location=url,
            ),
        )

    @on_session
    async def abort(self, payload: AbortPayload) -> AbortResult:
        await self.assemblies.abandon(payload.session_id)
        return AbortResult(body=AbortedSession(sessionId=payload.session_id, status="aborted"))

    # -- attachments -------------------------------------------------------------------

    async def _attachment(self, attachment_id: str) -> UploadInfo:
        info = await self.engine.load(attachment_id, AccessMode.READ)
        if not info.is_complete:
            raise errors.AttachmentNotFound("no such attachment")
        self.engine.check_readable(info)
        return info

    @on_attachment
    async def download(self, payload: DownloadPayload) -> DownloadResult:
        info = await self._attachment(payload.attachment_id)
        head = _plan(info, payload)
        if head.status == 304:
            return DownloadResult(status=304, etag=head.etag, last_modified=head.modified)
        body: AsyncIterator[bytes] = self.engine.read(info, head.start, head.end)
        return DownloadResult(**head.fields(), body=body)

    @on_attachment
    async def head_attachment(self, payload: HeadAttachmentPayload) -> HeadAttachmentResult:
        info = await self._attachment(payload.attachment_id)
        head = _plan(info, payload)
        if head.status == 304:
            return HeadAttachmentResult(status=304, etag=head.etag, last_modified=head.modified)
        return HeadAttachmentResult(**head.fields())

    @on_attachment
    async def delete_attachment(self, payload: DeleteAttachmentPayload) -> DeleteAttachmentResult:
        info = await self.engine.load(payload.attachment_id)
        if not info.is_complete:
            raise errors.AttachmentNotFound("no such attachment")
        await self.engine.terminate(payload.attachment_id)
        return DeleteAttachmentResult()


def _origin(payload: InitiatePayload | CompletePayload) -> RequestOrigin:
    return RequestOrigin(
        payload.host,
        payload.forwarded,
        payload.x_forwarded_host,
        payload.x_forwarded_proto,
        payload.x_forwarded_prefix,
    )


def _chunk_verification(payload: UploadChunkPayload) -> Verification | None:
    """Content-Digest (the strongest supported member) or else Content-MD5."""
    try:
        if payload.content_digest is not None:
            return Verification.known(parse_rfc9530(payload.content_digest))
        if payload.content_md5 is not None:
            return Verification.known(parse_content_md5(payload.content_md5))
    except DigestError as exc:
        raise errors.BadDigest(str(exc)) from exc
    return None


@dataclass(frozen=True, slots=True)
class _Head:
    """What a download answers: the plan's status and span, and the headers."""

    status: int
    start: int
    end: int
    size: int
    etag: str
    modified: str
    content_type: str
    disposition: str

    def fields(self) -> dict[str, Any]:
        partial = self.status == 206
        return {
            "status": self.status,
            "content_type": self.content_type,
            "content_disposition": self.disposition,
            "content_length": self.end - self.start,
            "etag": self.etag,
            "last_modified": self.modified,
            "accept_ranges": "bytes",
            "cache_control": "no-cache",
            "x_content_type_options": "nosniff",
            "content_range": (
                f"bytes {self.start}-{self.end - 1}/{self.size}" if partial else None
            ),
        }


def _plan(info: UploadInfo, p: DownloadPayload | HeadAttachmentPayload) -> _Head:
    """The tus GET's rules (web/download.py): validators, conditions, one range."""
    v = download.validators(info)
    conditions = download.Conditions.of(p)
    size = info.offset
    plan = download.plan_download(v, size, conditions)
    if plan.status == 412:
        raise errors.PreconditionFailed("a precondition of the request did not hold")
    if plan.status == 416:
        raise errors.RangeNotSatisfiable(f"range outside 0-{size}", content_range=f"bytes */{size}")
    content_type, disposition = download.content_headers(info)
    return _Head(
        plan.status,
        plan.start,
        plan.end,
        size,
        v.etag,
        v.last_modified,
        content_type,
        disposition,
    )
