"""IetfService: the generated `ietf` interface (Resumable Uploads for HTTP) on the engine.

Per request, `Upload-Draft-Interop-Version` picks the profile (`profiles.py`); the draft's
structured fields are parsed here (`fields.py`), invalid values ignored as the draft says.
A creation records the upload first, so its 104 can name it before the content is read;
the content then streams as an engine append holding the upload's lock, recording
checkpoints that progress 104s report. Locks, fences, writers and expiry are the
engine's; this module only translates.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tusgen.runtime import BodyStream, construct
from tuskit.gen.ietf import errors
from tuskit.gen.ietf.service import (
    AppendPayload,
    AppendResult,
    CreatePayload,
    CreateResult,
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
    PutPayload,
    PutResult,
)
from tuskit.persist.model import UploadInfo

from ..engine import AccessMode, Engine, Expected, Verification
from ..engine import errors as engine_errors
from ..engine.checkpoints import Progress
from ..engine.wholedigest import digest_upload
from ..tus.metadata import MetadataError
from ..web import download, serve
from ..web.urls import RequestOrigin, external_base
from . import fields
from .limits import upload_limit
from .profiles import PARTIAL_UPLOAD, PROFILES, SUPPORTED, Profile
from .representation import creation_metadata, expected_digests, wanted_digests
from .translate import ietf_error

log = logging.getLogger("tuskit.upload.ietf")

CURRENT = PROFILES[9]
"""How requests without an interop version are described (HEAD, GET, OPTIONS)."""

Creation = CreatePayload | PutPayload
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class IetfOptions:
    base_path: str = "/uploads/"
    """Where uploads live, with one trailing slash, as `Location` names them."""
    behind_proxy: bool = False
    """Trust Forwarded / X-Forwarded-* when building `Location`."""
    progress_interval: float = 2.0
    """Seconds between progress 104s (each a recorded checkpoint) in a long body; 0: none."""


def select(raw: str | None) -> Profile | None:
    """The profile a request asks for; None when it is not a resumable-upload request."""
    version = fields.non_negative_integer(raw)
    if version is None:
        return None
    profile = PROFILES.get(version)
    if profile is None:
        raise errors.UnsupportedInteropVersion(
            f"interop version {version} is not served; send one of "
            + ", ".join(map(str, SUPPORTED)),
            supported_versions=SUPPORTED,
        )
    return profile


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator that yields nothing


class IetfService:
    """Implements `tuskit.gen.ietf.service.Service` on an Engine."""

    def __init__(self, engine: Engine, options: IetfOptions | None = None) -> None:
        self.engine = engine
        self.config = options if options is not None else IetfOptions()

    # -- discovery ----------------------------------------------------------------------

    async def options(self, payload: OptionsPayload) -> OptionsResult:
        profile = select(payload.upload_draft_interop_version) or CURRENT
        return OptionsResult(upload_limit=upload_limit(self.engine, profile))

    async def options_upload(self, payload: OptionsUploadPayload) -> OptionsUploadResult:
        profile = select(payload.upload_draft_interop_version) or CURRENT
        return OptionsUploadResult(upload_limit=upload_limit(self.engine, profile))

    # -- creation -----------------------------------------------------------------------

    async def create(self, payload: CreatePayload, body: BodyStream) -> CreateResult:
        return CreateResult(**await self._create(payload, body, None))

    async def put(self, payload: PutPayload, body: BodyStream) -> PutResult:
        return PutResult(**await self._create(payload, body, payload.id))

    async def _create(self, p: Creation, body: BodyStream, name: str | None) -> dict[str, Any]:
        profile = select(p.upload_draft_interop_version)
        base = self._base(p)
        try:
            metadata = creation_metadata(
                upload_metadata=p.upload_metadata,
                content_type=p.content_type,
                content_disposition=p.content_disposition,
                name=name,
                expected=fields.digests(p.repr_digest),
                wanted=fields.wanted(p.want_repr_digest),
            )
        except MetadataError as exc:
            raise errors.BadRequest(str(exc)) from exc
        verify = _content_verification(p.content_digest)
        if profile is None:
            return await self._conventional(p, body, base, metadata, verify)
        complete = fields.boolean(p.upload_complete)
        if complete is None:
            raise errors.BadRequest("Upload-Complete (?0 or ?1) is required to create an upload")
        if profile.strict_fields and fields.non_negative_integer(p.upload_offset) is not None:
            raise errors.BadRequest("a creation request must not carry Upload-Offset")
        length = self._length(0, complete, p.content_length, p.upload_length)
        if p.content_length == 0:  # nothing to stream: no 104, the answer comes at once
            info = await self._engine_call(
                profile,
                self.engine.create(
                    length=length,
                    metadata=metadata,
                    body=_empty() if complete else None,
                    content_length=0,
                ),
            )
            return await self._ended(info, base, profile, wanted=None)
        info = await self._engine_call(
            profile, self.engine.create(length=length, metadata=metadata)
        )
        location = base + info.id

        async def announce(at: UploadInfo) -> None:
            await body.inform(
                104,
                [
                    ("Location", location),
                    ("Upload-Limit", upload_limit(self.engine, profile, at)),
                    ("Upload-Draft-Interop-Version", str(profile.version)),
                ],
            )

        done = await self._append(
            profile,
            info.id,
            0,
            body,
            content_length=p.content_length,
            verify=verify,
            completes=complete,
            announce=announce,
        )
        return await self._ended(done, base, profile, wanted=None)

    async def _conventional(
        self,
        p: Creation,
        body: BodyStream,
        base: str,
        metadata: tuple[tuple[str, str], ...],
        verify: Verification | None,
    ) -> dict[str, Any]:
        """Not a resumable-upload request: the content is the whole file, stored as it
        arrives (no 104, the draft's `Upload-*` fields ignored)."""
        if p.content_length is not None:
            info = await self._engine_call(
                None,
                self.engine.create(
                    length=p.content_length,
                    metadata=metadata,
                    body=body if p.content_length else _empty(),
                    content_length=p.content_length,
                    verify=verify,
                ),
            )
        else:
            info = await self._engine_call(None, self.engine.create(length=None, metadata=metadata))
            info = await self._append(None, info.id, 0, body, verify=verify, completes=True)
        return await self._ended(info, base, CURRENT, wanted=None)

    # -- offset retrieval, append, cancellation -------------------------------------------

    async def head(self, payload: HeadPayload) -> HeadResult:
        profile = select(payload.upload_draft_interop_version) or CURRENT
        if profile.strict_fields:
            _refuse_upload_fields(
                payload.upload_offset, payload.upload_complete, payload.upload_length
            )
        info = await self._engine_call(profile, self.engine.status(payload.id, stop_running=True))
        return construct(HeadResult, self._state(info, profile))

    async def append(self, payload: AppendPayload, body: BodyStream) -> AppendResult:
        p = payload
        profile = select(p.upload_draft_interop_version)
        if profile is None:
            raise errors.BadRequest(
                "appending needs Upload-Draft-Interop-Version (one of "
                + ", ".join(map(str, SUPPORTED))
                + ")"
            )
        complete = fields.boolean(p.upload_complete)
        if complete is None:
            raise errors.BadRequest("Upload-Complete (?0 or ?1) is required")
        offset = fields.non_negative_integer(p.upload_offset)
        if offset is None:
            raise errors.BadRequest("Upload-Offset (a non-negative integer) is required")
        if profile.partial_media_type and p.content_length != 0:
            media_type = (p.content_type or "").split(";", 1)[0].strip().lower()
            if media_type != PARTIAL_UPLOAD:
                raise errors.UnsupportedMediaType(
                    f"an append's content must be sent as {PARTIAL_UPLOAD}"
                )
        length = self._length(offset, complete, p.content_length, p.upload_length)
        before = await self._engine_call(profile, self.engine.load(p.id))
        if before.is_complete and not (
            complete and offset == before.offset and p.content_length in (0, None)
        ):
            raise errors.CompletedUpload(
                "the upload is complete and takes no more content", upload_offset=before.offset
            )
        try:
            done = await self._append(
                profile,
                p.id,
                offset,
                body,
                length=length,
                content_length=p.content_length,
                verify=_content_verification(p.content_digest),
                completes=complete,
            )
        except errors.InconsistentLength:
            if before.is_complete:
                raise errors.CompletedUpload(
                    "the upload is complete and takes no more content",
                    upload_offset=before.offset,
                ) from None
            raise
        result = await self._ended(
            done, self._base(p), profile, wanted=fields.wanted(p.want_repr_digest)
        )
        if not done.is_complete:
            result.pop("location")
            result["status"] = 201 if profile.append_created else 204
        return AppendResult(**result)

    async def delete(self, payload: DeletePayload) -> DeleteResult:
        profile = select(payload.upload_draft_interop_version) or CURRENT
        if profile.strict_fields:
            _refuse_upload_fields(payload.upload_offset, payload.upload_complete, None)
        await self._engine_call(profile, self.engine.terminate(payload.id))
        return DeleteResult()

    # -- download -------------------------------------------------------------------------

    async def get(self, payload: GetPayload) -> GetResult:
        info = await self._engine_call(CURRENT, self.engine.load(payload.id, AccessMode.READ))
        conditions = download.Conditions.of(payload)
        try:
            d = serve.plan(self.engine, info, conditions)
        except engine_errors.EngineError as exc:
            raise ietf_error(exc) from exc
        if d.status == 412:
            raise errors.PreconditionFailed("a precondition of the request did not hold")
        if d.status == 416:
            raise errors.RangeNotSatisfiable(
                f"range outside 0-{d.size}", content_range=d.content_range or ""
            )
        if d.status == 304:
            return GetResult(status=304, etag=d.etag, last_modified=d.last_modified)
        return GetResult(
            status=206 if d.status == 206 else 200,
            content_type=d.content_type,
            content_disposition=d.content_disposition,
            content_length=d.end - d.start,
            etag=d.etag,
            last_modified=d.last_modified,
            accept_ranges="bytes",
            cache_control="no-cache" if info.is_complete else "no-store",
            x_content_type_options="nosniff",
            content_range=d.content_range,
            body=d.body,
            **self._state(info, CURRENT),
        )

    # -- shared steps ---------------------------------------------------------------------

    def _base(self, p: Creation | AppendPayload) -> str:
        origin = RequestOrigin(
            p.host, p.forwarded, p.x_forwarded_host, p.x_forwarded_proto, p.x_forwarded_prefix
        )
        return external_base(origin, self.config.base_path, behind_proxy=self.config.behind_proxy)

    def _length(
        self, offset: int, complete: bool, content_length: int | None, upload_length: str | None
    ) -> int | None:
        """The representation's length as the request tells it (the draft's two
        indicators must agree), or None; an ill-typed `Upload-Length` is ignored."""
        declared = fields.non_negative_integer(upload_length)
        implied = offset + content_length if complete and content_length is not None else None
        if declared is not None and implied is not None and declared != implied:
            raise errors.InconsistentLength(
                f"Upload-Length {declared} disagrees with the {implied} bytes that "
                "Content-Length and Upload-Complete: ?1 imply"
            )
        return declared if declared is not None else implied

    def _state(self, info: UploadInfo, profile: Profile) -> dict[str, Any]:
        return {
            "upload_complete": fields.sf_boolean(info.is_complete),
            "upload_offset": info.offset,
            "upload_length": info.length,
            "upload_limit": None if info.is_complete else upload_limit(self.engine, profile, info),
        }

    async def _append(
        self,
        profile: Profile | None,
        upload_id: str,
        offset: int,
        body: BodyStream,
        *,
        length: int | None = None,
        content_length: int | None = None,
        verify: Verification | None = None,
        completes: bool = False,
        announce: Callable[[UploadInfo], Awaitable[None]] | None = None,
    ) -> UploadInfo:
        progress = None
        if profile is not None and self.config.progress_interval > 0:
            version = str(profile.version)

            async def recorded(at: UploadInfo) -> None:
                await body.inform(
                    104,
                    [("Upload-Offset", str(at.offset)), ("Upload-Draft-Interop-Version", version)],
                )

            progress = Progress(self.config.progress_interval, recorded)
        try:
            return await self.engine.append(
                upload_id,
                offset,
                body,
                length=length,
                content_length=content_length,
                verify=verify,
                completes=completes,
                announce=announce,
                progress=progress,
            )
        except engine_errors.OffsetMismatch as exc:
            raise errors.MismatchingOffset(
                exc.message,
                upload_offset=exc.offset,
                expected_offset=exc.offset,
                provided_offset=offset,
            ) from exc
        except engine_errors.TooLarge as exc:
            raise await self._too_large(exc, upload_id, profile or CURRENT) from exc
        except engine_errors.EngineError as exc:
            raise ietf_error(exc) from exc

    async def _too_large(
        self, exc: engine_errors.TooLarge, upload_id: str, profile: Profile
    ) -> Exception:
        """Past the server's size limit: 413 with the limits. Past the upload's own length:
        inconsistent lengths; when content really went past it, the upload is invalid
        and removed (the draft: reject "marking the upload resource invalid")."""
        try:
            info = await self.engine.load(upload_id)
        except engine_errors.EngineError:
            return errors.TooLarge(exc.message, upload_limit=upload_limit(self.engine, profile))
        if info.length is None:
            return errors.TooLarge(
                exc.message, upload_limit=upload_limit(self.engine, profile, info)
            )
        if info.is_complete:
            await self._remove(info.id)
            return errors.InconsistentLength(
                f"the content went past the upload's length {info.length}; the upload was removed"
            )
        return errors.InconsistentLength(exc.message, upload_offset=info.offset)

    async def _remove(self, upload_id: str) -> None:
        try:
            await self.engine.terminate(upload_id)
        except engine_errors.EngineError:
            log.warning("could not remove failed upload %s", upload_id, exc_info=True)

    async def _ended(
        self, info: UploadInfo, base: str, profile: Profile, *, wanted: list[str] | None
    ) -> dict[str, Any]:
        """The final answer of a creation or an append; for a complete upload, after
        checking the `Repr-Digest` given at creation and computing the wanted ones."""
        location = base + info.id
        result: dict[str, Any] = {"status": 201, "location": location, **self._state(info, profile)}
        if not info.is_complete:
            return result
        meta = info.metadata_dict()
        expected = expected_digests(meta)
        wants = wanted or wanted_digests(meta)
        if expected or wants:
            try:
                computed = await digest_upload(self.engine, info, sorted({*expected, *wants}))
            except engine_errors.EngineError:
                log.warning("cannot read upload %s back to digest it", info.id, exc_info=True)
                computed = {}
            if computed and any(computed[a] != d for a, d in expected.items()):
                await self._remove(info.id)
                raise errors.ReprDigestMismatch(
                    "the upload does not match the Repr-Digest given at creation; it was removed",
                    upload_offset=info.offset,
                    repr_digest=fields.digest_field({a: computed[a] for a in expected}),
                )
            if computed and wants:
                result["repr_digest"] = fields.digest_field({a: computed[a] for a in wants})
        result["content_location"] = location
        return result

    async def _engine_call(self, profile: Profile | None, call: Awaitable[_T]) -> _T:
        try:
            return await call
        except engine_errors.TooLarge as exc:
            raise errors.TooLarge(
                exc.message, upload_limit=upload_limit(self.engine, profile or CURRENT)
            ) from exc
        except engine_errors.EngineError as exc:
            raise ietf_error(exc) from exc


def _content_verification(raw: str | None) -> Verification | None:
    """`Content-Digest`: verify with the strongest algorithm given that we compute."""
    given = fields.digests(raw)
    for name in ("sha512", "sha256"):
        if name in given:
            return Verification.known(Expected(name, given[name]))
    return None


def _refuse_upload_fields(offset: str | None, complete: str | None, length: str | None) -> None:
    """Interop 6: offset retrieval and cancellation carry none of the upload's fields."""
    for name, raw in (
        ("Upload-Offset", offset),
        ("Upload-Complete", complete),
        ("Upload-Length", length),
    ):
        if raw is not None:
            raise errors.BadRequest(f"this request must not carry {name} (interop version 6)")
