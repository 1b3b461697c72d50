"""TusService: the generated tus interface, translated onto the upload engine.

The generated router has already decoded and validated every declared header (412,
415, 400 with all problems). This adapter parses what is tus's own (metadata,
checksums, concatenation URLs, creation's length rules), calls the engine, and turns
its records and refusals into tus results and errors. Locks, fences, appends, expiry
and assembly live in the engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tusgen.runtime import BodyStream, ServiceError, construct
from tuskit.gen.tus import errors
from tuskit.gen.tus.service import (
    CreatePayload,
    CreateResult,
    CreateTrailers,
    DeletePayload,
    DeleteResult,
    GetPayload,
    GetResult,
    HeadPayload,
    HeadResult,
    OptionsPayload,
    OptionsResult,
    OptionsUploadPayload,
    OptionsUploadResult,
    PatchPayload,
    PatchResult,
    PatchTrailers,
)
from tuskit.persist.model import UploadInfo

from ..engine import AccessMode, Engine, current_request
from ..engine.errors import BodyRejected, translating
from ..web import download
from ..web.dates import http_date
from ..web.urls import RequestOrigin, external_base
from .checksum import ADVERTISED, verification
from .concat import ConcatError, parse_final
from .extensions import extensions
from .metadata import MetadataError, format_metadata, parse_metadata
from .translate import tus_error

TUS_VERSION = "1.0.0"
OFFSET_STREAM = "application/offset+octet-stream"

translated = translating(tus_error)


@dataclass(frozen=True, slots=True)
class TusOptions:
    base_path: str = "/files/"
    """Where uploads live, with one trailing slash, as `Location` and concatenation
    URLs name them."""
    behind_proxy: bool = False
    """Trust Forwarded / X-Forwarded-* when building `Location`."""


class _Body:
    """The request body for the engine: a design error raised while reading it (an
    invalid trailer) refuses the request instead of counting as an interruption."""

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


class TusService:
    """Implements `tuskit.gen.tus.service.Service` on an Engine."""

    def __init__(self, engine: Engine, options: TusOptions | None = None) -> None:
        self.engine = engine
        self.config = options if options is not None else TusOptions()
        self._extensions = ",".join(extensions(engine))

    # -- discovery -----------------------------------------------------------------

    def _discovery(self) -> dict[str, Any]:
        return {
            "tus_version": TUS_VERSION,
            "tus_extension": self._extensions,
            "tus_max_size": self.engine.options.max_size,
            "tus_checksum_algorithm": ADVERTISED,
        }

    async def options(self, payload: OptionsPayload) -> OptionsResult:
        return OptionsResult(**self._discovery())

    async def options_upload(self, payload: OptionsUploadPayload) -> OptionsUploadResult:
        return OptionsUploadResult(**self._discovery())

    # -- creation --------------------------------------------------------------------

    @translated
    async def create(
        self, payload: CreatePayload, body: BodyStream[CreateTrailers]
    ) -> CreateResult:
        try:
            metadata = parse_metadata(payload.upload_metadata)
        except MetadataError as exc:
            raise errors.BadRequest(str(exc)) from exc
        has_body = self._has_body(payload.content_type, payload.content_length)
        origin = RequestOrigin(
            payload.host,
            payload.forwarded,
            payload.x_forwarded_host,
            payload.x_forwarded_proto,
            payload.x_forwarded_prefix,
        )
        request = current_request.get()
        root = request.root_path if request is not None else ""  # embedded under a prefix
        base = external_base(
            origin, root + self.config.base_path, behind_proxy=self.config.behind_proxy
        )
        concat = payload.upload_concat
        if concat is not None and concat.startswith("final"):
            if has_body:
                raise errors.BadRequest("a final upload cannot carry a body")
            if payload.upload_length is not None or payload.upload_defer_length is not None:
                raise errors.BadRequest(
                    "a final upload must not send Upload-Length or Upload-Defer-Length"
                )
            try:
                partial_ids = parse_final(concat, self.config.base_path, urlsplit(base).netloc)
            except ConcatError as exc:
                raise errors.BadRequest(str(exc)) from exc
            info = await self.engine.create_final(partial_ids, metadata)
            return CreateResult(location=base + info.id, upload_offset=None, upload_expires=None)

        length = self._creation_length(payload)
        info = await self.engine.create(
            length=length,
            metadata=metadata,
            is_partial=concat == "partial",
            body=_Body(body) if has_body else None,
            content_length=payload.content_length,
            verify=verification(
                payload.upload_checksum, payload.trailer, lambda: body.trailers.upload_checksum
            )
            if has_body
            else None,
        )
        return CreateResult(
            location=base + info.id,
            upload_offset=info.offset,
            upload_expires=self._expires(info),
        )

    def _has_body(self, content_type: str | None, content_length: int | None) -> bool:
        """creation-with-upload: a body typed as offset stream; another typed body is 415."""
        if content_type is not None and content_type.split(";")[0].strip() == OFFSET_STREAM:
            return content_length is None or content_length > 0
        if content_length:
            raise errors.UnsupportedMediaType(f"a body at creation must be sent as {OFFSET_STREAM}")
        return False

    def _creation_length(self, payload: CreatePayload) -> int | None:
        if payload.upload_length is not None and payload.upload_defer_length is not None:
            raise errors.BadRequest("send either Upload-Length or Upload-Defer-Length, not both")
        if payload.upload_length is None and payload.upload_defer_length is None:
            raise errors.BadRequest("Upload-Length or Upload-Defer-Length: 1 is required")
        return payload.upload_length

    # -- core: HEAD / PATCH ----------------------------------------------------------

    @translated
    async def head(self, payload: HeadPayload) -> HeadResult:
        info = await self.engine.status(payload.id)
        final_done = not info.is_final or info.is_complete
        return construct(  # hot path: values are typed by construction, every field named
            HeadResult,
            {
                "upload_offset": info.offset if final_done else None,
                "upload_length": info.length,
                "upload_defer_length": "1" if info.length is None and not info.is_final else None,
                "upload_metadata": format_metadata(info.metadata),
                "upload_concat": self._concat_header(info),
                "upload_expires": self._expires(info),
            },
        )

    def _expires(self, info: UploadInfo) -> str | None:
        at = self.engine.expires_at(info)
        return None if at is None else http_date(at)

    def _concat_header(self, info: UploadInfo) -> str | None:
        if info.is_partial:
            return "partial"
        if info.partials is not None:
            base = self.config.base_path
            return "final;" + " ".join(base + p for p in info.partials)
        return None

    @translated
    async def patch(self, payload: PatchPayload, body: BodyStream[PatchTrailers]) -> PatchResult:
        info = await self.engine.append(
            payload.id,
            payload.upload_offset,
            _Body(body),
            length=payload.upload_length,
            content_length=payload.content_length,
            verify=verification(
                payload.upload_checksum, payload.trailer, lambda: body.trailers.upload_checksum
            ),
        )
        return construct(
            PatchResult,
            {"upload_offset": info.offset, "upload_expires": self._expires(info)},
        )

    # -- termination -------------------------------------------------------------------

    @translated
    async def delete(self, payload: DeletePayload) -> DeleteResult:
        await self.engine.terminate(payload.id)
        return DeleteResult()

    # -- download ----------------------------------------------------------------------

    @translated
    async def get(self, payload: GetPayload) -> GetResult:
        info = await self.engine.load(payload.id, AccessMode.READ)
        self.engine.check_readable(info)
        v = download.validators(info)
        conditions = download.Conditions.of(payload)
        size = info.offset  # a snapshot: append-only bytes below it never change
        plan = download.plan_download(v, size, conditions)
        if plan.status == 412:
            raise errors.PreconditionFailed("a precondition of the request did not hold")
        if plan.status == 416:
            raise errors.RangeNotSatisfiable(
                f"range outside 0-{size}", content_range=f"bytes */{size}"
            )
        if plan.status == 304:
            return GetResult(status=304, etag=v.etag, last_modified=v.last_modified)
        content_type, disposition = download.content_headers(info)
        partial = plan.status == 206
        body: AsyncIterator[bytes] = self.engine.read(info, plan.start, plan.end)
        return GetResult(
            status=206 if partial else 200,
            content_type=content_type,
            content_disposition=disposition,
            content_length=plan.end - plan.start,
            etag=v.etag,
            last_modified=v.last_modified,
            accept_ranges="bytes",
            cache_control="no-cache",
            x_content_type_options="nosniff",
            content_range=f"bytes {plan.start}-{plan.end - 1}/{size}" if partial else None,
            body=body,
        )


__all__ = ["OFFSET_STREAM", "TUS_VERSION", "TusOptions", "TusService"]
